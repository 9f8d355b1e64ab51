// Fixed points, Newton critical points, stability and the one-node landscapes (theory §3–§4).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include "cldyn/analysis/analysis.hpp"
#include "support/landscapes.hpp"
#include "support/problems.hpp"

namespace cldyn::analysis {
namespace {

using ::testing::HasSubstr;

data::LatentModel mixture_model(data::LatentMode mode = data::LatentMode::mixture) {
  return test::reference_mixture(mode);
}

TEST(FixedPoints, LinearPopulationConvergesToTopEigenvectorOfBaseCovariance) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::linear());
  const FixedPointSearch search = enumerate_fixed_points(land, 8, 1);
  ASSERT_EQ(search.converged, 8);
  ASSERT_EQ(search.points.size(), 1u);  // linear: one direction up to sign
  const Eigen::VectorXd w0 = Eigen::VectorXd::Ones(model.dim());
  const EigenResult top = top_eigenpairs(land.gated_covariance(w0), 1);
  // Residual 1e-10 bounds the angle to the eigenvector by ~1e-10/eigengap; 1e-8 leaves margin.
  EXPECT_GE(std::abs(top.vectors.col(0).dot(search.points[0].w)), 1.0 - 1e-8);
  EXPECT_NEAR(search.points[0].lambda, top.values(0), 1e-9 * top.values(0));
  const StabilityResult st = analyze_stability(land, search.points[0].w);
  EXPECT_EQ(st.verdict, Verdict::stable);
  EXPECT_TRUE(st.is_top);
  EXPECT_DOUBLE_EQ(st.remainder_norm, 0.0);  // A is constant for linear h
}

TEST(FixedPoints, ReluMixtureHasAStablePointPerPatternAndSaddlesBetween) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::relu());
  const FixedPointSearch search = enumerate_fixed_points(land, 40, 2);
  EXPECT_EQ(search.converged, 40);
  ASSERT_EQ(search.points.size(), 5u);
  Eigen::Index basins = 0;
  for (const FixedPoint& fp : search.points) {
    basins += fp.basin_count;
    EXPECT_LE(fp.residual, 1e-10);
    const StabilityResult st = analyze_stability(land, fp.w);
    EXPECT_EQ(st.verdict, Verdict::stable);
    EXPECT_LE(st.fd_relative_error, 1e-6);  // theory §4 contract
    EXPECT_LT(st.tangent_eigenvalues(0), 0.0);
    EXPECT_GE((model.patterns().transpose() * fp.w).maxCoeff(), 0.95);
  }
  EXPECT_EQ(basins, 40);
  const FixedPoint saddle = newton_fixed_point(land, search.points[0].w + search.points[1].w);
  ASSERT_EQ(saddle.status, Status::success);
  const StabilityResult st = analyze_stability(land, saddle.w);
  EXPECT_EQ(st.verdict, Verdict::saddle);
  EXPECT_GT(st.tangent_eigenvalues(0), 0.0);
  EXPECT_NEAR(st.tangent_top_vector.dot(saddle.w), 0.0, 1e-12);
}

TEST(FixedPoints, EnumerationIsIdenticalAtOneAndTwoThreads) {
  const PopulationLandscape land(DiscretePopulation::from_model(mixture_model()), Activation::relu());
  const auto [one, two] = test::at_one_and_two_threads([&] { return enumerate_fixed_points(land, 16, 9); });
  ASSERT_EQ(one.points.size(), two.points.size());
  EXPECT_EQ(one.assignment, two.assignment);
  for (std::size_t i = 0; i < one.points.size(); ++i) EXPECT_EQ(one.points[i].w, two.points[i].w);
}

TEST(Stability, TangentBasisIsOrthonormalAndOrthogonalToW) {
  Rng rng(4);
  const Eigen::VectorXd w = rng.normal_matrix(7, 1).col(0);
  const Eigen::MatrixXd b = tangent_basis(w);
  ASSERT_EQ(b.cols(), 6);
  // Householder QR: orthonormal to rounding.
  EXPECT_LE((b.transpose() * b - Eigen::MatrixXd::Identity(6, 6)).norm(), 1e-14);
  EXPECT_LE((b.transpose() * w).norm(), 1e-14 * w.norm());
}

TEST(Landscape, SampleInfoNceHessianMatchesFiniteDifferencesOfItsGradient) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 12);
  const SampleLandscape land(b, Activation::relu(), Loss::infonce(0.5));
  Rng rng(13);
  const Eigen::VectorXd w = rng.normal_matrix(4, 1).col(0).normalized();
  // A step of 1e-6 moves pre-activations by < 1e-5 here; require a larger margin so no gate
  // flips and the gradient is smooth over the stencil.
  ASSERT_GT(land.gate_margin(w), 1e-4);
  const Eigen::MatrixXd h = land.hessian(w);
  Eigen::MatrixXd numeric(4, 4);
  const double step = 1e-6;
  for (Eigen::Index i = 0; i < 4; ++i) {
    Eigen::VectorXd up = w, down = w;
    up(i) += step;
    down(i) -= step;
    numeric.col(i) = (land.gradient(up) - land.gradient(down)) / (2.0 * step);
  }
  // Central differences: O(h²) truncation and O(ε/h) rounding, both ≪ 1e-6 relative.
  EXPECT_LE(test::relative_error(numeric, h), 1e-6);
  // The objective's gradient is −∇L/(2N²) (Identity A).
  const OneLayerNetwork net(w, Activation::relu());
  EXPECT_LE(test::relative_error(land.gradient(w), -net.loss_gradient(b, Loss::infonce(0.5)).col(0) / 200.0),
            1e-12);
}

TEST(FixedPoints, BadArgumentsThrowNamingTheParameter) {
  const PopulationLandscape land(DiscretePopulation::from_model(mixture_model()), Activation::relu());
  EXPECT_THAT(test::invalid_argument_message([&] { find_fixed_point(land, Eigen::VectorXd::Ones(3)); }),
              HasSubstr("size of w0"));
  EXPECT_THAT(test::invalid_argument_message([&] { find_fixed_point(land, Eigen::VectorXd::Zero(20)); }),
              HasSubstr("norm of w0"));
  FixedPointOptions bad;
  bad.step = 0.0;
  EXPECT_THAT(test::invalid_argument_message([&] { find_fixed_point(land, Eigen::VectorXd::Ones(20), bad); }),
              HasSubstr("step"));
  EXPECT_THAT(test::invalid_argument_message([&] { enumerate_fixed_points(land, 0, 1); }), HasSubstr("starts"));
  EXPECT_THAT(test::invalid_argument_message([&] { analyze_stability(land, Eigen::VectorXd::Zero(20)); }),
              HasSubstr("norm of w"));
}

}  // namespace
}  // namespace cldyn::analysis

namespace cldyn::analysis {
namespace {

TEST(Landscape, PopulationTraceShortcutEqualsTraceOfA) {
  data::LatentModelOptions o;
  const PopulationLandscape land(DiscretePopulation::from_model(data::LatentModel(o, 5)), Activation::relu());
  Rng rng(6);
  const Eigen::VectorXd w = rng.normal_matrix(o.d, 1).col(0);
  // Same sum in a different order: rounding only.
  EXPECT_NEAR(land.gated_covariance_trace(w), land.gated_covariance(w).trace(),
              1e-13 * land.gated_covariance(w).trace());
}

}  // namespace
}  // namespace cldyn::analysis
