// Losses (theory §2): values against the defining formulas, α of InfoNCE, output gradients
// against finite differences, numerical robustness and argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using test::Outputs;
using test::random_outputs;
using testing::HasSubstr;

// Closed forms vs literal double sums of O(1) terms: agreement to a few hundred ulps.
constexpr double kRounding = 1e-12;

/// L_nce and α by the literal formulas of theory §2, without any shift (moderate τ only).
double naive_infonce(const Eigen::MatrixXd& f, const Eigen::MatrixXd& fp, double tau, double eps,
                     Eigen::MatrixXd* alpha) {
  const Eigen::Index n = f.rows();
  double loss = 0.0;
  if (alpha != nullptr) *alpha = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d2_pos = 0.5 * (f.row(i) - fp.row(i)).squaredNorm();
    double z = eps * std::exp(-d2_pos / tau);
    for (Eigen::Index k = 0; k < n; ++k)
      if (k != i) z += std::exp(-0.5 * (f.row(i) - f.row(k)).squaredNorm() / tau);
    loss += d2_pos + tau * std::log(z);
    if (alpha != nullptr)
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != i) (*alpha)(i, j) = std::exp(-0.5 * (f.row(i) - f.row(j)).squaredNorm() / tau) / z;
  }
  return loss;
}

TEST(Loss, PairwiseAndPositiveDistances) {
  const Outputs o = random_outputs(7, 3, 1.0, 1);
  const Eigen::MatrixXd d2 = pairwise_squared_distances(o.f);
  const Eigen::VectorXd d2_pos = positive_squared_distances(o.f, o.f_prime);
  for (Eigen::Index i = 0; i < 7; ++i) {
    EXPECT_EQ(d2(i, i), 0.0);
    EXPECT_NEAR(d2_pos(i), 0.5 * (o.f.row(i) - o.f_prime.row(i)).squaredNorm(), kRounding);
    for (Eigen::Index j = 0; j < 7; ++j) {
      EXPECT_GE(d2(i, j), 0.0);
      EXPECT_NEAR(d2(i, j), 0.5 * (o.f.row(i) - o.f.row(j)).squaredNorm(), kRounding);
    }
  }
}

TEST(Loss, QuadraticValueMatchesDefinitionAndEnergy) {
  const Outputs o = random_outputs(8, 3, 1.0, 2);
  const Loss q = Loss::quadratic();
  EXPECT_EQ(q.kind(), Loss::Kind::quadratic);
  EXPECT_EQ(q.name(), "quadratic");
  EXPECT_EQ(Loss::infonce(0.05, 1.0).name(), "infonce(tau=0.05,eps=1)");
  double naive = 0.0;
  for (Eigen::Index i = 0; i < 8; ++i)
    for (Eigen::Index j = 0; j < 8; ++j)
      if (i != j)
        naive += 0.5 * (o.f.row(i) - o.f_prime.row(i)).squaredNorm() -
                 0.5 * (o.f.row(i) - o.f.row(j)).squaredNorm();
  const double value = q.value(o.f, o.f_prime);
  EXPECT_NEAR(value, naive, kRounding * std::abs(naive));
  // L_q = −2N²·E_1 (theory §2, uniform α = 1).
  const PairwiseImportance alpha = q.pairwise_importance(o.f, o.f_prime);
  EXPECT_TRUE(alpha.is_uniform());
  EXPECT_EQ(alpha.uniform_value(), 1.0);
  EXPECT_NEAR(value, -2.0 * 64.0 * contrastive_energy(alpha, o.f, o.f_prime),
              kRounding * std::abs(naive));
  const LossEvaluation ev = q.evaluate(o.f, o.f_prime);
  EXPECT_EQ(ev.value, value);
  EXPECT_TRUE(ev.alpha.is_uniform());
}

TEST(Loss, InfoNceValueAndAlphaMatchDefinition) {
  const Outputs o = random_outputs(6, 4, 1.0, 3);
  for (double tau : {0.2, 1.0, 3.0}) {
    for (double eps : {0.0, 1.0, 2.5}) {
      const Loss l = Loss::infonce(tau, eps);
      EXPECT_EQ(l.kind(), Loss::Kind::infonce);
      EXPECT_EQ(l.tau(), tau);
      EXPECT_EQ(l.eps(), eps);
      Eigen::MatrixXd alpha_naive;
      const double naive = naive_infonce(o.f, o.f_prime, tau, eps, &alpha_naive);
      EXPECT_NEAR(l.value(o.f, o.f_prime), naive, kRounding * std::abs(naive)) << l.name();
      const PairwiseImportance alpha = l.pairwise_importance(o.f, o.f_prime);
      EXPECT_FALSE(alpha.is_uniform());
      EXPECT_LE(test::relative_error(alpha.matrix(), alpha_naive), kRounding) << l.name();
      const LossEvaluation ev = l.evaluate(o.f, o.f_prime);
      EXPECT_EQ(ev.value, l.value(o.f, o.f_prime));
      EXPECT_EQ(ev.alpha.matrix(), alpha.matrix());
    }
  }
}

