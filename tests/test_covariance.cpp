// Contrastive covariance (theory §1): symmetry, fast vs naive for a general α, the
// matrix-free operator, the energy, and the population limit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/reference.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

// Fast (two GEMM-shaped products) vs naive (double loop) forms of the same exact sum: they
// round differently, agreement to a few hundred ulps of the result's scale (theory §7: 1e-12).
constexpr double kExact = 1e-12;

struct Quantities {
  Eigen::MatrixXd a, a_prime, b, b_prime;
};

Quantities random_quantities(Eigen::Index n, Eigen::Index da, Eigen::Index db, std::uint64_t seed) {
  Rng rng(seed);
  Quantities q;
  q.a = rng.normal_matrix(n, da);
  q.a_prime = q.a + 0.4 * rng.normal_matrix(n, da);
  q.b = rng.normal_matrix(n, db);
  q.b_prime = q.b + 0.4 * rng.normal_matrix(n, db);
  return q;
}

TEST(ContrastiveCovariance, SymmetricAndTransposeIdentity) {
  constexpr Eigen::Index n = 13;
  const Quantities q = random_quantities(n, 4, 6, 1);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(n, 0.5), test::random_alpha(n, 2)}) {
    const Eigen::MatrixXd c = contrastive_covariance(alpha, q.a, q.a_prime);
    ASSERT_EQ(c.rows(), 4);
    ASSERT_EQ(c.cols(), 4);
    EXPECT_EQ(c, c.transpose());  // the symmetric form is symmetrised exactly
    const Eigen::MatrixXd ab = contrastive_covariance(alpha, q.a, q.a_prime, q.b, q.b_prime);
    const Eigen::MatrixXd ba = contrastive_covariance(alpha, q.b, q.b_prime, q.a, q.a_prime);
    ASSERT_EQ(ab.rows(), 4);
    ASSERT_EQ(ab.cols(), 6);
    // C_α[a,b] = C_α[b,a]ᵀ; the two calls apply L_α to different sides (different rounding).
    EXPECT_LE(test::relative_error(ab, ba.transpose()), kExact);
    // The general form with b = a equals the symmetric form.
    EXPECT_LE(test::relative_error(contrastive_covariance(alpha, q.a, q.a_prime, q.a, q.a_prime), c),
              kExact);
  }
}

TEST(ContrastiveCovariance, FastMatchesNaiveForGeneralNonSymmetricAlpha) {
  constexpr Eigen::Index n = 11;
  const Quantities q = random_quantities(n, 3, 5, 3);
  const PairwiseImportance alpha = test::random_alpha(n, 4);
  for (const auto& [da, dap, db, dbp] :
       {std::tuple{&q.a, &q.a_prime, &q.b, &q.b_prime}, std::tuple{&q.b, &q.b_prime, &q.a, &q.a_prime},
        std::tuple{&q.a, &q.a_prime, &q.a, &q.a_prime}}) {
    const Eigen::MatrixXd fast = contrastive_covariance(alpha, *da, *dap, *db, *dbp);
    const Eigen::MatrixXd naive = reference::naive_contrastive_covariance(alpha, *da, *dap, *db, *dbp);
    EXPECT_LE(test::relative_error(fast, naive), kExact);
  }
  EXPECT_LE(test::relative_error(contrastive_covariance(alpha, q.b, q.b_prime),
                                 reference::naive_contrastive_covariance(alpha, q.b, q.b_prime,
                                                                         q.b, q.b_prime)),
            kExact);
}

TEST(ContrastiveCovariance, InvariantToACommonShiftOfAllSamples) {
  // Every term is a difference of two samples, so adding the same vector s to every a[i] and
  // a'[i] leaves C_α unchanged; with s = 0 and all samples equal, C_α = 0.
  constexpr Eigen::Index n = 9;
  const Quantities q = random_quantities(n, 3, 2, 5);
  const Eigen::RowVectorXd shift = (Eigen::RowVectorXd(3) << 3.0, -2.0, 1.5).finished();
  const Eigen::MatrixXd a = q.a.rowwise() + shift, a_prime = q.a_prime.rowwise() + shift;
  for (const PairwiseImportance& alpha : {PairwiseImportance::uniform(n), test::random_alpha(n, 5)}) {
    // The fast form cancels O(|s|²) terms: rounding grows by about (|s|/|a|)² ≈ 10 over kExact.
    EXPECT_LE(test::relative_error(contrastive_covariance(alpha, a, a_prime),
                                   contrastive_covariance(alpha, q.a, q.a_prime)),
              10.0 * kExact);
    const Eigen::MatrixXd same = Eigen::MatrixXd::Constant(n, 3, 2.5);
    // Exactly zero up to the rounding of L_α·1 = 0 in O(N·max α·|a|²) = O(100) sums.
    EXPECT_LE(contrastive_covariance(alpha, same, same).norm(), 1e-13);
  }
}

