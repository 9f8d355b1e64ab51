// α-CL trainer: convergence to the known answer (Claim 1), statuses, update rule,
// determinism and option checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/train/trainer.hpp"
#include "support/problems.hpp"
#include "support/training.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

TEST(Trainer, LinearQuadraticConvergesToTopEigenvectorOfInputCovariance) {
  const TwoViewBatch b = test::gaussian_batch(40, 6, 0.3, 1);
  const PairwiseImportance alpha = PairwiseImportance::uniform(40);
  const analysis::EigenResult eig = analysis::top_eigenpairs(analysis::input_covariance(b, alpha), 2);
  ASSERT_EQ(eig.status, Status::success);
  ASSERT_GT(eig.values(0) - eig.values(1), 0.1 * eig.values(0));  // a clear eigengap
  for (const Normalization norm : {Normalization::renormalize, Normalization::project}) {
    Rng rng(2);
    OneLayerNetwork net = OneLayerNetwork::random(6, 3, Activation::linear(), rng);
    TrainerOptions opt;
    opt.learning_rate = 0.5;
    opt.normalization = norm;
    opt.max_steps = 5000;
    opt.tolerance = 1e-10;
    const TrainResult r = train(net, Loss::quadratic(), b, opt);
    ASSERT_EQ(r.status, Status::success) << r.message;
    EXPECT_LE(r.final_residual, opt.tolerance);
    EXPECT_LT(r.steps, opt.max_steps);
    for (Eigen::Index k = 0; k < 3; ++k) {
      EXPECT_NEAR(net.weights().col(k).norm(), 1.0, 1e-12);  // normalised to rounding
      // Claim 1 criterion (theory §7).
      EXPECT_GE(test::abs_cos(net.weights().col(k), eig.vectors.col(0)), 0.999) << k;
    }
    // At the fixed point every node carries ½λ₁ of energy: E = ½ Σ_k w_kᵀ C w_k = 3·λ₁/2.
    // A residual of 1e-10 bounds the energy error by O(1e-20) relative; 1e-9 allows rounding.
    EXPECT_NEAR(r.final_energy, 1.5 * eig.values(0), 1e-9 * eig.values(0));
    EXPECT_GT(r.final_energy, r.initial_energy);  // ascent on E …
    EXPECT_LT(r.final_loss, r.initial_loss);      // … is descent on the loss
  }
}

TEST(Trainer, UpdateRuleWithMomentumAndCoupledWeightDecay) {
  // Two unnormalised steps, recomputed by hand: g_t = ∇E(W_t) − wd·W_t, v_0 = g_0,
  // v_1 = μ·v_0 + g_1, W_{t+1} = W_t + η·v_t.
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 3);
  Rng rng(4);
  const OneLayerNetwork start = OneLayerNetwork::random(4, 2, Activation::relu(), rng);
  const Loss loss = Loss::infonce(0.5);
  const TrainerOptions opt = test::two_momentum_steps();

  OneLayerNetwork manual = start;
  auto grad = [&](const OneLayerNetwork& n) {
    const PairwiseImportance a = loss.pairwise_importance(n.forward(b.x), n.forward(b.x_prime));
    return Eigen::MatrixXd(n.energy_gradient(b, a) - opt.weight_decay * n.weights());
  };
  const Eigen::MatrixXd v0 = grad(manual);
  manual.set_weights(manual.weights() + opt.learning_rate * v0);
  const Eigen::MatrixXd v1 = opt.momentum * v0 + grad(manual);
  manual.set_weights(manual.weights() + opt.learning_rate * v1);

  OneLayerNetwork trained = start;
  const TrainResult r = train(trained, loss, b, opt);
  EXPECT_EQ(r.status, Status::max_steps);
  EXPECT_EQ(r.steps, 2);
  // Same operations in the same order: equal to rounding of a handful of O(1) updates.
  EXPECT_LE(test::relative_error(trained.weights(), manual.weights()), 1e-14);
}

