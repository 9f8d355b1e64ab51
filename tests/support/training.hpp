#pragma once
// Test-only trainer set-ups shared by the one- and two-layer trainer tests (header-only). Not
// installed, not part of the public API.

#include <Eigen/Core>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/train/trainer.hpp"

namespace cldyn::test {

/// Exactly `steps` steps: tolerance 0, so the residual never stops the run early.
inline TrainerOptions fixed_steps(Eigen::Index steps) {
  TrainerOptions opt;
  opt.max_steps = steps;
  opt.tolerance = 0.0;
  return opt;
}

/// The update-rule tests' options: two unnormalised steps at η = 0.3 with momentum 0.9 and
/// coupled weight decay 0.05.
inline TrainerOptions two_momentum_steps() {
  TrainerOptions opt = fixed_steps(2);
  opt.learning_rate = 0.3;
  opt.momentum = 0.9;
  opt.weight_decay = 0.05;
  opt.normalization = Normalization::none;
  return opt;
}

/// A fresh batch per step: N × d views x0 + σ·ξ, x0 + σ·ξ' of x0 ~ N(0, I), drawn in that order.
inline BatchSampler noisy_views_sampler(Eigen::Index n, Eigen::Index d, double sigma) {
  return [n, d, sigma](Rng& rng) {
    TwoViewBatch batch;
    const Eigen::MatrixXd x0 = rng.normal_matrix(n, d);
    batch.x = x0 + sigma * rng.normal_matrix(n, d);
    batch.x_prime = x0 + sigma * rng.normal_matrix(n, d);
    return batch;
  };
}

}  // namespace cldyn::test
