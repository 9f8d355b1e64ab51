#include "cldyn/trainer.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "cldyn/covariance.hpp"
#include "cldyn/validate.hpp"

namespace cldyn {

void TrainerOptions::validate() const {
  constexpr const char* where = "TrainerOptions";
  require(std::isfinite(learning_rate) && learning_rate > 0.0, where, "learning_rate",
          learning_rate, "learning_rate > 0");
  require(momentum >= 0.0 && momentum < 1.0, where, "momentum", momentum, "0 <= momentum < 1");
  require(std::isfinite(weight_decay) && weight_decay >= 0.0, where, "weight_decay", weight_decay,
          "weight_decay >= 0");
  require(max_steps >= 1, where, "max_steps", max_steps, "max_steps >= 1");
  require(std::isfinite(tolerance) && tolerance >= 0.0, where, "tolerance", tolerance,
          "tolerance >= 0");
  require(record_every >= 0, where, "record_every", record_every, "record_every >= 0");
}

namespace {

/// Removes the radial component of every column: g_k ← P⊥_{w_k} g_k.
void project_tangent(const Eigen::MatrixXd& w, Eigen::MatrixXd& g) {
  for (Eigen::Index k = 0; k < w.cols(); ++k) {
    const double ww = w.col(k).squaredNorm();
    if (ww > 0.0) g.col(k) -= (w.col(k).dot(g.col(k)) / ww) * w.col(k);
  }
}

/// Rescales every nonzero column to unit norm (a zero column has no direction to keep).
void normalize_columns(Eigen::MatrixXd& w) {
  for (Eigen::Index k = 0; k < w.cols(); ++k) {
    const double norm = w.col(k).norm();
    if (norm > 0.0) w.col(k) /= norm;
  }
}

template <class NextBatch>
TrainResult run(OneLayerNetwork& net, const Loss& loss, NextBatch&& next_batch, bool fixed,
                const TrainerOptions& options, const std::vector<TrainCallback>& callbacks) {
  options.validate();
  TrainResult result;
  const bool normalized = options.normalization != Normalization::none;
  Eigen::MatrixXd w = net.weights();
  if (normalized) normalize_columns(w);
  Eigen::MatrixXd velocity;
  Eigen::MatrixXd last_finite = w;

  for (Eigen::Index step = 0;; ++step) {
    net.set_weights(w);
    const TwoViewBatch& batch = next_batch();
    const Eigen::MatrixXd f = net.forward(batch.x);
    const Eigen::MatrixXd f_prime = net.forward(batch.x_prime);
    if (!f.allFinite() || !f_prime.allFinite()) {
      result.status = Status::non_finite;
      result.message = "non-finite network output at step " + std::to_string(step);
      break;
    }
    const LossEvaluation eval = loss.evaluate(f, f_prime);
    const double energy = contrastive_energy(eval.alpha, f, f_prime);
    const Eigen::MatrixXd grad = net.energy_gradient(batch, eval.alpha);
    if (!std::isfinite(eval.value) || !std::isfinite(energy) || !grad.allFinite()) {
      result.status = Status::non_finite;
      result.message = "non-finite loss, energy or gradient at step " + std::to_string(step);
      break;
    }
    Eigen::MatrixXd g = grad - options.weight_decay * w;
    if (options.normalization == Normalization::project) project_tangent(w, g);
    Eigen::MatrixXd tangent = g;
    if (options.normalization == Normalization::renormalize) project_tangent(w, tangent);
    const double scale = grad.norm() + options.weight_decay * w.norm();
    const double residual = scale > 0.0 ? tangent.norm() / scale : 0.0;

    last_finite = w;
    if (step == 0) {
      result.initial_energy = energy;
      result.initial_loss = eval.value;
    }
    result.final_energy = energy;
    result.final_loss = eval.value;
    result.final_residual = residual;
    result.steps = step;
    const bool record = step == 0 || (options.record_every > 0 && step % options.record_every == 0);
    if (record) result.trajectory.push_back({step, energy, eval.value, residual});

    const StepInfo info{step, energy, eval.value, residual, w};
    bool stop = false;
    for (const auto& cb : callbacks) stop = stop || !cb(info);
    if (stop) {
      result.status = Status::stopped_by_callback;
      result.message = "stopped by a callback at step " + std::to_string(step);
      break;
    }
    if (fixed && options.tolerance > 0.0 && residual <= options.tolerance) {
      result.status = Status::success;
      result.message = "converged: residual " + std::to_string(residual) + " <= tolerance";
      break;
    }
    if (step == options.max_steps) {
      result.status = Status::max_steps;
      result.message = "reached max_steps = " + std::to_string(options.max_steps);
      break;
    }

    if (options.momentum > 0.0) {
      if (velocity.size() == 0) {
        velocity = g;
      } else {
        velocity = options.momentum * velocity + g;
      }
      w += options.learning_rate * velocity;
    } else {
      w += options.learning_rate * g;
    }
    if (normalized) normalize_columns(w);
    if (!w.allFinite()) {
      result.status = Status::non_finite;
      result.message = "non-finite weights after the update of step " + std::to_string(step);
      result.steps = step;
      break;
    }
  }
  net.set_weights(last_finite);
  if (!result.trajectory.empty() && result.trajectory.back().step != result.steps)
    result.trajectory.push_back(
        {result.steps, result.final_energy, result.final_loss, result.final_residual});
  return result;
}

}  // namespace

TrainResult train(OneLayerNetwork& net, const Loss& loss, const TwoViewBatch& batch,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks) {
  batch.validate("train");
  return run(net, loss, [&]() -> const TwoViewBatch& { return batch; }, true, options, callbacks);
}

TrainResult train(OneLayerNetwork& net, const Loss& loss, const BatchSampler& sampler, Rng& rng,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks) {
  require(static_cast<bool>(sampler), "train", "sampler", "empty", "a callable sampler");
  TwoViewBatch current;
  return run(net, loss,
             [&]() -> const TwoViewBatch& {
               current = sampler(rng);
               current.validate("train (sampled batch)");
               return current;
             },
             false, options, callbacks);
}

}  // namespace cldyn
