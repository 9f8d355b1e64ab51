// Global modulation (theory §5, Claim 7 (a)): secular root vs dense eigenvalues, the
// decomposition V[f_1] = diag(d) + p0 p1 b bᵀ, Ã_k w_k vs the generic Identity-C field,
// degenerate cases as statuses, argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>

#include "cldyn/analysis/global_modulation.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

using test::random_filters;

TEST(GlobalModulation, SecularRootIsTheTopEigenvalue) {
  Rng rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    const Eigen::VectorXd d = rng.normal_matrix(5, 1).col(0).cwiseAbs();
    const Eigen::VectorXd b = rng.normal_matrix(5, 1).col(0);
    const double c = 0.25 * rng.uniform();
    const analysis::SecularRoot r = analysis::solve_secular(d, b, c);
    ASSERT_EQ(r.status, Status::success) << r.message;
    const Eigen::MatrixXd a = Eigen::MatrixXd(d.asDiagonal()) + c * b * b.transpose();
    const double top = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a).eigenvalues().maxCoeff();
    // toms748 to ~50 bits vs a dense O(ε‖A‖) eigenvalue.
    EXPECT_NEAR(r.lambda, top, 1e-12 * a.norm()) << trial;
    EXPECT_GT(r.lambda, d.maxCoeff());
    EXPECT_LE(r.residual, 1e-10);  // |F(λ)| near a simple root of slope O(1/‖b‖²): rounding
  }
}

TEST(GlobalModulation, DegenerateCasesAreStatusesNotNaN) {
  const Eigen::Vector3d d(1.0, 2.0, 0.5), b(0.3, 0.4, 0.1);
  const analysis::SecularRoot c0 = analysis::solve_secular(d, b, 0.0);
  EXPECT_EQ(c0.status, Status::not_converged);
  EXPECT_THAT(c0.message, HasSubstr("p0 p1 = 0"));
  EXPECT_FALSE(std::isnan(c0.lambda));
  EXPECT_THAT(analysis::solve_secular(d, Eigen::Vector3d::Zero(), 0.2).message, HasSubstr("b = 0"));
  EXPECT_THAT(analysis::solve_secular(d, Eigen::Vector3d(0.3, 0.0, 0.1), 0.2).message, HasSubstr("b_j = 0"));

  for (const double p1 : {0.0, 1.0}) {
    data::ClassModelOptions o;
    o.field_sizes = {3, 3};
    o.p1 = p1;
    const data::ClassModel m(o, 2);
    const analysis::GlobalModulation g = analysis::global_modulation(m, random_filters(m, 3), Activation::relu());
    EXPECT_EQ(g.status, Status::not_converged) << p1;
    EXPECT_THAT(g.message, HasSubstr("p0 p1 = 0"));
    EXPECT_TRUE(g.d.allFinite());
    EXPECT_TRUE(g.b.allFinite());
    EXPECT_TRUE(g.modulated.empty());
  }
}

TEST(GlobalModulation, DecompositionAndModulatedCovarianceMatchTheGenericField) {
  data::ClassModelOptions o;
  o.field_sizes = {4, 5, 3};
  o.p1 = 0.4;
  const data::ClassModel m(o, 5);
  for (const Activation act : {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.2)}) {
    const std::vector<Eigen::VectorXd> w = random_filters(m, 6);
    const analysis::GlobalModulation g = analysis::global_modulation(m, w, act);
    ASSERT_EQ(g.status, Status::success) << g.message;
    // V[f_1] from the support directly vs diag(d) + p0 p1 b bᵀ: sums of 2·4^3 O(1) terms.
    const Eigen::MatrixXd v = analysis::hidden_covariance(m, w, act);
    const Eigen::MatrixXd decomposed = Eigen::MatrixXd(g.d.asDiagonal()) + g.p0 * g.p1 * g.b * g.b.transpose();
    EXPECT_LE(test::relative_error(v, decomposed), 1e-12) << act.name();
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(v);
    EXPECT_NEAR(g.lambda, eig.eigenvalues()(2), 1e-12 * v.norm()) << act.name();
    EXPECT_GE(test::abs_cos(g.s, eig.eigenvectors().col(2)), 1.0 - 1e-12);  // simple top eigenvalue
    EXPECT_NEAR(g.s.norm(), 1.0, 1e-14);
    // Claim 7 (a): Ã_k w_k = generic field at VᵀV = s sᵀ, ≤ 1e-10 relative (theory §7).
    const std::vector<Eigen::VectorXd> field = analysis::generic_field(m, w, g.s, act);
    for (Eigen::Index k = 0; k < 3; ++k) {
      const auto ks = static_cast<std::size_t>(k);
      EXPECT_LE(test::relative_error(g.modulated[ks] * w[ks], field[ks]), 1e-10) << act.name() << " k=" << k;
    }
  }
}