TEST(Trainer, CallbackCanStopTraining) {
  const TwoViewBatch b = test::gaussian_batch(12, 4, 0.3, 5);
  Rng rng(6);
  OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::relu(), rng);
  const TrainerOptions opt = test::fixed_steps(100);
  Eigen::Index seen = -1;
  double energy_at_3 = std::numeric_limits<double>::quiet_NaN();
  const TrainCallback stop_at_3 = [&](const StepInfo& info) {
    seen = info.step;
    if (info.step == 3) {
      // The callback sees the state before the update of this step.
      OneLayerNetwork probe(info.weights, net.activation());
      energy_at_3 = probe.energy(b, PairwiseImportance::uniform(12));
      EXPECT_TRUE(std::isfinite(info.loss));
      EXPECT_GE(info.residual, 0.0);
    }
    return info.step < 3;
  };
  const TrainResult r = train(net, Loss::quadratic(), b, opt, {stop_at_3});
  EXPECT_EQ(r.status, Status::stopped_by_callback);
  EXPECT_EQ(r.steps, 3);
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(r.final_energy, energy_at_3);  // quadratic loss: α uniform, the same energy
  EXPECT_EQ(net.energy(b, PairwiseImportance::uniform(12)), energy_at_3);  // the net is left there
}

TEST(Trainer, HugeLearningRateGivesNonFiniteAndKeepsFiniteWeights) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 7);
  Rng rng(8);
  OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::linear(), rng);
  TrainerOptions opt;
  opt.learning_rate = 1e150;  // W grows by ~1e150 per step and overflows within a few steps
  opt.normalization = Normalization::none;
  opt.max_steps = 100;
  const TrainResult r = train(net, Loss::quadratic(), b, opt);
  EXPECT_EQ(r.status, Status::non_finite) << r.message;
  EXPECT_LT(r.steps, 10);
  EXPECT_TRUE(net.weights().allFinite());
  EXPECT_TRUE(std::isfinite(r.final_energy));
  EXPECT_TRUE(std::isfinite(r.final_loss));
  // The network is left at the last state whose outputs were finite: the state the result's
  // final energy describes (same computation, so bit-identical).
  EXPECT_EQ(net.energy(b, PairwiseImportance::uniform(10)), r.final_energy);
}

TEST(Trainer, FreshBatchModeHasNoConvergenceTest) {
  // A sampler that always returns the same batch: the fixed-batch run converges, the
  // fresh-batch run must still run to max_steps (stochastic steps are never "converged").
  const TwoViewBatch b = test::gaussian_batch(20, 4, 0.3, 15);
  Rng init(16);
  const OneLayerNetwork start = OneLayerNetwork::random(4, 1, Activation::linear(), init);
  TrainerOptions opt;
  opt.learning_rate = 0.5;
  opt.max_steps = 400;
  opt.tolerance = 1e-8;
  OneLayerNetwork fixed_net = start;
  const TrainResult fixed = train(fixed_net, Loss::quadratic(), b, opt);
  ASSERT_EQ(fixed.status, Status::success);
  ASSERT_LT(fixed.steps, opt.max_steps);
  OneLayerNetwork fresh_net = start;
  Rng rng(17);
  const TrainResult fresh =
      train(fresh_net, Loss::quadratic(), [&](Rng&) { return b; }, rng, opt);
  EXPECT_EQ(fresh.status, Status::max_steps);
  EXPECT_EQ(fresh.steps, opt.max_steps);
  EXPECT_LE(fresh.final_residual, opt.tolerance);  // it did reach the fixed point
}

TEST(Trainer, MomentumAndWeightDecayChangeTheTrajectoryDeterministically) {
  const TwoViewBatch b = test::gaussian_batch(16, 5, 0.3, 9);
  Rng rng(10);
  const OneLayerNetwork start = OneLayerNetwork::random(5, 3, Activation::relu(), rng);
  auto run = [&](double momentum, double wd) {
    OneLayerNetwork net = start;
    TrainerOptions opt = test::fixed_steps(20);
    opt.learning_rate = 0.2;
    opt.momentum = momentum;
    opt.weight_decay = wd;
    const TrainResult r = train(net, Loss::infonce(0.3), b, opt);
    EXPECT_EQ(r.status, Status::max_steps);
    EXPECT_EQ(r.steps, 20);
    return std::pair{net.weights(), r.final_energy};
  };
  const auto plain = run(0.0, 0.0);
  const auto heavy = run(0.9, 0.01);
  const auto heavy_again = run(0.9, 0.01);
  const auto decayed = run(0.0, 0.1);
  EXPECT_EQ(heavy.first, heavy_again.first);  // bit-identical
  EXPECT_EQ(heavy.second, heavy_again.second);
  // The options matter: energies after 20 steps differ well beyond rounding.
  EXPECT_GT(std::abs(heavy.second - plain.second), 1e-6 * std::abs(plain.second));
  EXPECT_GT(std::abs(decayed.second - plain.second), 1e-6 * std::abs(plain.second));
}

