// analysis::central_difference_gradient and check_gradient on functions with known gradients.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "cldyn/analysis/finite_difference.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

struct Quadratic {
  Eigen::MatrixXd q;  // symmetric, acts on vec(θ)
  Eigen::VectorXd c;
  double operator()(const Eigen::MatrixXd& theta) const {
    const Eigen::Map<const Eigen::VectorXd> v(theta.data(), theta.size());
    return 0.5 * v.dot(q * v) + c.dot(v);
  }
  Eigen::MatrixXd gradient(const Eigen::MatrixXd& theta) const {
    const Eigen::Map<const Eigen::VectorXd> v(theta.data(), theta.size());
    const Eigen::VectorXd g = q * v + c;
    return Eigen::Map<const Eigen::MatrixXd>(g.data(), theta.rows(), theta.cols());
  }
};

Quadratic random_quadratic(Eigen::Index size, std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::MatrixXd m = rng.normal_matrix(size, size);
  return {m + m.transpose(), rng.normal_matrix(size, 1)};
}

TEST(FiniteDifference, ExactOnAQuadraticUpToRounding) {
  const Quadratic f = random_quadratic(6, 1);
  Rng rng(2);
  const Eigen::MatrixXd theta = 3.0 * rng.normal_matrix(3, 2);
  const Eigen::MatrixXd numerical = analysis::central_difference_gradient(f, theta);
  ASSERT_EQ(numerical.rows(), 3);
  ASSERT_EQ(numerical.cols(), 2);
  // Central differences have no truncation error on a quadratic: only rounding,
  // O(1e-16·|f|/h) with h ≈ 6e-6·3 — about 1e-10 relative.
  EXPECT_LE(test::relative_error(numerical, f.gradient(theta)), 1e-8);

  const analysis::GradientCheckResult ok = analysis::check_gradient(f, theta, f.gradient(theta));
  EXPECT_LE(ok.relative_error, 1e-8);  // as above
  EXPECT_LE(ok.max_abs_error, 1e-8 * f.gradient(theta).norm());  // max entry ≤ Frobenius norm
  EXPECT_EQ(ok.analytic, f.gradient(theta));
  EXPECT_EQ(ok.numerical, numerical);  // deterministic: the same evaluations
}

TEST(FiniteDifference, ReportsAWrongGradient) {
  const Quadratic f = random_quadratic(4, 3);
  const Eigen::MatrixXd theta = Eigen::MatrixXd::Constant(4, 1, 0.5);
  const Eigen::MatrixXd g = f.gradient(theta);
  Eigen::MatrixXd wrong = g;
  wrong(2) += 1.0;
  const analysis::GradientCheckResult r = analysis::check_gradient(f, theta, wrong);
  // The numerical gradient is right to ~1e-10, so the error is the injected 1 to that precision.
  EXPECT_NEAR(r.max_abs_error, 1.0, 1e-8);
  EXPECT_NEAR(r.relative_error, 1.0 / wrong.norm(), 1e-8);
}

TEST(FiniteDifference, SecondOrderAccurateOnASmoothFunction) {
  // f = Σ exp(θ_i): truncation error h²/6·e^θ with h = 6e-6·max(|θ|, 1) is ≈ 1e-11 relative;
  // rounding O(1e-16/h) ≈ 2e-11. Bound 1e-9 gives margin; a first-order (one-sided) rule
  // would be off by h/2 ≈ 3e-6.
  const Eigen::MatrixXd theta = (Eigen::MatrixXd(2, 2) << -1.0, 0.3, 1.2, 2.0).finished();
  const auto f = [](const Eigen::MatrixXd& t) { return t.array().exp().sum(); };
  const analysis::GradientCheckResult r =
      analysis::check_gradient(f, theta, theta.array().exp().matrix());
  EXPECT_LE(r.relative_error, 1e-9);
}

TEST(FiniteDifference, BadInputThrowsNamingTheParameter) {
  const auto f = [](const Eigen::MatrixXd& t) { return t.sum(); };
  const Eigen::MatrixXd theta = Eigen::MatrixXd::Ones(2, 2);
  analysis::FiniteDifferenceOptions bad_step;
  bad_step.relative_step = 0.0;
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::central_difference_gradient(f, theta, bad_step); }),
              HasSubstr("relative_step = 0"));
  analysis::FiniteDifferenceOptions bad_scale;
  bad_scale.typical_scale = -1.0;
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::central_difference_gradient(f, theta, bad_scale); }),
              HasSubstr("typical_scale = -1"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::check_gradient(f, theta, Eigen::MatrixXd::Ones(4, 1)); }),
              HasSubstr("analytic gradient has shape 4x1"));
  Eigen::MatrixXd inf_theta = theta;
  inf_theta(1, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::central_difference_gradient(f, inf_theta); }),
              HasSubstr("theta(1,0)"));
}

}  // namespace
}  // namespace cldyn
