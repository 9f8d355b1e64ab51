#pragma once
/// \file trainer.hpp
/// α-CL trainer (theory §1, §3): gradient *ascent* on E_α with α recomputed at every step and
/// frozen inside it, θ ← θ + η·∇_θ E_{sg(α(θ))}(θ); by Identity A this is gradient descent on
/// the loss. Update rule: plain SGD, momentum (buffer starts at the first gradient) and coupled
/// weight decay (g ← ∇E − wd·W). Optional weight normalisation keeps every ‖w_k‖ = 1, either by
/// projecting the step onto the tangent space and retracting, or by renormalising after a full
/// step. The trainer never prints; it reports through callbacks and its result.
///
/// The same loop trains a OneLayerNetwork (parameters {W}) and a TwoLayerNetwork (parameters
/// {W_1, …, W_K, V}, theory §5): the gradient of every block is the α-frozen energy gradient,
/// momentum and weight decay act on every block, `normalization` keeps every filter (column of
/// W or W_k) on its unit sphere, and `top_normalization` optionally keeps the top layer V on a
/// sphere too (each row, or V as a whole).

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/status.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/models/two_layer.hpp"

namespace cldyn {

enum class Normalization {
  none,         ///< unconstrained W
  project,      ///< step along P⊥_w g, then retract each column to the unit sphere
  renormalize,  ///< full step, then rescale each column to unit norm
};

/// Optional constraint of the two-layer top layer V (ignored by one-layer training).
enum class TopNormalization {
  none,   ///< unconstrained V (the default)
  rows,   ///< every row of V has unit norm (each output unit has a unit read-out vector)
  whole,  ///< ‖V‖_F = 1 (only the overall scale of V is fixed; equals `rows` when p = 1)
};

struct TrainerOptions {
  double learning_rate = 0.01;  ///< η > 0
  double momentum = 0.0;        ///< μ ∈ [0, 1)
  double weight_decay = 0.0;    ///< wd ≥ 0, coupled: g ← ∇E − wd·W
  Normalization normalization = Normalization::renormalize;
  /// Two-layer only: constraint of V. It is kept by the same method as the filters
  /// (`normalization`), or by renormalising when `normalization` is none.
  TopNormalization top_normalization = TopNormalization::none;
  Eigen::Index max_steps = 1000;  ///< ≥ 1
  /// Convergence (fixed batch only): stop when the relative stationarity residual
  /// ‖P g‖_F / (‖∇E‖_F + wd‖W‖_F) ≤ tolerance, P = P⊥ per column when normalised, else I.
  /// 0 disables the test.
  double tolerance = 1e-10;
  /// Record a trajectory point every `record_every` steps (0: only the first and last).
  Eigen::Index record_every = 0;

  /// Throws std::invalid_argument naming the first field out of range.
  void validate() const;
};

/// What a callback sees at a step, before the update is applied.
struct StepInfo {
  Eigen::Index step;  ///< 0-based
  double energy;      ///< E_α at the current weights and α
  double loss;        ///< the loss value
  double residual;    ///< relative stationarity residual (see TrainerOptions::tolerance)
  const Eigen::MatrixXd& weights;
};

/// Return false to stop training (status stopped_by_callback).
using TrainCallback = std::function<bool(const StepInfo&)>;

struct TrajectoryPoint {
  Eigen::Index step;
  double energy, loss, residual;
};

struct TrainResult {
  Status status = Status::max_steps;
  std::string message;
  Eigen::Index steps = 0;  ///< updates applied
  double initial_energy = 0, final_energy = 0;
  double initial_loss = 0, final_loss = 0;
  double final_residual = 0;
  std::vector<TrajectoryPoint> trajectory;
};

/// What a two-layer callback sees at a step, before the update is applied; `network` holds the
/// current parameters.
struct TwoLayerStepInfo {
  Eigen::Index step;
  double energy, loss, residual;
  const TwoLayerNetwork& network;
};

using TwoLayerTrainCallback = std::function<bool(const TwoLayerStepInfo&)>;

/// Draws a fresh batch from the given stream.
using BatchSampler = std::function<TwoViewBatch(Rng&)>;

/// Fixed-batch (full data) mode: the same batch at every step; may converge.
TrainResult train(OneLayerNetwork& net, const Loss& loss, const TwoViewBatch& batch,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks = {});

/// Fresh-batch mode: sampler(rng) gives the batch of each step. Ends at max_steps (or a
/// callback / non-finite value); the convergence test does not apply to stochastic steps.
TrainResult train(OneLayerNetwork& net, const Loss& loss, const BatchSampler& sampler, Rng& rng,
                  const TrainerOptions& options, const std::vector<TrainCallback>& callbacks = {});

/// Two-layer training, fixed batch (theory §5; parameters W_1 … W_K and V, see the file comment).
/// The residual is over all blocks: ‖P g‖_F / (‖∇E‖_F + wd‖θ‖_F).
TrainResult train(TwoLayerNetwork& net, const Loss& loss, const TwoViewBatch& batch,
                  const TrainerOptions& options,
                  const std::vector<TwoLayerTrainCallback>& callbacks = {});

/// Two-layer training, fresh batch every step.
TrainResult train(TwoLayerNetwork& net, const Loss& loss, const BatchSampler& sampler, Rng& rng,
                  const TrainerOptions& options,
                  const std::vector<TwoLayerTrainCallback>& callbacks = {});

}  // namespace cldyn
