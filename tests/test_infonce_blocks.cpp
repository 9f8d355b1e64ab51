// The blocked InfoNCE softmax (lib/cldyn/core/detail/infonce_blocks.hpp) against the straightforward
// scalar algorithm it replaced, and the streamed C_α (cldyn/core/streaming.hpp) against the dense
// contrastive_covariance with the materialised α.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/detail/infonce_blocks.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/streaming.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using test::Outputs;
using test::random_outputs;
using testing::HasSubstr;

struct ScalarSoftmax {
  Eigen::MatrixXd p;
  Eigen::VectorXd p_pos, log_z;
};

/// The previous implementation, literally: the N × N distances of pairwise_squared_distances,
/// per row the maximum logit, then std::exp entry by entry and a division by Z_i.
ScalarSoftmax scalar_softmax(const Eigen::MatrixXd& f, const Eigen::MatrixXd& fp, double tau,
                             double eps) {
  const Eigen::Index n = f.rows();
  const Eigen::MatrixXd d2 = pairwise_squared_distances(f);
  const Eigen::VectorXd d2_pos = positive_squared_distances(f, fp);
  ScalarSoftmax out{Eigen::MatrixXd::Zero(n, n), Eigen::VectorXd(n), Eigen::VectorXd(n)};
  const double log_eps = eps > 0.0 ? std::log(eps) : -std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < n; ++i) {
    const double pos = log_eps - d2_pos(i) / tau;
    double m = pos;
    for (Eigen::Index k = 0; k < n; ++k)
      if (k != i) m = std::max(m, -d2(i, k) / tau);
    double z = eps > 0.0 ? std::exp(pos - m) : 0.0;
    const double pos_term = z;
    for (Eigen::Index k = 0; k < n; ++k) {
      out.p(i, k) = k == i ? 0.0 : std::exp(-d2(i, k) / tau - m);
      z += out.p(i, k);
    }
    out.p.row(i) /= z;
    out.p_pos(i) = pos_term / z;
    out.log_z(i) = m + std::log(z);
  }
  return out;
}

// N = 37: one block with an odd row count (with AVX2: two tiles of 16 rows and a padded 5-row
// tail); N = 1100: ten blocks of 112 rows and one of 92 (default_block_rows(1100) = 112). Scale 1
// with τ = 0.5: logits O(1); scale 30 with τ = 1e-3: squared distances ~1e3, logits down to
// ~ −1e6.
TEST(InfoNceBlocks, MatchesScalarReference) {
  for (const Eigen::Index n : {37, 1100}) {
    for (const auto& [scale, tau] : {std::pair{1.0, 0.5}, std::pair{30.0, 1e-3}}) {
      const Outputs o = random_outputs(n, 3, scale, 100 + n);
      for (const double eps : {0.0, 1.0}) {
        const ScalarSoftmax ref = scalar_softmax(o.f, o.f_prime, tau, eps);
        const InfoNceSoftmax sm = infonce_softmax(o.f, o.f_prime, tau, eps);
        const PairwiseImportance alpha = Loss::infonce(tau, eps).pairwise_importance(o.f, o.f_prime);
        ASSERT_EQ(alpha.matrix(), sm.p);
        // Both compute the same shifted logits x = l − m from the same distance expression; an
        // entry's error is that of x (a few ulps of |l| + |m| if the b×N×p product rounds
        // differently from the N×N×p one) times α, plus ~2 ulps of exp and division. With
        // |l| ≲ 1e6 at τ = 1e-3 that is ≲ 1e-9 relative; at τ = 0.5 (|l| ≲ 30) ≲ 1e-14.
        const Eigen::MatrixXd d2 = pairwise_squared_distances(o.f);
        const double logit_scale = 1.0 + d2.maxCoeff() / tau;
        const double tol = 8.0 * std::numeric_limits<double>::epsilon() * logit_scale;
        double worst = 0.0;
        for (Eigen::Index i = 0; i < n; ++i) {
          EXPECT_EQ(sm.p(i, i), 0.0);
          for (Eigen::Index j = 0; j < n; ++j)
            worst = std::max(worst, std::abs(sm.p(i, j) - ref.p(i, j)));
        }
        EXPECT_LE(worst, tol) << "n=" << n << " tau=" << tau << " eps=" << eps;
        EXPECT_TRUE((sm.p.array() >= 0.0).all() && sm.p.allFinite());
        EXPECT_LE((sm.p_pos - ref.p_pos).cwiseAbs().maxCoeff(), tol);
        EXPECT_LE((sm.log_z - ref.log_z).cwiseAbs().maxCoeff(),
                  tol * (1.0 + ref.log_z.cwiseAbs().maxCoeff()));
        // The sums handed to PairwiseImportance equal those of the matrix (summation order
        // differs: N roundings of terms ≤ 1).
        const double sum_tol = 4.0 * static_cast<double>(n) * std::numeric_limits<double>::epsilon();
        EXPECT_LE((alpha.row_sums() - sm.p.rowwise().sum()).cwiseAbs().maxCoeff(), sum_tol);
        EXPECT_LE((alpha.col_sums() - sm.p.colwise().sum().transpose()).cwiseAbs().maxCoeff(),
                  sum_tol);
        if (eps == 0.0) {
          EXPECT_EQ(sm.p_pos.squaredNorm(), 0.0);
        }
      }
    }
  }
}

// At τ = 0.5 with O(1) logits the blocked kernel agrees with the scalar reference to 1e-15
// relative to the largest entry (observed: a few 1e-17).
TEST(InfoNceBlocks, MatchesScalarReferenceTo1e15AtModerateTemperature) {
  const Outputs o = random_outputs(300, 8, 1.0, 7);
  const ScalarSoftmax ref = scalar_softmax(o.f, o.f_prime, 0.5, 1.0);
  const InfoNceSoftmax sm = infonce_softmax(o.f, o.f_prime, 0.5, 1.0);
  EXPECT_LE((sm.p - ref.p).cwiseAbs().maxCoeff() / ref.p.cwiseAbs().maxCoeff(), 1e-15);
}