TEST(Trainer, FreshBatchModeIsDeterministicForTheSameSeed) {
  const BatchSampler sampler = test::noisy_views_sampler(8, 4, 0.2);
  auto run = [&](std::uint64_t seed) {
    Rng init(1);
    OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::relu(), init);
    Rng rng(seed);
    TrainerOptions opt;
    opt.learning_rate = 0.1;
    opt.momentum = 0.5;
    opt.max_steps = 15;
    opt.record_every = 5;
    const TrainResult r = train(net, Loss::infonce(0.5), sampler, rng, opt);
    EXPECT_EQ(r.status, Status::max_steps);  // no convergence test for stochastic steps
    EXPECT_EQ(r.steps, 15);
    EXPECT_EQ(r.trajectory.size(), 4u);  // steps 0, 5, 10, 15
    if (r.trajectory.size() == 4u) {
      EXPECT_EQ(r.trajectory.back().step, 15);
    }
    return net.weights();
  };
  const Eigen::MatrixXd a = run(42), b = run(42), c = run(43);
  EXPECT_EQ(a, b);  // bit-identical
  EXPECT_GT((a - c).norm(), 1e-6);  // a different stream gives different batches
}

TEST(Trainer, TrajectoryRecordsFirstAndLastByDefault) {
  const TwoViewBatch b = test::gaussian_batch(8, 3, 0.3, 11);
  Rng rng(12);
  OneLayerNetwork net = OneLayerNetwork::random(3, 1, Activation::relu(), rng);
  const TrainerOptions opt = test::fixed_steps(7);
  const TrainResult r = train(net, Loss::quadratic(), b, opt);
  ASSERT_EQ(r.trajectory.size(), 2u);
  EXPECT_EQ(r.trajectory.front().step, 0);
  EXPECT_EQ(r.trajectory.front().energy, r.initial_energy);
  EXPECT_EQ(r.trajectory.back().step, 7);
  EXPECT_EQ(r.trajectory.back().energy, r.final_energy);
}

TEST(Trainer, OptionsValidateNamesTheField) {
  auto message = [](auto mutate) {
    TrainerOptions opt;
    mutate(opt);
    return test::invalid_argument_message([&] { opt.validate(); });
  };
  EXPECT_NO_THROW(TrainerOptions{}.validate());
  EXPECT_THAT(message([](TrainerOptions& o) { o.learning_rate = 0.0; }), HasSubstr("learning_rate = 0"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.learning_rate = -1.0; }), HasSubstr("learning_rate"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.learning_rate = std::numeric_limits<double>::quiet_NaN(); }),
              HasSubstr("learning_rate"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.momentum = 1.0; }), HasSubstr("momentum = 1"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.momentum = -0.1; }), HasSubstr("momentum"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.momentum = std::numeric_limits<double>::quiet_NaN(); }),
              HasSubstr("momentum"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.weight_decay = -1e-3; }), HasSubstr("weight_decay"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.max_steps = 0; }), HasSubstr("max_steps = 0"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.tolerance = -1.0; }), HasSubstr("tolerance"));
  EXPECT_THAT(message([](TrainerOptions& o) { o.record_every = -1; }), HasSubstr("record_every"));

  // train() validates before touching the network.
  const TwoViewBatch b = test::gaussian_batch(6, 3, 0.3, 13);
  Rng rng(14);
  OneLayerNetwork net = OneLayerNetwork::random(3, 1, Activation::relu(), rng);
  const Eigen::MatrixXd before = net.weights();
  TrainerOptions bad;
  bad.max_steps = 0;
  EXPECT_THAT(test::invalid_argument_message([&] { train(net, Loss::quadratic(), b, bad); }),
              HasSubstr("max_steps"));
  EXPECT_EQ(net.weights(), before);
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { train(net, Loss::quadratic(), BatchSampler{}, rng, TrainerOptions{}); }),
              HasSubstr("sampler"));
}

}  // namespace
}  // namespace cldyn
