#include "cldyn/train/trainer.hpp"

#include <cmath>
#include <concepts>
#include <limits>
#include <sstream>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/validate.hpp"

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

// The loop below is generic over a model whose parameters are a list of blocks (one-layer: {W};
// two-layer: {W_1, …, W_K, V}). Each block carries its own unit-norm constraint: per column
// (filters), per row or as a whole (the top layer V), or none, and the method that keeps it.
using Blocks = std::vector<Eigen::MatrixXd>;

enum class Unit { none, columns, rows, whole };

struct BlockConstraint {
  Unit unit = Unit::none;
  Normalization method = Normalization::none;  // project or renormalize when unit != none
};

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

/// P⊥ of the block's constraint applied to g (rows: per row; whole: the Frobenius sphere).
void project_tangent(Unit unit, const Eigen::MatrixXd& w, Eigen::MatrixXd& g) {
  switch (unit) {
    case Unit::none: return;
    case Unit::columns: project_tangent(w, g); return;
    case Unit::rows:
      for (Eigen::Index i = 0; i < w.rows(); ++i) {
        const double ww = w.row(i).squaredNorm();
        if (ww > 0.0) g.row(i) -= (w.row(i).dot(g.row(i)) / ww) * w.row(i);
      }
      return;
    case Unit::whole: {
      const double ww = w.squaredNorm();
      if (ww > 0.0) g -= (w.cwiseProduct(g).sum() / ww) * w;
      return;
    }
  }
}

/// Rescales to the block's unit sphere(s); zero columns/rows/blocks are left alone.
void normalize(Unit unit, Eigen::MatrixXd& w) {
  switch (unit) {
    case Unit::none: return;
    case Unit::columns: normalize_columns(w); return;
    case Unit::rows:
      for (Eigen::Index i = 0; i < w.rows(); ++i) {
        const double norm = w.row(i).norm();
        if (norm > 0.0) w.row(i) /= norm;
      }
      return;
    case Unit::whole: {
      const double norm = w.norm();
      if (norm > 0.0) w /= norm;
      return;
    }
  }
}

/// Frobenius norm over all blocks (for one block exactly Eigen's norm(): sqrt(squaredNorm())).
double norm(const Blocks& b) {
  double ss = 0.0;
  for (const auto& m : b) ss += m.squaredNorm();
  return std::sqrt(ss);
}

bool all_finite(const Blocks& b) {
  for (const auto& m : b)
    if (!m.allFinite()) return false;
  return true;
}

/// Model concept of the generic loop.
template <class M>
concept TrainableModel = requires(M& m, const M& cm, const Blocks& b, const TwoViewBatch& batch,
                                  const Eigen::MatrixXd& x) {
  { cm.parameters() } -> std::same_as<Blocks>;
  { m.set_parameters(b) };
  { cm.forward(x) } -> std::same_as<Eigen::MatrixXd>;
  { cm.backpropagate(batch, x, x) } -> std::same_as<Blocks>;
  { cm.constraints() } -> std::same_as<std::vector<BlockConstraint>>;
};

struct OneLayerModel {
  OneLayerNetwork& net;
  Normalization normalization;
  Blocks parameters() const { return {net.weights()}; }
  void set_parameters(const Blocks& b) { net.set_weights(b[0]); }
  Eigen::MatrixXd forward(const Eigen::MatrixXd& x) const { return net.forward(x); }
  Blocks backpropagate(const TwoViewBatch& batch, const Eigen::MatrixXd& d_f,
                       const Eigen::MatrixXd& d_f_prime) const {
    return {net.backpropagate(batch, d_f, d_f_prime)};
  }
  std::vector<BlockConstraint> constraints() const {
    return {{normalization == Normalization::none ? Unit::none : Unit::columns, normalization}};
  }
};

