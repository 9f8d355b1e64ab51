// OneLayerNetwork (theory §3): forward pass, gates, gated inputs, energy and loss gradients
// against finite differences, argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/models/one_layer.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

// Products of O(1) matrices evaluated in a different order: a few hundred ulps.
constexpr double kRounding = 1e-13;

// Finite differences move w by h ≤ 6e-6·max(|w_i|, 1) per coordinate, so u = xᵀw moves by at
// most 6e-6·‖x‖·max(1, ‖w‖): a gate can only flip for a sample with |xᵀw|/(‖x‖‖w‖) ≲ 6e-6·
// max(1, 1/‖w‖). Tests that difference ReLU/leaky networks assert a margin 100× larger, so no
// gate flips and E (or L) is the smooth function the analytic gradient describes.
constexpr double kGateMargin = 1e-3;

const Activation kActivations[] = {Activation::linear(), Activation::relu(),
                                   Activation::leaky_relu(0.1)};

TEST(OneLayerNetwork, RandomGivesUnitColumnsAndIsSeeded) {
  Rng a(3), b(3);
  const OneLayerNetwork n1 = OneLayerNetwork::random(6, 4, Activation::relu(), a);
  const OneLayerNetwork n2 = OneLayerNetwork::random(6, 4, Activation::relu(), b);
  EXPECT_EQ(n1.input_dim(), 6);
  EXPECT_EQ(n1.width(), 4);
  EXPECT_EQ(n1.weights(), n2.weights());
  EXPECT_EQ(n1.activation().kind(), Activation::Kind::relu);
  for (Eigen::Index k = 0; k < 4; ++k)
    EXPECT_NEAR(n1.weights().col(k).norm(), 1.0, 1e-15);  // a few ulps of 1
}

TEST(OneLayerNetwork, ForwardGatesAndGatedInput) {
  Eigen::MatrixXd w(2, 2);
  w << 1.0, -1.0,  //
      2.0, 0.5;
  Eigen::MatrixXd x(3, 2);
  x << 1.0, 1.0,   // u = ( 3,  -0.5)
      -1.0, 0.0,   // u = (-1,   1)
      0.5, -1.0;   // u = (-1.5, -1)
  const OneLayerNetwork relu(w, Activation::relu());
  Eigen::MatrixXd expected_f(3, 2), expected_g(3, 2);
  expected_f << 3.0, 0.0, 0.0, 1.0, 0.0, 0.0;
  expected_g << 1.0, 0.0, 0.0, 1.0, 0.0, 0.0;
  EXPECT_EQ(relu.forward(x), expected_f);
  EXPECT_EQ(relu.gates(x), expected_g);
  Eigen::MatrixXd expected_x1(3, 2);
  expected_x1 << 0.0, 0.0, -1.0, 0.0, 0.0, 0.0;
  EXPECT_EQ(relu.gated_input(x, 1), expected_x1);

  const OneLayerNetwork leaky(w, Activation::leaky_relu(0.5));
  Eigen::MatrixXd expected_leaky(3, 2);
  expected_leaky << 3.0, -0.25, -0.5, 1.0, -0.75, -0.5;
  EXPECT_EQ(leaky.forward(x), expected_leaky);
  const OneLayerNetwork lin(w, Activation::linear());
  EXPECT_EQ(lin.forward(x), x * w);
  EXPECT_EQ(lin.gates(x), Eigen::MatrixXd::Ones(3, 2));
  EXPECT_EQ(lin.gated_input(x, 0), x);
}

