#pragma once
/// \file two_layer.hpp
/// Two-layer network with non-overlapping receptive fields (theory §5).
///
/// The input x ∈ R^d is split into K receptive fields (RFs) x = [x_1; …; x_K], x_k ∈ R^{d_k},
/// Σ_k d_k = d. RF k has M hidden nodes f_{km} = h(w_{km}ᵀ x_k), each with its own filter
/// w_{km} ∈ R^{d_k}; the filters of RF k are the columns of W_k ∈ R^{d_k × M}. The hidden layer
/// f_1 ∈ R^{KM} stacks the nodes RF-major, a = (k, m) ↦ k·M + m, and the output is f = V f_1
/// with V ∈ R^{p × KM}. Gated input of node a = (k, m): x̃_a = h'(w_aᵀ x_k)·x_k (N × d_k per view).
///
/// Identity C (α frozen, gates constant — exact almost everywhere):
///
///   E = ½ tr C_α[f] = ½ tr(V C_α[f_1] Vᵀ),
///   ∇_{w_a} E = Σ_b (VᵀV)_{ab} · C_α[x̃_a, x̃_b] · w_b,     ∇_V E = V · C_α[f_1].
///
/// The gradients are computed by back-propagation of ∂E/∂F and ∂E/∂F' (no per-pair covariance
/// is formed): with Δ = F − F', R = diag(r), L_α = diag(r + c) − α − αᵀ,
///
///   ∂E/∂F = (L_α F − R Δ)/(2N²),   ∂E/∂F' = R Δ/(2N²),
///   ∂E/∂F_1 = (∂E/∂F)·V,  ∇_V E = (∂E/∂F)ᵀ F_1 + (∂E/∂F')ᵀ F_1',
///   ∇_{W_k} E = X_kᵀ (H_k ∘ (∂E/∂F_1)_k) + X_k'ᵀ (H_k' ∘ (∂E/∂F_1')_k),
///
/// where X_k are the columns of RF k, H_k = h'(X_k W_k) the gates (N × M) and (·)_k the M
/// hidden columns of RF k. Cost O(N²p + N·d·M + N·K·M·p) per gradient (O(N·(d·M + K·M·p)) for
/// a uniform α).

#include <Eigen/Core>
#include <vector>

#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn {

/// Gradient (or any parameter-shaped quantity) of a TwoLayerNetwork.
struct TwoLayerGradient {
  std::vector<Eigen::MatrixXd> filters;  ///< K matrices, d_k × M: ∂/∂W_k
  Eigen::MatrixXd top;                   ///< p × KM: ∂/∂V
};

class TwoLayerNetwork {
 public:
  /// filters: K ≥ 1 matrices W_k (d_k × M, d_k ≥ 1, the same M ≥ 1 for all k, finite);
  /// top: V, p × KM with p ≥ 1, finite. The RF sizes are the row counts of the W_k.
  TwoLayerNetwork(std::vector<Eigen::MatrixXd> filters, Eigen::MatrixXd top, Activation activation);
  /// RF sizes d_k (K ≥ 1 entries, each ≥ 1), M ≥ 1 nodes per RF, output dimension p ≥ 1.
  /// Filters: unit-norm columns drawn uniformly on S^{d_k − 1}; V: i.i.d. N(0, 1) entries, then
  /// every row scaled to unit norm. Draws W_0 … W_{K−1} (column by column), then V, from rng.
  static TwoLayerNetwork random(const std::vector<Eigen::Index>& rf_sizes, Eigen::Index m,
                                Eigen::Index p, Activation activation, Rng& rng);
  /// Checks that RF sizes are ≥ 1 and sum to `d`; throws std::invalid_argument naming the
  /// offending size or the sum otherwise (used by callers that split a d-dimensional input).
  static void validate_rf_sizes(const std::vector<Eigen::Index>& rf_sizes, Eigen::Index d,
                                const char* where);

  Eigen::Index input_dim() const { return d_; }
  Eigen::Index num_fields() const { return static_cast<Eigen::Index>(w_.size()); }
  Eigen::Index nodes_per_field() const { return w_.front().cols(); }
  Eigen::Index hidden_dim() const { return num_fields() * nodes_per_field(); }
  Eigen::Index output_dim() const { return v_.rows(); }
  /// d_k and the first input column of RF k.
  Eigen::Index field_size(Eigen::Index k) const;
  Eigen::Index field_offset(Eigen::Index k) const;
  const std::vector<Eigen::Index>& field_sizes() const { return sizes_; }
  /// Hidden index of node (k, m): k·M + m.
  Eigen::Index hidden_index(Eigen::Index k, Eigen::Index m) const { return k * nodes_per_field() + m; }

  const std::vector<Eigen::MatrixXd>& filters() const { return w_; }
  const Eigen::MatrixXd& filters(Eigen::Index k) const;
  const Eigen::MatrixXd& top() const { return v_; }
  const Activation& activation() const { return act_; }
  /// Replace W_k / all filters / V (same shapes, finite).
  void set_filters(Eigen::Index k, const Eigen::Ref<const Eigen::MatrixXd>& w);
  void set_filters(const std::vector<Eigen::MatrixXd>& filters);
  void set_top(const Eigen::Ref<const Eigen::MatrixXd>& v);

  /// Hidden pre-activations U (N × KM): column k·M + m is X_k w_{km}.
  Eigen::MatrixXd preactivation(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// F_1 = h(U), N × KM.
  Eigen::MatrixXd hidden(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// Gates h'(U), N × KM.
  Eigen::MatrixXd gates(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// F = F_1 Vᵀ, N × p.
  Eigen::MatrixXd forward(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// Gated input of node (k, m): X̃ = diag(h'(X_k w_{km}))·X_k, N × d_k.
  Eigen::MatrixXd gated_input(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index k,
                              Eigen::Index m) const;

  /// E_α = ½ tr C_α[f] on the batch.
  double energy(const TwoViewBatch& batch, const PairwiseImportance& alpha) const;
  /// ∇E_α with α frozen (Identity C), by back-propagation (see the file comment).
  TwoLayerGradient energy_gradient(const TwoViewBatch& batch, const PairwiseImportance& alpha) const;
  /// Chain rule through V and the gates: ∂/∂θ of Σ (dF ∘ F + dF' ∘ F'), gates constant.
  /// dF, dF' are N × p.
  TwoLayerGradient backpropagate(const TwoViewBatch& batch,
                                 const Eigen::Ref<const Eigen::MatrixXd>& d_f,
                                 const Eigen::Ref<const Eigen::MatrixXd>& d_f_prime) const;
  /// ∇L of a loss with α differentiated; Identity A: equals −2N²·energy_gradient at α(θ).
  TwoLayerGradient loss_gradient(const TwoViewBatch& batch, const Loss& loss) const;

 private:
  void require_batch(const TwoViewBatch& batch, const char* where) const;
  void require_input(const Eigen::Ref<const Eigen::MatrixXd>& x, const char* where) const;
  std::vector<Eigen::MatrixXd> w_;
  Eigen::MatrixXd v_;
  Activation act_;
  std::vector<Eigen::Index> sizes_, offsets_;
  Eigen::Index d_ = 0;
};

}  // namespace cldyn
