#pragma once
/// \file token_experiment.hpp
/// One run of the paper's token-pattern simulation (theory §6): data (data/token_patterns.hpp),
/// network and loss (token_network.hpp), SGD with momentum and coupled weight decay, and the
/// locality metrics loc_k / loc_other_k that say whether the first layer recovered the pattern
/// tokens.
///
/// SGD follows §6 exactly (PyTorch's order): g ← ∇L + wd·θ; buf ← g on the first step,
/// buf ← μ·buf + g afterwards; θ ← θ − lr·buf; constant learning rate, fresh batch each step.
/// A non-finite loss or update stops the run with Status::non_finite and keeps the last
/// finite parameters.
///
/// Seeds: the structure (allowed sets, patterns, embeddings) comes from Rng(structure_seed, 1),
/// the initial weights from Rng(seed, 2) and the batches from Rng(seed, 3); structure_seed
/// defaults to seed. A run is single-threaded and a pure function of its options.

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cldyn/core/status.hpp"
#include "cldyn/data/token_patterns.hpp"
#include "cldyn/models/token_network.hpp"

namespace cldyn {

struct TokenRunOptions {
  data::TokenPatternOptions data;      ///< T, K, P, G, pattern_len, aug_degree, embedding
  double beta = 5.0;                   ///< M = round(β·P) hidden nodes per position, ≥ 1
  int output_dim = 50;                 ///< p
  Activation activation = Activation::relu();
  bool batch_norm = true;
  bool bn_grad_mean = true;
  bool bn_grad_var = false;
  bool bias = false;
  bool output_activation = false;
  TokenLossOptions loss;               ///< InfoNCE, τ = 0.1
  double learning_rate = 0.02;         ///< > 0
  double momentum = 0.9;               ///< [0, 1)
  double weight_decay = 0.005;         ///< ≥ 0
  int batch_size = 128;                ///< ≥ 2
  int steps = 5000;                    ///< ≥ 1
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> structure_seed;  ///< defaults to seed
  bool double_precision = false;       ///< float (default, as the reference) or double
  int log_every = 50;                  ///< loss-curve resolution in steps, ≥ 1

  /// Throws std::invalid_argument naming the parameter, its value and the constraint.
  void validate() const;
  int hidden_per_position() const;
  TokenNetworkOptions network() const;
};

/// Locality of the first layer (theory §6). For position k, with Wk = W_k·E (M × T),
///   score(t) = max_u Wk[u,t] / (‖Wk[u,:]‖ + max(max|Wk|/1000, 1e-6))
/// (|Wk[u,t]| in the numerator for linear activation, whose sign is arbitrary).
/// loc_k = mean score over the tokens some pattern fixes at k; loc_other_k = mean over the
/// other tokens. loc_all / loc_other_all average over the positions where the set is non-empty.
struct TokenLocality {
  struct Entry {
    int position = 0, token = 0;
    bool in_pattern = false;
    double score = 0.0;
    int unit = 0;  ///< the hidden unit (0…M−1) attaining the max
  };
  std::vector<std::optional<double>> loc, loc_other;  ///< per position; empty set → nullopt
  double loc_all = 0.0, loc_other_all = 0.0;
  std::vector<Entry> table;  ///< every (position, token), position-major
};

/// Computes TokenLocality from the stacked effective first layer (K·M × T, rows k·M…k·M+M−1
/// are Wk). Throws std::invalid_argument on shape mismatch or a token index outside 0…T−1.
TokenLocality token_locality(const Eigen::Ref<const Eigen::MatrixXd>& effective_first_layer,
                             int num_positions,
                             const std::vector<std::vector<int>>& pattern_tokens,
                             bool absolute);

struct TokenRunResult {
  Status status = Status::success;  ///< success, non_finite or stopped_by_callback
  int steps_completed = 0;
  double final_loss = 0.0;          ///< mean batch loss over the last min(100, steps) steps
  std::vector<std::pair<int, double>> loss_curve;  ///< (step, mean loss over the window)
  TokenLocality locality;           ///< of the last finite parameters
  Eigen::MatrixXd effective_first_layer;  ///< K·M × T
};

/// Runs one training. `progress(step)` (optional) is called every log_every steps; returning
/// false stops the run (Status::stopped_by_callback).
TokenRunResult run_token_patterns(const TokenRunOptions& options,
                                  const std::function<bool(int)>& progress = {});

}  // namespace cldyn