TEST(OneLayerNetwork, GatedInputTimesWeightIsTheOutput) {
  const TwoViewBatch b = test::gaussian_batch(9, 5, 0.3, 1);
  Rng rng(2);
  for (const Activation act : kActivations) {
    const OneLayerNetwork net = OneLayerNetwork::random(5, 3, act, rng);
    const Eigen::MatrixXd f = net.forward(b.x);
    ASSERT_EQ(f.rows(), 9);
    ASSERT_EQ(f.cols(), 3);
    for (Eigen::Index k = 0; k < 3; ++k) {
      const Eigen::MatrixXd xk = net.gated_input(b.x, k);
      ASSERT_EQ(xk.rows(), 9);
      ASSERT_EQ(xk.cols(), 5);
      // f_k = w_kᵀ x̃_k (homogeneity).
      EXPECT_LE(test::relative_error(xk * net.weights().col(k), f.col(k)), kRounding) << act.name();
    }
  }
}

TEST(OneLayerNetwork, EnergyIsContrastiveEnergyOfOutputs) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 3);
  Rng rng(4);
  const OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::relu(), rng);
  const PairwiseImportance alpha = test::random_alpha(10, 5);
  EXPECT_EQ(net.energy(b, alpha),
            contrastive_energy(alpha, net.forward(b.x), net.forward(b.x_prime)));
}

TEST(OneLayerNetwork, EnergyGradientMatchesFiniteDifferencesWithAlphaFrozen) {
  const TwoViewBatch b = test::gaussian_batch(12, 5, 0.3, 6);
  Rng rng(7);
  for (const Activation act : kActivations) {
    OneLayerNetwork net = OneLayerNetwork::random(5, 3, act, rng);
    ASSERT_GT(test::gate_margin(b, net.weights()), kGateMargin) << "choose another seed";
    const PairwiseImportance nce_alpha =
        Loss::infonce(0.5).pairwise_importance(net.forward(b.x), net.forward(b.x_prime));
    for (const PairwiseImportance& alpha :
         {PairwiseImportance::uniform(12), test::random_alpha(12, 8), nce_alpha}) {
      const Eigen::MatrixXd w0 = net.weights();
      const Eigen::MatrixXd analytic = net.energy_gradient(b, alpha);
      OneLayerNetwork probe = net;
      const auto r = analysis::check_gradient(
          [&](const Eigen::MatrixXd& w) {
            probe.set_weights(w);
            return probe.energy(b, alpha);
          },
          w0, analytic);
      // With the gate pattern fixed E is a quadratic in W, so central differences have no
      // truncation error: only rounding, O(1e-16·|E|/h) ≈ 1e-11 relative.
      EXPECT_LE(r.relative_error, 1e-8) << act.name();
    }
  }
}

TEST(OneLayerNetwork, LossGradientMatchesFiniteDifferences) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 9);
  Rng rng(10);
  for (const Activation act : kActivations) {
    const OneLayerNetwork net = OneLayerNetwork::random(4, 3, act, rng);
    ASSERT_GT(test::gate_margin(b, net.weights()), kGateMargin) << "choose another seed";
    for (const Loss loss : {Loss::quadratic(), Loss::infonce(0.2, 1.0), Loss::infonce(1.0, 0.0)}) {
      OneLayerNetwork probe = net;
      const auto r = analysis::check_gradient(
          [&](const Eigen::MatrixXd& w) {
            probe.set_weights(w);
            return loss.value(probe.forward(b.x), probe.forward(b.x_prime));
          },
          net.weights(), net.loss_gradient(b, loss));
      // Truncation O(h²·|L'''|) + rounding O(1e-16·|L|/h) ≈ 1e-9 relative here (τ ≥ 0.2,
      // O(1) outputs); a wrong term of the chain rule gives an O(1) error.
      EXPECT_LE(r.relative_error, 1e-6) << act.name() << " " << loss.name();
    }
  }
}