struct TwoLayerModel {
  TwoLayerNetwork& net;
  Normalization normalization;
  TopNormalization top;
  Blocks parameters() const {
    Blocks b = net.filters();
    b.push_back(net.top());
    return b;
  }
  void set_parameters(const Blocks& b) {
    const auto k = static_cast<std::size_t>(net.num_fields());
    net.set_filters(Blocks(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(k)));
    net.set_top(b[k]);
  }
  Eigen::MatrixXd forward(const Eigen::MatrixXd& x) const { return net.forward(x); }
  Blocks backpropagate(const TwoViewBatch& batch, const Eigen::MatrixXd& d_f,
                       const Eigen::MatrixXd& d_f_prime) const {
    TwoLayerGradient g = net.backpropagate(batch, d_f, d_f_prime);
    Blocks b = std::move(g.filters);
    b.push_back(std::move(g.top));
    return b;
  }
  std::vector<BlockConstraint> constraints() const {
    std::vector<BlockConstraint> c(static_cast<std::size_t>(net.num_fields()),
                                   {normalization == Normalization::none ? Unit::none : Unit::columns,
                                    normalization});
    const Unit unit = top == TopNormalization::rows    ? Unit::rows
                      : top == TopNormalization::whole ? Unit::whole
                                                       : Unit::none;
    // V follows the filters' method; with unconstrained filters it is renormalised.
    c.push_back({unit, normalization == Normalization::none ? Normalization::renormalize : normalization});
    return c;
  }
};

/// notify(step, energy, loss, residual, blocks) returns true to stop.
template <TrainableModel Model, class NextBatch, class Notify>
TrainResult run(Model& model, const Loss& loss, NextBatch&& next_batch, bool fixed,
                const TrainerOptions& options, Notify&& notify) {
  options.validate();
  TrainResult result;
  const std::vector<BlockConstraint> constraints = model.constraints();
  const std::size_t nb = constraints.size();
  Blocks w = model.parameters();
  for (std::size_t i = 0; i < nb; ++i) normalize(constraints[i].unit, w[i]);
  Blocks velocity;
  Blocks last_finite = w;

  for (Eigen::Index step = 0;; ++step) {
    model.set_parameters(w);
    const TwoViewBatch& batch = next_batch();
    const Eigen::MatrixXd f = model.forward(batch.x);
    const Eigen::MatrixXd f_prime = model.forward(batch.x_prime);
    if (!f.allFinite() || !f_prime.allFinite()) {
      result.status = Status::non_finite;
      result.message = "non-finite network output at step " + std::to_string(step);
      break;
    }
    const LossEvaluation eval = loss.evaluate(f, f_prime);
    const double energy = contrastive_energy(eval.alpha, f, f_prime);
    // ∇E_sg(α) from the outputs already computed: the network's energy_gradient, without
    // evaluating the forward pass a second time.
    const auto [d_f, d_f_prime] = energy_output_gradient(eval.alpha, f, f_prime);
    const Blocks grad = model.backpropagate(batch, d_f, d_f_prime);
    if (!std::isfinite(eval.value) || !std::isfinite(energy) || !all_finite(grad)) {
      result.status = Status::non_finite;
      result.message = "non-finite loss, energy or gradient at step " + std::to_string(step);
      break;
    }
    Blocks g(nb), tangent(nb);
    for (std::size_t i = 0; i < nb; ++i) {
      g[i] = grad[i] - options.weight_decay * w[i];
      if (constraints[i].method == Normalization::project) project_tangent(constraints[i].unit, w[i], g[i]);
      tangent[i] = g[i];
      if (constraints[i].method == Normalization::renormalize)
        project_tangent(constraints[i].unit, w[i], tangent[i]);
    }
    const double scale = norm(grad) + options.weight_decay * norm(w);
    const double residual = scale > 0.0 ? norm(tangent) / scale : 0.0;

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

    if (notify(step, energy, eval.value, residual, w)) {
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
      if (velocity.empty()) {
        velocity = g;
      } else {
        for (std::size_t i = 0; i < nb; ++i) velocity[i] = options.momentum * velocity[i] + g[i];
      }
      for (std::size_t i = 0; i < nb; ++i) w[i] += options.learning_rate * velocity[i];
    } else {
      for (std::size_t i = 0; i < nb; ++i) w[i] += options.learning_rate * g[i];
    }
    for (std::size_t i = 0; i < nb; ++i) normalize(constraints[i].unit, w[i]);
    if (!all_finite(w)) {
      result.status = Status::non_finite;
      result.message = "non-finite weights after the update of step " + std::to_string(step);
      result.steps = step;
      break;
    }
  }
  model.set_parameters(last_finite);
  if (!result.trajectory.empty() && result.trajectory.back().step != result.steps)
    result.trajectory.push_back(
        {result.steps, result.final_energy, result.final_loss, result.final_residual});
  return result;
}

