#pragma once
/// \file class_model.hpp
/// The two-layer class model of theory §5 (global modulation, Claim 7).
///
/// A global class z ∈ {0,1} with P(z = 1) = p_1 (p_0 = 1 − p_1). The input has K non-overlapping
/// receptive fields of sizes d_k. In RF k two orthonormal local patterns u_k, v_k ∈ R^{d_k}:
///   - u_k (discriminative) is present (a_k = 1) with probability q_z, depending on z;
///   - v_k (non-discriminative) is present (b_k = 1) with probability q̄ = p_0 q_0 + p_1 q_1,
///     independent of z — so u_k and v_k have the same marginal presence probability and the
///     same marginal variance.
/// All a_k, b_k are independent given z. Base sample x0_k = a_k u_k + b_k v_k; both views keep
/// the patterns (the augmentation does not change the latents) and add independent Gaussian
/// noise: x = x0 + σξ, x' = x0 + σξ'.
///
/// The joint latent (z, a_1, b_1, …, a_K, b_K) has 2·4^K values; support() enumerates them (with
/// z, so class-conditional population quantities are finite sums) while 2·4^K ≤ 2^20 (K ≤ 9)
/// and refuses larger K with a clear error.

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn::data {

/// Largest number of joint support points support() enumerates.
inline constexpr std::size_t kMaxClassSupport = std::size_t{1} << 20;

struct ClassModelOptions {
  std::vector<Eigen::Index> field_sizes = {6, 6, 6, 6};  ///< d_k ≥ 2 (room for u_k ⊥ v_k), K ≥ 1
  double p1 = 0.5;     ///< P(z = 1) ∈ [0, 1]
  double q0 = 0.1;     ///< P(u_k present | z = 0) ∈ [0, 1]
  double q1 = 0.9;     ///< P(u_k present | z = 1) ∈ [0, 1]
  double sigma = 0.3;  ///< augmentation noise σ > 0, finite

  /// Throws std::invalid_argument naming the parameter, value and constraint.
  void validate() const;
  /// q̄ = p_0 q_0 + p_1 q_1.
  double q_bar() const { return (1.0 - p1) * q0 + p1 * q1; }
};

/// One point of the joint support.
struct ClassSupportPoint {
  Eigen::VectorXd x0;        ///< base sample (length d)
  int z = 0;                 ///< global class
  double probability = 0.0;  ///< P(z, a, b)
};

/// A batch together with the class of every sample.
struct ClassSample {
  TwoViewBatch batch;
  Eigen::VectorXi z;  ///< N classes
};

class ClassModel {
 public:
  /// Random orthonormal u_k, v_k per RF (first two columns of a Haar-random orthogonal d_k × d_k
  /// matrix, via QR of a Gaussian d_k × 2 matrix with diag(R) > 0), drawn RF by RF from rng.
  ClassModel(ClassModelOptions options, Rng& rng);
  ClassModel(ClassModelOptions options, std::uint64_t seed);
  /// User-given patterns: u, v are d × K with column k supported on RF k's coordinates (the
  /// other entries are ignored and set to 0); finite.
  ClassModel(ClassModelOptions options, const Eigen::Ref<const Eigen::MatrixXd>& u,
             const Eigen::Ref<const Eigen::MatrixXd>& v);

  const ClassModelOptions& options() const { return options_; }
  Eigen::Index dim() const { return d_; }
  Eigen::Index num_fields() const { return static_cast<Eigen::Index>(options_.field_sizes.size()); }
  Eigen::Index field_offset(Eigen::Index k) const { return offsets_[static_cast<std::size_t>(k)]; }
  Eigen::Index field_size(Eigen::Index k) const { return options_.field_sizes[static_cast<std::size_t>(k)]; }
  /// d × K: column k is u_k embedded at RF k (zeros elsewhere); likewise v.
  const Eigen::MatrixXd& discriminative() const { return u_; }
  const Eigen::MatrixXd& nondiscriminative() const { return v_; }
  /// u_k / v_k restricted to RF k (length d_k).
  Eigen::VectorXd discriminative(Eigen::Index k) const;
  Eigen::VectorXd nondiscriminative(Eigen::Index k) const;
  double sigma() const { return options_.sigma; }

  /// N ≥ 1 samples: per sample z, then per RF a_k then b_k (uniform draws), then X's noise,
  /// then X''s noise (Rng::normal_matrix).
  ClassSample sample_with_classes(Eigen::Index n, Rng& rng) const;
  TwoViewBatch sample(Eigen::Index n, Rng& rng) const { return sample_with_classes(n, rng).batch; }

  /// 2·4^K; throws std::invalid_argument when it exceeds kMaxClassSupport.
  std::size_t support_size() const;
  /// The exact joint support, index = z + 2·Σ_k (a_k·4^k + b_k·2·4^k); probabilities sum to 1.
  std::vector<ClassSupportPoint> support() const;

 private:
  void init();
  ClassModelOptions options_;
  std::vector<Eigen::Index> offsets_;
  Eigen::Index d_ = 0;
  Eigen::MatrixXd u_, v_;
};

}  // namespace cldyn::data