TEST(OneLayerNetwork, BackpropagateIsTheAdjointOfTheForwardPass) {
  // ⟨dF, F(W)⟩ + ⟨dF', F'(W)⟩ is linear in W for fixed gates, so its gradient is exactly
  // backpropagate(dF, dF'); central differences of a linear function are exact up to rounding.
  const TwoViewBatch b = test::gaussian_batch(8, 3, 0.3, 11);
  Rng rng(13);
  const OneLayerNetwork net = OneLayerNetwork::random(3, 2, Activation::leaky_relu(0.2), rng);
  ASSERT_GT(test::gate_margin(b, net.weights()), kGateMargin);
  const Eigen::MatrixXd df = rng.normal_matrix(8, 2), dfp = rng.normal_matrix(8, 2);
  OneLayerNetwork probe = net;
  const auto r = analysis::check_gradient(
      [&](const Eigen::MatrixXd& w) {
        probe.set_weights(w);
        return df.cwiseProduct(probe.forward(b.x)).sum() +
               dfp.cwiseProduct(probe.forward(b.x_prime)).sum();
      },
      net.weights(), net.backpropagate(b, df, dfp));
  EXPECT_LE(r.relative_error, 1e-9);  // rounding only: O(1e-16·|value|/h) ≈ 1e-11
}

TEST(OneLayerNetwork, BadInputThrowsNamingTheParameter) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message(
                  [] { OneLayerNetwork(Eigen::MatrixXd(3, 0), Activation::relu()); }),
              HasSubstr("K (columns of W) = 0"));
  EXPECT_THAT(test::invalid_argument_message(
                  [] { OneLayerNetwork(Eigen::MatrixXd(0, 2), Activation::relu()); }),
              HasSubstr("d (rows of W) = 0"));
  Eigen::MatrixXd w_nan = Eigen::MatrixXd::Ones(3, 2);
  w_nan(2, 1) = nan;
  EXPECT_THAT(test::invalid_argument_message([&] { OneLayerNetwork(w_nan, Activation::relu()); }),
              HasSubstr("W(2,1)"));
  Rng rng(1);
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)OneLayerNetwork::random(3, 0, Activation::relu(), rng); }),
              HasSubstr("K = 0"));

  OneLayerNetwork net = OneLayerNetwork::random(3, 2, Activation::relu(), rng);
  EXPECT_THAT(test::invalid_argument_message([&] { net.set_weights(w_nan); }), HasSubstr("W(2,1)"));
  EXPECT_THAT(test::invalid_argument_message([&] { net.set_weights(Eigen::MatrixXd::Ones(3, 3)); }),
              HasSubstr("W has shape 3x3"));

  const TwoViewBatch wrong_d = test::gaussian_batch(6, 4, 0.3, 2);
  const PairwiseImportance alpha = PairwiseImportance::uniform(6);
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.energy(wrong_d, alpha); }),
              HasSubstr("d of the batch = 4"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.energy_gradient(wrong_d, alpha); }),
              HasSubstr("d of the batch = 4"));
  EXPECT_THAT(
      test::invalid_argument_message([&] { (void)net.loss_gradient(wrong_d, Loss::quadratic()); }),
      HasSubstr("d of the batch = 4"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.forward(wrong_d.x); }),
              HasSubstr("columns of X = 4"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.gates(wrong_d.x); }),
              HasSubstr("columns of X = 4"));

  const TwoViewBatch good = test::gaussian_batch(6, 3, 0.3, 3);
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.gated_input(good.x, 2); }),
              HasSubstr("k = 2"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.gated_input(good.x, -1); }),
              HasSubstr("k = -1"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)net.energy_gradient(good, PairwiseImportance::uniform(5)); }),
              HasSubstr("size of alpha = 5"));
  EXPECT_THAT(test::invalid_argument_message([&] {
                (void)net.backpropagate(good, Eigen::MatrixXd::Zero(6, 3), Eigen::MatrixXd::Zero(6, 2));
              }),
              HasSubstr("dF has shape 6x3"));
  TwoViewBatch nonfinite = good;
  nonfinite.x_prime(4, 0) = nan;
  EXPECT_THAT(test::invalid_argument_message([&] { (void)net.energy(nonfinite, alpha); }),
              HasSubstr("X'(4,0)"));
}

}  // namespace
}  // namespace cldyn
