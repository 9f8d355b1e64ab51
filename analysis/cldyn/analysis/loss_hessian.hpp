#pragma once
/// \file loss_hessian.hpp
/// Second derivatives of a contrastive loss with respect to one node of a one-layer network
/// (theory §3, "Stability"): the full loss Hessian ∇²_{w_k} L with α differentiated, and the
/// frozen-α Jacobian ∂(∇_{w_k} E_α)/∂w_k = A(w_k). Gates are held constant, which is exact
/// almost everywhere (for ReLU: whenever no sample sits on a gate boundary of w_k).

#include <Eigen/Core>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/models/one_layer.hpp"

namespace cldyn::analysis {

/// ∇²_{w_k} L (d × d, symmetric): the Hessian of the loss (quadratic or InfoNCE, α
/// differentiated) with respect to column k of W, the other columns fixed, gates constant.
///
/// With gates constant f_k = X̃_k w_k and f'_k = X̃'_k w_k (X̃_k, X̃'_k: N × d gated inputs), so
/// ∇²_{w_k} L = Jᵀ H J with J = [X̃_k; X̃'_k] (2N × d) and H the Hessian of L in the output
/// column (f_k, f'_k). Written in w-space, with a_i, a'_i the rows of X̃_k, X̃'_k,
/// Δa_i = a_i − a'_i, u = f_k, δ_i = u_i − u'_i:
///
///   quadratic:  ∇² L_q   = −2N²·A(w_k) = (N−1)·Σ_i Δa_i Δa_iᵀ − 2N·X̃ᵀX̃ + 2·(X̃ᵀ1)(1ᵀX̃)
///   InfoNCE:    ∇² L_nce = −2N²·C_α[x̃_k] + (1/τ)·Σ_i Cov_{p_i}[g_i]
///
/// where α = p are the softmax weights at the current W (all nodes), and Cov_{p_i}[g_i] is the
/// covariance, under row i's softmax distribution (p_ij for j ≠ i, p⁺_i for the positive),
/// of the gradients of the distances in w_k: g_ij = (u_i − u_j)(a_i − a_j), g⁺_i = δ_i·Δa_i.
/// The second term is positive semidefinite: it is what differentiating α adds to the
/// frozen-α Jacobian −2N²·A(w_k). Cost O(N²d + Nd²). Each loss computes its own piece
/// (LossFunction::node_hessian, lib/cldyn/core/loss.cpp); this function forms X̃_k, X̃'_k, F, F'.
///
/// Requires batch.dim() == net.input_dim() and 0 ≤ k < K; throws std::invalid_argument
/// otherwise (and for an invalid batch).
Eigen::MatrixXd loss_hessian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                             const Loss& loss, Eigen::Index k);

/// The frozen-α Jacobian of node k: ∂(∇_{w_k} E_α)/∂w_k with α frozen and gates constant.
/// By Identity B (∇_{w_k} E_α = A(w_k)·w_k with A locally constant) it is the gated covariance
///
///   ∂(∇_{w_k} E_α)/∂w_k = A(w_k) = C_α[x̃_k]   (d × d, symmetric),
///
/// i.e. analysis::gated_covariance(batch, alpha, w_k, activation); this name is the theory's.
/// Requires 0 ≤ k < K and the shapes of gated_covariance; throws std::invalid_argument otherwise.
Eigen::MatrixXd frozen_alpha_jacobian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                      const PairwiseImportance& alpha, Eigen::Index k);

}  // namespace cldyn::analysis