// A row's bits do not depend on where it falls in a block (first row of a tile, inside one, in
// the zero-padded tail of a block) once the b×N×p product is exact: with entries that are
// multiples of 1/2 and |f| ≤ 1.5, p = 3, every Gram entry and squared norm is exact in any
// summation order, so α, p⁺, log Z and the row sums must agree bitwise for every block size.
TEST(InfoNceBlocks, RowBitsIndependentOfBlockPosition) {
  constexpr Eigen::Index n = 45, p = 3;
  Rng rng(21);
  Eigen::MatrixXd f(n, p), f_prime(n, p);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index k = 0; k < p; ++k) {
      f(i, k) = 0.5 * static_cast<double>(rng.uniform_index(7)) - 1.5;
      f_prime(i, k) = 0.5 * static_cast<double>(rng.uniform_index(7)) - 1.5;
    }
  const detail::InfoNceRowBlocks blocks(f, f_prime, 0.7, 1.0, "test");
  struct Rows {
    Eigen::MatrixXd alpha;
    Eigen::VectorXd p_pos, log_z, r;
  };
  auto by_blocks = [&](Eigen::Index b) {
    Rows out{Eigen::MatrixXd(n, n), Eigen::VectorXd(n), Eigen::VectorXd(n), Eigen::VectorXd(n)};
    Eigen::VectorXd c = Eigen::VectorXd::Zero(n);
    Eigen::MatrixXd work;
    for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
      const Eigen::Index rows = std::min(b, n - i0);
      blocks.compute(i0, rows, work, out.alpha.data() + i0, n, out.p_pos.data() + i0,
                     out.log_z.data() + i0, out.r.data() + i0, c.data());
    }
    return out;
  };
  const Rows whole = by_blocks(n);  // two tiles of 16 and a 13-row tail (AVX2)
  EXPECT_TRUE((whole.alpha.array() > 0.0).count() == n * (n - 1));
  for (const Eigen::Index b : {1, 3, 7, 16, 17, 20, 32}) {
    const Rows part = by_blocks(b);
    EXPECT_EQ(part.alpha, whole.alpha) << "block_rows=" << b;
    EXPECT_EQ(part.p_pos, whole.p_pos) << "block_rows=" << b;
    EXPECT_EQ(part.log_z, whole.log_z) << "block_rows=" << b;
    EXPECT_EQ(part.r, whole.r) << "block_rows=" << b;
  }
}

TEST(InfoNceBlocks, RejectsRowsWhoseLogitsAllOverflow) {
  // d²_ij ~ 1e300 and τ = 1e-10: every −d²/τ is −∞; with ε = 0 the row has no finite logit.
  const Outputs o = random_outputs(4, 2, 1e150, 9);
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)Loss::infonce(1e-10, 0.0).pairwise_importance(o.f, o.f_prime); }),
              HasSubstr("log-sum-exp shift of row"));
}

TEST(StreamedCovariance, EqualsDenseForEveryBlockSize) {
  constexpr Eigen::Index n = 301;
  const Outputs o = random_outputs(n, 4, 1.0, 11);
  Rng rng(12);
  const Eigen::MatrixXd x = rng.normal_matrix(n, 6);
  const Eigen::MatrixXd x_prime = x + 0.4 * rng.normal_matrix(n, 6);
  for (const auto& [tau, eps] : {std::pair{0.5, 1.0}, std::pair{0.05, 0.0}, std::pair{3.0, 2.5}}) {
    const Eigen::MatrixXd dense = contrastive_covariance(
        Loss::infonce(tau, eps).pairwise_importance(o.f, o.f_prime), x, x_prime);
    // 0 (default), 1, a block size that does not divide N, one that does (7·43 = 301), N, > N.
    for (const Eigen::Index b : {0, 1, 64, 43, 301, 1000}) {
      const Eigen::MatrixXd streamed =
          contrastive_covariance_infonce_streamed(o.f, o.f_prime, x, x_prime, tau, eps, b);
      EXPECT_LE(test::relative_error(streamed, dense), 1e-12)
          << "tau=" << tau << " eps=" << eps << " block_rows=" << b;
      EXPECT_EQ(streamed, streamed.transpose());
    }
  }
}

TEST(StreamedCovariance, BadArgumentsThrowNamingThem) {
  const Outputs o = random_outputs(5, 2, 1.0, 13);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(5, 3);
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(o.f, o.f_prime, x, x, 0.0, 1.0);
              }),
              HasSubstr("tau = 0"));
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(o.f, o.f_prime, x, x, 0.5, -1.0);
              }),
              HasSubstr("eps = -1"));
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(o.f, o.f_prime, x, x, 0.5, 1.0, -2);
              }),
              HasSubstr("block_rows = -2"));
  const Eigen::MatrixXd x4 = Eigen::MatrixXd::Ones(4, 3);
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(o.f, o.f_prime, x4, x4, 0.5, 1.0);
              }),
              HasSubstr("rows of X = 4"));
  const Eigen::MatrixXd x_wrong = Eigen::MatrixXd::Ones(5, 2);
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(o.f, o.f_prime, x, x_wrong, 0.5, 1.0);
              }),
              HasSubstr("X'"));
  Eigen::MatrixXd f_nan = o.f;
  f_nan(1, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message([&] {
                contrastive_covariance_infonce_streamed(f_nan, o.f_prime, x, x, 0.5, 1.0);
              }),
              HasSubstr("F(1,0)"));
}

}  // namespace
}  // namespace cldyn