TEST(Loss, InfoNceAlphaRowsSumToOneMinusPositiveShare) {
  const Outputs o = random_outputs(10, 3, 1.0, 4);
  for (double tau : {0.05, 0.5, 5.0}) {
    // ε = 0: the denominator holds only negatives, so every row of α sums to 1.
    const Eigen::VectorXd r0 = Loss::infonce(tau, 0.0).pairwise_importance(o.f, o.f_prime).row_sums();
    EXPECT_LE((r0 - Eigen::VectorXd::Ones(10)).cwiseAbs().maxCoeff(), 1e-14)  // a few ulps of 1
        << tau;
    // ε = 1: row i sums to 1 − p⁺_i with p⁺_i = e^{−d²_i/τ}/Z_i ∈ (0, 1).
    const Eigen::VectorXd r1 = Loss::infonce(tau, 1.0).pairwise_importance(o.f, o.f_prime).row_sums();
    Eigen::MatrixXd alpha_naive;
    if (tau >= 0.5) {  // the unshifted naive formula is only safe at moderate τ
      naive_infonce(o.f, o.f_prime, tau, 1.0, &alpha_naive);
      const Eigen::VectorXd d2_pos = positive_squared_distances(o.f, o.f_prime);
      for (Eigen::Index i = 0; i < 10; ++i) {
        // p⁺_i = 1 − r_i, and p⁺_i / α_ij = e^{(d²_ij − d²_i)/τ}.
        const double p_pos = 1.0 - r1(i);
        const Eigen::Index j = (i + 1) % 10;
        const double d2_ij = 0.5 * (o.f.row(i) - o.f.row(j)).squaredNorm();
        const double expected = std::exp((d2_ij - d2_pos(i)) / tau);
        // 1 − r_i cancels: its rounding (~1e-16) is amplified by 1/p⁺_i ≤ 1e3 here; 1e-10
        // relative leaves margin.
        EXPECT_NEAR(p_pos / alpha_naive(i, j), expected, 1e-10 * expected) << i;
      }
    }
    EXPECT_TRUE((r1.array() < 1.0).all()) << tau;
    EXPECT_TRUE((r1.array() > 0.0).all()) << tau;
  }
}

TEST(Loss, InfoNceIsStableForTinyTemperatureAndLargeDistances) {
  // Entries ~ 30 give squared distances ~ 1e3; with τ = 1e-3 the logits reach −1e6.
  const Outputs o = random_outputs(8, 3, 30.0, 5);
  const Loss l = Loss::infonce(1e-3, 1.0);
  const LossEvaluation ev = l.evaluate(o.f, o.f_prime);
  ASSERT_TRUE(std::isfinite(ev.value));
  const Eigen::MatrixXd alpha = ev.alpha.matrix();
  ASSERT_TRUE(alpha.allFinite());
  EXPECT_TRUE((ev.alpha.row_sums().array() <= 1.0 + 1e-15).all());  // 1 + rounding
  // τ·log Z_i lies in [−m_i, −m_i + τ·log N] with m_i the smallest of d²_i and d²_ik, k ≠ i;
  // so L is within τ·log N of Σ_i (d²_i − m_i).
  const Eigen::MatrixXd d2 = pairwise_squared_distances(o.f);
  const Eigen::VectorXd d2_pos = positive_squared_distances(o.f, o.f_prime);
  double hard = 0.0;
  for (Eigen::Index i = 0; i < 8; ++i) {
    double m = d2_pos(i);
    for (Eigen::Index k = 0; k < 8; ++k)
      if (k != i) m = std::min(m, d2(i, k));
    hard += d2_pos(i) - m;
  }
  ASSERT_GT(d2.maxCoeff(), 500.0);  // the regime the test is about
  // Slack 1e-9 absolute: rounding of O(1e3) distances.
  EXPECT_GE(ev.value, hard - 1e-9);
  EXPECT_LE(ev.value, hard + 8.0 * 1e-3 * std::log(8.0) + 1e-9);
  const auto [df, dfp] = l.output_gradient(o.f, o.f_prime);
  EXPECT_TRUE(df.allFinite());
  EXPECT_TRUE(dfp.allFinite());
  // ε = 0 as well (the positive logit is −∞, handled without NaN).
  EXPECT_TRUE(std::isfinite(Loss::infonce(1e-3, 0.0).value(o.f, o.f_prime)));
  EXPECT_TRUE(Loss::infonce(1e-3, 0.0).pairwise_importance(o.f, o.f_prime).matrix().allFinite());
}

