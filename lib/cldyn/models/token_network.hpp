#pragma once
/// \file token_network.hpp
/// The network of the paper's token-pattern simulation (theory §6) and its loss, forward and
/// backward, in float (the speed the experiment needs) or double (finite-difference tests).
///
///   input     token t_k at each of K positions, embedded as x_k = E[:, t_k] ∈ R^{d_e}
///   layer 1   u_k = W_k x_k (+ b_k), W_k ∈ R^{M×d_e} unshared per position; h = act(u) ∈ R^{K·M}
///   BN        optional, without affine parameters: ĥ = (h − μ)/√(σ² + bn_epsilon) per hidden
///             unit, with biased variance over the batch, statistics per view; switches for
///             whether the gradient flows through μ and through σ²
///   layer 2   z = V ĥ, V ∈ R^{p×K·M}, no bias (optionally z ← act(z)); y = z / max(‖z‖, 1e-12)
///   loss      S_ij = y_i·y_j over view 1 (negatives from view 1), S_ii = y_i·y'_i;
///             InfoNCE: mean over rows i of cross-entropy of S_i·/τ with target i;
///             quadratic (uniform α): mean over rows of (mean_{j≠i} S_ij − S_ii)/τ.
///
/// Layer 1 never multiplies a one-hot matrix: with Q = W·E (K·M × T; Q = W when E = I) the
/// pre-activation of a sample is a gather of columns of Q, and the gradient of Q a scatter-add.

#include <Eigen/Core>
#include <vector>

#include "cldyn/core/activation.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/data/token_patterns.hpp"

namespace cldyn {

enum class TokenLoss { infonce, quadratic };

struct TokenLossOptions {
  TokenLoss kind = TokenLoss::infonce;
  double tau = 0.1;  ///< InfoNCE temperature τ > 0, finite
};

struct TokenNetworkOptions {
  int num_positions = 10;        ///< K ≥ 1
  int hidden_per_position = 25;  ///< M ≥ 1
  int output_dim = 50;           ///< p ≥ 1
  Activation activation = Activation::relu();
  bool batch_norm = true;
  bool bn_grad_mean = true;   ///< back-propagate through the batch mean
  bool bn_grad_var = false;   ///< back-propagate through the batch variance
  double bn_epsilon = 1e-5;   ///< batch norm's ε > 0
  bool bias = false;          ///< hidden-layer bias b ∈ R^{K·M}
  bool output_activation = false;  ///< z ← act(z) before the ℓ2 normalisation

  void validate() const;
  int hidden() const { return num_positions * hidden_per_position; }
};

/// Parameters (or gradients of the same shapes).
template <class S>
struct TokenParameters {
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  Mat W;  ///< K·M × d_e, rows k·M … k·M+M−1 are W_k
  Vec b;  ///< K·M (empty without bias)
  Mat V;  ///< p × K·M
};

/// Batch normalisation without affine parameters over the columns of H (units × batch):
/// out = (H − μ)/√(σ² + bn_epsilon), μ and σ² (biased) per row. `out` (same shape as H) and
/// `inv_std` (one entry per row) must be sized by the caller; inv_std receives
/// 1/√(σ² + bn_epsilon).
template <class S>
void batch_norm_forward(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& h,
                        S bn_epsilon,
                        Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> out,
                        Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, 1>> inv_std);

/// Gradient of batch_norm_forward: given d(out), `out` and `inv_std` from the forward pass,
///   dH = inv_std · ( dout − [grad_mean]·mean_row(dout) − [grad_var]·out·mean_row(dout ⊙ out) ).
/// With grad_mean = false μ is treated as a constant, with grad_var = false σ² is. `dh` must be
/// sized by the caller.
template <class S>
void batch_norm_backward(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& dout,
                         const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& out,
                         const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, 1>>& inv_std,
                         bool grad_mean, bool grad_var,
                         Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> dh);

template <class S>
class TokenNetwork {
 public:
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;

  /// `embedding` is E (d_e × T). Weights are initialised U(−1/√fan_in, 1/√fan_in) from
  /// `init_rng` (fan_in d_e for W and b, K·M for V), W first, then b, then V, column-major.
  TokenNetwork(const TokenNetworkOptions& options, const Eigen::MatrixXd& embedding, Rng& init_rng);

  const TokenNetworkOptions& options() const { return options_; }
  const TokenParameters<S>& parameters() const { return params_; }
  TokenParameters<S>& parameters() { return params_; }
  int input_dim() const { return static_cast<int>(embedding_.rows()); }
  int num_tokens() const { return static_cast<int>(embedding_.cols()); }

  /// Loss of a two-view batch (B ≥ 2). When `grad` is non-null it receives the gradient of the
  /// loss with respect to every parameter (resized as needed).
  S loss(const data::TokenBatch& batch, const TokenLossOptions& loss_options,
         TokenParameters<S>* grad);

  /// W_k·E for every position, stacked: K·M × T (double), the matrix the locality metric reads.
  Eigen::MatrixXd effective_first_layer() const;

 private:
  void validate_batch(const data::TokenBatch& batch) const;

  TokenNetworkOptions options_;
  Mat embedding_;
  bool identity_ = false;
  TokenParameters<S> params_;
  // Workspace, reused across calls (sized on first use).
  Mat q_, u_, h_, hn_, z_, y_, sim_, gsim_, dy_, dz_, dhn_, dh_, dq_;
  Vec inv_std_[2], norm_;
};

extern template class TokenNetwork<float>;
extern template class TokenNetwork<double>;

}  // namespace cldyn