/// Calls the callbacks in order until one returns false (asks to stop); true if one did.
template <class Info, class Callback>
bool any_stop(const Info& info, const std::vector<Callback>& callbacks) {
  bool stop = false;
  for (const auto& cb : callbacks) stop = stop || !cb(info);
  return stop;
}

auto one_layer_notify(const std::vector<TrainCallback>& callbacks) {
  return [&callbacks](Eigen::Index step, double energy, double loss, double residual, const Blocks& w) {
    const StepInfo info{step, energy, loss, residual, w[0]};
    return any_stop(info, callbacks);
  };
}

auto two_layer_notify(const TwoLayerNetwork& net, const std::vector<TwoLayerTrainCallback>& callbacks) {
  return [&net, &callbacks](Eigen::Index step, double energy, double loss, double residual, const Blocks&) {
    const TwoLayerStepInfo info{step, energy, loss, residual, net};
    return any_stop(info, callbacks);
  };
}

}  // namespace

TrainResult train(OneLayerNetwork& net, const Loss& loss, const TwoViewBatch& batch,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks) {
  batch.validate("train");
  OneLayerModel model{net, options.normalization};
  return run(model, loss, [&]() -> const TwoViewBatch& { return batch; }, true, options,
             one_layer_notify(callbacks));
}

TrainResult train(OneLayerNetwork& net, const Loss& loss, const BatchSampler& sampler, Rng& rng,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks) {
  require(static_cast<bool>(sampler), "train", "sampler", "empty", "a callable sampler");
  TwoViewBatch current;
  OneLayerModel model{net, options.normalization};
  return run(model, loss,
             [&]() -> const TwoViewBatch& {
               current = sampler(rng);
               current.validate("train (sampled batch)");
               return current;
             },
             false, options, one_layer_notify(callbacks));
}

TrainResult train(TwoLayerNetwork& net, const Loss& loss, const TwoViewBatch& batch,
                  const TrainerOptions& options, const std::vector<TwoLayerTrainCallback>& callbacks) {
  batch.validate("train");
  require(batch.dim() == net.input_dim(), "train", "d of the batch", batch.dim(),
          "== input dimension of the network = " + std::to_string(net.input_dim()));
  TwoLayerModel model{net, options.normalization, options.top_normalization};
  return run(model, loss, [&]() -> const TwoViewBatch& { return batch; }, true, options,
             two_layer_notify(net, callbacks));
}

TrainResult train(TwoLayerNetwork& net, const Loss& loss, const BatchSampler& sampler, Rng& rng,
                  const TrainerOptions& options, const std::vector<TwoLayerTrainCallback>& callbacks) {
  require(static_cast<bool>(sampler), "train", "sampler", "empty", "a callable sampler");
  TwoViewBatch current;
  TwoLayerModel model{net, options.normalization, options.top_normalization};
  return run(model, loss,
             [&]() -> const TwoViewBatch& {
               current = sampler(rng);
               current.validate("train (sampled batch)");
               return current;
             },
             false, options, two_layer_notify(net, callbacks));
}

}  // namespace cldyn
