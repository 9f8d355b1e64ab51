// analysis::input_covariance, gated_covariance and gated_covariance_operator (theory §3).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/models/one_layer.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

TEST(GatedCovariance, LinearActivationGivesTheInputCovariance) {
  const TwoViewBatch b = test::gaussian_batch(14, 5, 0.3, 1);
  Rng rng(2);
  const Eigen::VectorXd w = rng.normal_matrix(5, 1);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(14), test::random_alpha(14, 3)}) {
    const Eigen::MatrixXd c = analysis::input_covariance(b, alpha);
    EXPECT_EQ(c, contrastive_covariance(alpha, b.x, b.x_prime));
    // Linear gates are exactly 1, so the gated input is the input bit for bit.
    EXPECT_EQ(analysis::gated_covariance(b, alpha, w, Activation::linear()), c);
  }
}

TEST(GatedCovariance, EqualsCovarianceOfTheNetworksGatedInput) {
  const TwoViewBatch b = test::gaussian_batch(12, 4, 0.3, 4);
  Rng rng(5);
  const OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::leaky_relu(0.2), rng);
  const PairwiseImportance alpha = test::random_alpha(12, 6);
  for (Eigen::Index k = 0; k < 2; ++k) {
    const Eigen::MatrixXd expected = contrastive_covariance(
        alpha, net.gated_input(b.x, k), net.gated_input(b.x_prime, k));
    EXPECT_EQ(analysis::gated_covariance(b, alpha, net.weights().col(k), net.activation()),
              expected);  // the same gates and the same covariance routine
  }
}

TEST(GatedCovariance, InvariantToPositiveRescalingOfW) {
  const TwoViewBatch b = test::gaussian_batch(16, 5, 0.3, 7);
  Rng rng(8);
  const Eigen::VectorXd w = rng.normal_matrix(5, 1);
  ASSERT_GT(test::gate_margin(b, w), 1e-6);  // no sample on a gate boundary
  const PairwiseImportance alpha = test::random_alpha(16, 9);
  for (const Activation act : {Activation::relu(), Activation::leaky_relu(0.1)}) {
    const Eigen::MatrixXd a = analysis::gated_covariance(b, alpha, w, act);
    for (double scale : {1e-3, 0.5, 7.0, 1e4}) {
      // Gates depend only on the sign of xᵀw, which a positive scale keeps: identical matrices.
      EXPECT_EQ(analysis::gated_covariance(b, alpha, scale * w, act), a) << act.name() << scale;
    }
    // A negative scale flips every gate, so the invariance is specific to positive scales.
    EXPECT_GT(test::relative_error(analysis::gated_covariance(b, alpha, -w, act), a), 1e-3)
        << act.name();
  }
}

TEST(GatedCovariance, OperatorMatchesDenseMatrix) {
  const TwoViewBatch b = test::gaussian_batch(18, 6, 0.3, 10);
  Rng rng(11);
  const Eigen::VectorXd w = rng.normal_matrix(6, 1);
  const PairwiseImportance alpha = test::random_alpha(18, 12);
  const Eigen::MatrixXd a = analysis::gated_covariance(b, alpha, w, Activation::relu());
  const ContrastiveCovarianceOperator op =
      analysis::gated_covariance_operator(b, alpha, w, Activation::relu());
  for (int trial = 0; trial < 3; ++trial) {
    const Eigen::VectorXd v = rng.normal_matrix(6, 1);
    // Same sums in a different association: a few hundred ulps.
    EXPECT_LE(test::relative_error(op.apply(v), a * v), 1e-12);
  }
}

TEST(GatedCovariance, BadInputThrowsNamingTheParameter) {
  const TwoViewBatch b = test::gaussian_batch(8, 3, 0.3, 13);
  const PairwiseImportance alpha = PairwiseImportance::uniform(8);
  const Activation relu = Activation::relu();
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::gated_covariance(b, alpha, Eigen::VectorXd::Ones(4), relu); }),
              HasSubstr("size of w = 4"));
  Eigen::VectorXd w_nan = Eigen::VectorXd::Ones(3);
  w_nan(1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::gated_covariance(b, alpha, w_nan, relu); }),
              HasSubstr("w(1,0)"));
  EXPECT_THAT(test::invalid_argument_message([&] {
                (void)analysis::gated_covariance_operator(b, PairwiseImportance::uniform(7),
                                                          Eigen::VectorXd::Ones(3), relu);
              }),
              HasSubstr("size of alpha = 7"));
  TwoViewBatch mismatched = b;
  mismatched.x_prime = Eigen::MatrixXd::Zero(8, 2);
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::input_covariance(mismatched, alpha); }),
              HasSubstr("X' (second view)"));
}

}  // namespace
}  // namespace cldyn