TEST(ContrastiveCovarianceOperator, ApplyMatchesDenseMatrix) {
  constexpr Eigen::Index n = 15, d = 7;
  const Quantities q = random_quantities(n, d, 1, 6);
  Rng rng(7);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(n), test::random_alpha(n, 8)}) {
    const Eigen::MatrixXd dense = contrastive_covariance(alpha, q.a, q.a_prime);
    const ContrastiveCovarianceOperator op(alpha, q.a, q.a_prime);
    EXPECT_EQ(op.rows(), d);
    EXPECT_EQ(op.cols(), d);
    for (int trial = 0; trial < 3; ++trial) {
      const Eigen::VectorXd v = rng.normal_matrix(d, 1);
      const Eigen::VectorXd y = op.apply(v);
      EXPECT_LE(test::relative_error(y, dense * v), kExact);
      Eigen::VectorXd y2(d);
      op.perform_op(v.data(), y2.data());
      EXPECT_EQ(y, y2);
    }
    EXPECT_THAT(test::invalid_argument_message([&] { (void)op.apply(Eigen::VectorXd::Ones(d + 1)); }),
                HasSubstr("size of v = 8"));
  }
}

TEST(ContrastiveEnergy, EqualsHalfTraceAndNaiveSum) {
  constexpr Eigen::Index n = 12;
  const Quantities q = random_quantities(n, 4, 1, 9);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(n, 2.0), test::random_alpha(n, 10)}) {
    const double e = contrastive_energy(alpha, q.a, q.a_prime);
    const double half_trace = 0.5 * contrastive_covariance(alpha, q.a, q.a_prime).trace();
    const double naive = reference::naive_energy(alpha, q.a, q.a_prime);
    EXPECT_NEAR(e, half_trace, kExact * std::abs(half_trace));
    EXPECT_NEAR(e, naive, kExact * std::abs(naive));
  }
}

TEST(ContrastiveCovariance, BadInputThrowsNamingTheParameter) {
  constexpr Eigen::Index n = 5;
  const Quantities q = random_quantities(n, 2, 3, 11);
  const PairwiseImportance alpha = PairwiseImportance::uniform(n);
  const Eigen::MatrixXd short_a = Eigen::MatrixXd::Zero(n - 1, 2);
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)contrastive_covariance(alpha, short_a, short_a); }),
              HasSubstr("rows of A = 4"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)contrastive_covariance(alpha, q.a, q.a_prime, q.b, q.a_prime); }),
              HasSubstr("B'"));
  Eigen::MatrixXd bad = q.b;
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)contrastive_covariance(alpha, q.a, q.a_prime, bad, q.b_prime); }),
              HasSubstr("B(1,2)"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { ContrastiveCovarianceOperator op(alpha, q.a, q.b); }),
              HasSubstr("X'"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)contrastive_energy(alpha, short_a, short_a); }),
              HasSubstr("rows of F = 4"));
}

TEST(ContrastiveCovariance, PopulationLimitForUniformAlpha) {
  // x0 ~ N(0, Σ0), Σ0 = diag(1, 1/4, 1/9); views x0 + σξ. E[C_α[x]] = (N−1)/N·Σ0 (theory §1):
  // the within-augmentation variance σ²I cancels.
  constexpr Eigen::Index n = 20000, d = 3;
  constexpr double sigma = 0.5;
  const TwoViewBatch b = test::gaussian_batch(n, d, sigma, 12);
  const Eigen::MatrixXd c = contrastive_covariance(PairwiseImportance::uniform(n), b.x, b.x_prime);
  Eigen::MatrixXd sigma0 = Eigen::MatrixXd::Zero(d, d);
  for (Eigen::Index j = 0; j < d; ++j) sigma0(j, j) = 1.0 / ((1.0 + j) * (1.0 + j));
  const double nn = static_cast<double>(n);
  const Eigen::MatrixXd expected = (nn - 1.0) / nn * sigma0;
  const Eigen::MatrixXd sigma_x = sigma0 + sigma * sigma * Eigen::MatrixXd::Identity(d, d);
  for (Eigen::Index j = 0; j < d; ++j) {
    for (Eigen::Index k = 0; k < d; ++k) {
      // For uniform α, C = S_x − (N−1)/N·ΔᵀΔ/(2N): sample covariance of the first views minus
      // an estimate of σ²I. Standard error ≤ SE(S_x,jk) + SE((ΔᵀΔ/2N)_jk)
      //   = sqrt((Σx_jj Σx_kk + Σx_jk²)/N) + σ²·sqrt((1 + [j=k])/N).
      // Fixed seed; bound of 5 standard errors.
      const double se = std::sqrt((sigma_x(j, j) * sigma_x(k, k) + sigma_x(j, k) * sigma_x(j, k)) / nn) +
                        sigma * sigma * std::sqrt((1.0 + (j == k ? 1.0 : 0.0)) / nn);
      EXPECT_NEAR(c(j, k), expected(j, k), 5.0 * se) << j << "," << k;
    }
  }
}

}  // namespace
}  // namespace cldyn
