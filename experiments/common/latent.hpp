#pragma once
/// \file latent.hpp
/// Shared pieces of the one-layer checks on the latent model (theory §4): the model's flags,
/// and the JSON/verdict description of a fixed point with its stability.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <initializer_list>
#include <vector>

#include "cldyn/analysis/analysis.hpp"

namespace cldyn::experiments {

class Check;
class OptionSet;

/// Flags of the latent model: --d, --L, --sigma, --p (weights, normalised), --pattern-seed.
struct LatentFlags {
  Eigen::Index d = 20;
  Eigen::Index L = 5;
  double sigma = 0.2;
  std::vector<double> weights = {0.2, 0.3, 0.4, 0.5, 0.6};
  std::uint64_t pattern_seed = 0;  ///< 0: derive from --seed

  /// Adds the flags to the check's options and registers validate() with it, so that a
  /// model the flags cannot describe is a usage error before anything is printed.
  void add_to(Check& check);
  /// The same flags in a check's OptionSet (common/shape.hpp), with their "params" keys (d, L,
  /// sigma, p_weights, p: the normalised weights, pattern_seed). validate() is the Options' job.
  void describe(OptionSet& options);
  /// Throws std::invalid_argument, naming the flag, unless the flags describe a model: as many
  /// --p weights as --L, weights with a positive finite sum, L <= d (orthonormal patterns).
  void validate() const;
  /// Options of the given mode (probabilities = weights normalised to sum 1; both modes).
  data::LatentModelOptions options(data::LatentMode mode) const;
  /// The model with orthonormal patterns drawn from pattern_seed (or `seed` when 0).
  data::LatentModel model(data::LatentMode mode, std::uint64_t seed) const;
  nlohmann::json params() const;
};

/// Records the named fields of a fixed-point search's options ("step", "tolerance",
/// "max_iterations", "dedup_cosine", "stall_window") as params "fixed_point/<field>".
void record_fixed_point(OptionSet& o, const analysis::FixedPointOptions& fp,
                        std::initializer_list<const char*> fields);

/// Best pattern for a unit vector w: index and cosine (|cos| when sign_symmetric).
struct PatternMatch {
  Eigen::Index index = -1;
  double cosine = 0.0;
};
PatternMatch best_pattern(const Eigen::MatrixXd& patterns, const Eigen::VectorXd& w,
                          bool sign_symmetric);

/// JSON description of a fixed point: vector, basin, λ, residual, energy, best pattern and
/// cosine, verdict, tangent eigenvalues, A(w*) eigengap, remainder norm, FD agreement.
nlohmann::json fixed_point_json(const analysis::FixedPoint& fp,
                                const analysis::StabilityResult& st, const PatternMatch& match);

}  // namespace cldyn::experiments
