#pragma once
/// \file one_layer.hpp
/// One-layer network with homogeneous activation (theory §3): f_k(x) = h(w_kᵀx), k = 1..K,
/// W = [w_1 … w_K] ∈ R^{d×K}. Gated input x̃_k = h'(w_kᵀx)·x, so f_k = w_kᵀx̃_k.
///
/// Identity B: with α frozen and gates constant (exact almost everywhere),
///   ∇_{w_k} E_α = C_α[x̃_k, f_k] = A(w_k)·w_k,   A(w) := C_α[x̃_w].

#include <Eigen/Core>

#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn {

class OneLayerNetwork {
 public:
  /// W is d × K with d ≥ 1, K ≥ 1 and finite entries.
  OneLayerNetwork(Eigen::MatrixXd weights, Activation activation);
  /// K unit-norm columns drawn uniformly on the sphere S^{d−1} from rng.
  static OneLayerNetwork random(Eigen::Index d, Eigen::Index k, Activation activation, Rng& rng);

  Eigen::Index input_dim() const { return w_.rows(); }
  Eigen::Index width() const { return w_.cols(); }
  const Eigen::MatrixXd& weights() const { return w_; }
  /// Replaces W (same shape, finite).
  void set_weights(const Eigen::Ref<const Eigen::MatrixXd>& weights);
  const Activation& activation() const { return act_; }

  /// F = h(X·W), N × K.
  Eigen::MatrixXd forward(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// Gates h'(X·W), N × K.
  Eigen::MatrixXd gates(const Eigen::Ref<const Eigen::MatrixXd>& x) const;
  /// Gated input of node k: X̃_k = diag(h'(X·w_k))·X, N × d.
  Eigen::MatrixXd gated_input(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index k) const;

  /// E_α(W) = ½ tr C_α[f] on the batch.
  double energy(const TwoViewBatch& batch, const PairwiseImportance& alpha) const;
  /// ∇_W E_α with α frozen (d × K): column k is C_α[x̃_k, f_k] = A(w_k)·w_k, computed without
  /// forming A: G = 1/(2N²)·[Xᵀ(H∘(L_α F − R Δ)) + X'ᵀ(H'∘(R Δ))], Δ = F − F', R = diag(r);
  /// cost O(N²K + NdK).
  Eigen::MatrixXd energy_gradient(const TwoViewBatch& batch, const PairwiseImportance& alpha) const;
  /// Chain rule through the network: ∂/∂W of Σ (dF ∘ F + dF' ∘ F'), gates constant (d × K).
  Eigen::MatrixXd backpropagate(const TwoViewBatch& batch,
                                const Eigen::Ref<const Eigen::MatrixXd>& d_f,
                                const Eigen::Ref<const Eigen::MatrixXd>& d_f_prime) const;
  /// ∇_W L of a loss with α differentiated (d × K); Identity A: equals −2N²·energy_gradient.
  Eigen::MatrixXd loss_gradient(const TwoViewBatch& batch, const Loss& loss) const;

 private:
  void require_batch(const TwoViewBatch& batch, const char* where) const;
  Eigen::MatrixXd w_;
  Activation act_;
};

}  // namespace cldyn