TEST(GlobalModulation, LinearBetweenClassDirectionIsTheDiscriminativePattern) {
  // Linear h: μ̃_k = x0_k, so Δ_k = (q_1 − q_0)·u_k exactly, and L_k has u_k, v_k as eigenvectors.
  data::ClassModelOptions o;
  o.field_sizes = {4, 4};
  const data::ClassModel m(o, 8);
  const analysis::GlobalModulation g = analysis::global_modulation(m, random_filters(m, 9), Activation::linear());
  ASSERT_EQ(g.status, Status::success);
  for (Eigen::Index k = 0; k < 2; ++k)
    EXPECT_LE((g.between[static_cast<std::size_t>(k)] - (o.q1 - o.q0) * m.discriminative(k)).norm(), 1e-14);  // rounding
}

TEST(GlobalModulation, RejectsBadArguments) {
  using test::invalid_argument_message;
  data::ClassModelOptions o;
  o.field_sizes = {3, 3};
  const data::ClassModel m(o, 1);
  std::vector<Eigen::VectorXd> w = random_filters(m, 2);
  EXPECT_THAT(invalid_argument_message([&] { analysis::global_modulation(m, {w[0]}, Activation::relu()); }),
              HasSubstr("number of filters = 1 violates == K = 2"));
  w[1] = Eigen::VectorXd::Zero(3);
  EXPECT_THAT(invalid_argument_message([&] { analysis::hidden_covariance(m, w, Activation::relu()); }),
              HasSubstr("norm of w_1 = 0 violates > 0"));
  w[1] = Eigen::VectorXd::Ones(4);
  EXPECT_THAT(invalid_argument_message([&] { analysis::global_modulation(m, w, Activation::relu()); }),
              HasSubstr("length of w_1 = 4 violates == d_k = 3"));
  EXPECT_THAT(invalid_argument_message([] { analysis::solve_secular(Eigen::Vector2d(1, 2), Eigen::Vector3d(1, 2, 3), 0.1); }),
              HasSubstr("length of b = 3"));
  EXPECT_THAT(invalid_argument_message([] { analysis::solve_secular(Eigen::Vector2d(1, 2), Eigen::Vector2d(1, 2), 0.3); }),
              HasSubstr("c (= p0 p1) = 0.3 violates 0 <= c <= 1/4"));
  w = random_filters(m, 3);
  EXPECT_THAT(invalid_argument_message([&] { analysis::generic_field(m, w, Eigen::Vector3d::Ones(), Activation::relu()); }),
              HasSubstr("length of s = 3"));
}

}  // namespace
}  // namespace cldyn

namespace cldyn {
namespace {

TEST(GlobalModulation, SampleEstimatesApproachThePopulationQuantities) {
  data::ClassModelOptions o;
  o.field_sizes = {4, 5};
  o.p1 = 0.4;
  const data::ClassModel m(o, 21);
  Rng rng(22);
  const data::ClassSample sample = m.sample_with_classes(100000, rng);
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    std::vector<Eigen::VectorXd> w;
    for (Eigen::Index k = 0; k < 2; ++k) w.push_back(rng.normal_matrix(m.field_size(k), 1).col(0));
    const analysis::GlobalModulation pop = analysis::global_modulation(m, w, act);
    const analysis::GlobalModulation est = analysis::estimate_global_modulation(m, sample, w, act);
    ASSERT_EQ(est.status, Status::success) << est.message;
    // Sample means over N = 1e5 samples have standard errors of order 1/√N ≈ 3e-3 of their
    // scale; 0.05 relative is > 10 of them.
    EXPECT_NEAR(est.p1, o.p1, 0.01) << act.name();  // binomial SE ≈ 1.5e-3
    for (std::size_t k = 0; k < 2; ++k) {
      EXPECT_LE(test::relative_error(est.between[k], pop.between[k]), 0.05) << act.name() << " k=" << k;
      // L_k can be tiny when w_k keeps most gates closed, so its error is bounded by the sampling
      // noise of a cross-covariance of gated inputs, ≈ σ²·d_k/√N_z per RF (5 such units),
      // plus 5% of its size. Using the same-view covariance instead would add ≈ σ²·P(gate)·I,
      // far above this bound.
      const double n_z = 100000.0 * std::min(o.p1, 1.0 - o.p1);
      const double noise = 5.0 * o.sigma * o.sigma * static_cast<double>(m.field_size(static_cast<Eigen::Index>(k))) /
                           std::sqrt(n_z);
      EXPECT_LE((est.within[k] - pop.within[k]).norm(), 0.05 * pop.within[k].norm() + noise)
          << act.name() << " k=" << k;
    }
    EXPECT_NEAR(est.lambda, pop.lambda, 0.05 * pop.lambda) << act.name();
  }
  data::ClassSample one_class = sample;
  one_class.z.setZero();
  EXPECT_THAT(test::invalid_argument_message([&] {
                analysis::estimate_global_modulation(m, one_class, {Eigen::VectorXd::Ones(4), Eigen::VectorXd::Ones(5)},
                                                     Activation::relu());
              }),
              ::testing::HasSubstr("samples of class 1"));
}

}  // namespace
}  // namespace cldyn
