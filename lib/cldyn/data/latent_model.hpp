#pragma once
/// \file latent_model.hpp
/// The latent data model of the one-layer experiments (theory §4).
///
/// Patterns u_1 … u_L ∈ R^d (columns of the d × L matrix P; by default orthonormal, the first
/// L columns of a Haar-random orthogonal matrix, i.e. a random rotation of e_1 … e_L). A latent
/// z ∈ {0,1}^L is drawn in one of two modes:
///   - mixture (default): exactly one z_l = 1, with probability p_l (Σ_l p_l = 1);
///   - summation: independent z_l ~ Bernoulli(p_l).
/// Base sample x0 = Σ_l z_l·a_l·u_l (amplitudes a_l, default 1); two views
///   x = x0 + σ·ξ,  x' = x0 + σ·ξ',  ξ, ξ' ~ N(0, I_d) independent, σ > 0.
/// x0 has a finite support (L points for the mixture, 2^L for the summation), which support()
/// enumerates with its probabilities: the exact population quantities of theory §4 are finite
/// sums over it (cldyn/analysis/population.hpp).

#include <Eigen/Core>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn::data {

/// How the latent z ∈ {0,1}^L is drawn (theory §4).
enum class LatentMode {
  mixture,    ///< exactly one z_l = 1, with probability p_l (Σ p_l = 1)
  summation,  ///< independent z_l ~ Bernoulli(p_l)
};

/// Stable lower-case name of a mode ("mixture", "summation").
const char* to_string(LatentMode mode);

/// Largest L for which the summation support (2^L points) is enumerated by support().
inline constexpr Eigen::Index kMaxSummationSupportL = 20;

/// Parameters of the latent model. Empty `probabilities` means p_l = 1/L (both modes: in the
/// summation mode this gives one active pattern on average, like the mixture); empty
/// `amplitudes` means a_l = 1.
struct LatentModelOptions {
  Eigen::Index d = 20;  ///< input dimension, d ≥ 1
  Eigen::Index L = 5;   ///< number of patterns, L ≥ 1 (L ≤ d for random orthonormal patterns)
  /// p_l, size L, each in [0, 1]; mixture: Σ p_l = 1 within 1e-12·L (normalise weights with
  /// normalise_probabilities()). Empty: p_l = 1/L.
  std::vector<double> probabilities;
  /// a_l, size L, finite. Empty: a_l = 1.
  std::vector<double> amplitudes;
  double sigma = 0.2;                   ///< augmentation noise σ > 0, finite
  LatentMode mode = LatentMode::mixture;

  /// Throws std::invalid_argument naming the parameter, its value and the constraint unless
  /// d ≥ 1, L ≥ 1, probabilities (if given) have size L with entries in [0, 1] (mixture: summing
  /// to 1 within 1e-12·L), amplitudes (if given) have size L and are finite, σ > 0 is finite.
  void validate() const;

  /// p_l with the default filled in (size L). Call after validate().
  std::vector<double> resolved_probabilities() const;
  /// a_l with the default filled in (size L). Call after validate().
  std::vector<double> resolved_amplitudes() const;
};

/// Normalises nonnegative finite weights w_l to probabilities p_l = w_l / Σ_k w_k (e.g. the
/// reference p = 0.2, 0.3, 0.4, 0.5, 0.6 "normalised" of theory §4). Throws
/// std::invalid_argument unless the weights are nonempty, finite, ≥ 0, with a positive sum.
std::vector<double> normalise_probabilities(std::vector<double> weights);

/// One point of the finite support of x0, with its probability.
struct SupportPoint {
  Eigen::VectorXd x0;        ///< the base sample x0 = Σ_l z_l a_l u_l (length d)
  double probability = 0.0;  ///< P(x0 = this point's latent), in [0, 1]
};

/// A batch from LatentModel::sample_with_latents, with the latent variables that produced it.
struct LatentSample {
  TwoViewBatch batch;  ///< views x[i] = x0[i] + σξ[i], x'[i] = x0[i] + σξ'[i] (N × d each)
  Eigen::MatrixXd x0;  ///< N × d, base samples x0[i]
  Eigen::MatrixXi z;   ///< N × L, latents z[i] ∈ {0,1}^L
  /// Index of each sample's latent in the enumeration of LatentModel::support(): the chosen l
  /// (mixture), or Σ_l z_l·2^l (summation). Empty for the summation mode with L > 20, whose
  /// support is not enumerated.
  std::vector<std::size_t> support_index;
};

/// The latent model of theory §4 with fixed patterns.
class LatentModel {
 public:
  /// Random orthonormal patterns from `rng`: P = first L columns of Q, where Q·R is the QR
  /// factorisation of a d × L standard Gaussian matrix and the signs are fixed so that
  /// diag(R) > 0 — the first L columns of a Haar-random orthogonal d × d matrix. Requires
  /// L ≤ d (besides options.validate()).
  LatentModel(LatentModelOptions options, Rng& rng);
  /// As above with a fresh Rng(seed).
  LatentModel(LatentModelOptions options, std::uint64_t seed);
  /// User-given patterns: d × L (options.d × options.L), finite; column l is u_l. They need
  /// not be orthonormal (and L may then exceed d).
  LatentModel(LatentModelOptions options, const Eigen::Ref<const Eigen::MatrixXd>& patterns);

  /// The options, with probabilities and amplitudes resolved (size L).
  const LatentModelOptions& options() const { return options_; }
  /// d × L, column l = u_l.
  const Eigen::MatrixXd& patterns() const { return patterns_; }
  Eigen::Index dim() const { return options_.d; }
  Eigen::Index num_patterns() const { return options_.L; }
  double sigma() const { return options_.sigma; }
  LatentMode mode() const { return options_.mode; }

  /// N two-view samples (N ≥ 1): x0[i] = Σ_l z_l a_l u_l with z drawn per mode, then
  /// x = x0 + σξ, x' = x0 + σξ' (rows; N × d each). Same draws as sample_with_latents.
  TwoViewBatch sample(Eigen::Index n, Rng& rng) const;
  /// As sample(), also returning x0, z and the support index of every sample. The draws are
  /// made in this order: all N latents (mixture: one uniform each; summation: L uniforms each,
  /// l = 0..L−1), then X's noise, then X''s noise (each column by column, Rng::normal_matrix).
  LatentSample sample_with_latents(Eigen::Index n, Rng& rng) const;

  /// Number of support points: L (mixture) or 2^L (summation; throws for L > 20).
  std::size_t support_size() const;
  /// The exact finite support of x0 with its probabilities (they sum to 1 up to rounding).
  /// Mixture: L points, point l = a_l u_l with probability p_l. Summation: 2^L points, point
  /// k (bits z_l = (k >> l) & 1, l = 0..L−1; k = 0 is the all-zero latent, x0 = 0) with
  /// probability Π_l p_l^{z_l}(1 − p_l)^{1−z_l}. Points of probability 0 are kept.
  /// Summation with L > 20 throws std::invalid_argument (2^L support points would be too many).
  std::vector<SupportPoint> support() const;

 private:
  void init_random_patterns(Rng& rng);
  void resolve_defaults();
  LatentModelOptions options_;
  Eigen::MatrixXd patterns_;
};

}  // namespace cldyn::data