/// Checks output_gradient against central differences of value() in the stacked
/// variable θ = [F F'] (N × 2p).
analysis::GradientCheckResult check_output_gradient(const Loss& loss, const Outputs& o) {
  const Eigen::Index p = o.f.cols();
  Eigen::MatrixXd theta(o.f.rows(), 2 * p);
  theta << o.f, o.f_prime;
  const auto [df, dfp] = loss.output_gradient(o.f, o.f_prime);
  Eigen::MatrixXd analytic(o.f.rows(), 2 * p);
  analytic << df, dfp;
  return analysis::check_gradient(
      [&](const Eigen::MatrixXd& t) { return loss.value(t.leftCols(p), t.rightCols(p)); }, theta,
      analytic);
}

// Central differences with h ≈ 6e-6: truncation O(h²·|L'''|) plus rounding O(1e-16·|L|/h) is
// about 1e-9 relative for these O(1) outputs and τ ≥ 0.1; 1e-6 leaves room, while a wrong or
// missing term of the gradient gives an O(1) relative error.
constexpr double kFdTolerance = 1e-6;

TEST(Loss, QuadraticOutputGradientMatchesFiniteDifferences) {
  const auto r = check_output_gradient(Loss::quadratic(), random_outputs(7, 3, 1.0, 6));
  EXPECT_LE(r.relative_error, kFdTolerance);
}

TEST(Loss, InfoNceOutputGradientMatchesFiniteDifferences) {
  const Outputs o = random_outputs(7, 3, 1.0, 7);
  for (double tau : {0.1, 0.5, 1.0, 4.0}) {
    for (double eps : {0.0, 1.0}) {
      const Loss l = Loss::infonce(tau, eps);
      const auto r = check_output_gradient(l, o);
      EXPECT_LE(r.relative_error, kFdTolerance) << l.name();
    }
  }
}

TEST(Loss, BadParametersThrowNamingThem) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message([] { Loss::infonce(0.0); }), HasSubstr("tau = 0"));
  EXPECT_THAT(test::invalid_argument_message([] { Loss::infonce(-1.0); }), HasSubstr("tau = -1"));
  EXPECT_THAT(test::invalid_argument_message([&] { Loss::infonce(nan); }), HasSubstr("tau"));
  EXPECT_THAT(test::invalid_argument_message(
                  [] { Loss::infonce(std::numeric_limits<double>::infinity()); }),
              HasSubstr("tau"));
  EXPECT_THAT(test::invalid_argument_message([] { Loss::infonce(1.0, -0.5); }),
              HasSubstr("eps = -0.5"));
  EXPECT_THAT(test::invalid_argument_message([&] { Loss::infonce(1.0, nan); }), HasSubstr("eps"));
}

TEST(Loss, BadOutputsThrowNamingThem) {
  const Outputs o = random_outputs(5, 2, 1.0, 8);
  for (const Loss l : {Loss::quadratic(), Loss::infonce(0.5)}) {
    const Eigen::MatrixXd wrong_rows = Eigen::MatrixXd::Zero(4, 2);
    const Eigen::MatrixXd wrong_cols = Eigen::MatrixXd::Zero(5, 3);
    for (const Eigen::MatrixXd* bad : {&wrong_rows, &wrong_cols}) {
      // Every entry point names F'.
      const std::function<void()> calls[] = {
          [&] { (void)l.value(o.f, *bad); }, [&] { (void)l.output_gradient(o.f, *bad); },
          [&] { (void)l.pairwise_importance(o.f, *bad); }, [&] { (void)l.evaluate(o.f, *bad); }};
      for (const auto& call : calls)
        EXPECT_THAT(test::invalid_argument_message(call), HasSubstr("F'")) << l.name() << " call " << (&call - calls);
    }
    const Eigen::MatrixXd one = Eigen::MatrixXd::Ones(1, 2);
    EXPECT_THAT(test::invalid_argument_message([&] { (void)l.value(one, one); }),
                HasSubstr("N (rows of F) = 1"))
        << l.name();
    Eigen::MatrixXd inf_f = o.f;
    inf_f(3, 1) = std::numeric_limits<double>::infinity();
    EXPECT_THAT(test::invalid_argument_message([&] { (void)l.value(inf_f, o.f_prime); }),
                HasSubstr("F(3,1) = inf"))
        << l.name();
    Eigen::MatrixXd nan_fp = o.f_prime;
    nan_fp(0, 0) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THAT(test::invalid_argument_message([&] { (void)l.output_gradient(o.f, nan_fp); }),
                HasSubstr("F'(0,0)"))
        << l.name();
    const Eigen::MatrixXd empty(5, 0);
    EXPECT_THAT(test::invalid_argument_message([&] { (void)l.value(empty, empty); }),
                HasSubstr("p (columns of F) = 0"))
        << l.name();
  }
}

}  // namespace
}  // namespace cldyn
