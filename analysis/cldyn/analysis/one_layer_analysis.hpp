#pragma once
/// \file one_layer_analysis.hpp
/// Everything cldyn-analyze reports about a one-layer network at W (theory §1–§3), with α = α(W)
/// produced a block of rows at a time and consumed at once, so that no N × N matrix is ever
/// held: memory O(b·N + N·(d + K) + K·d²) for blocks of b rows, instead of the N² doubles of α
/// (3.2 GB at N = 20 000).
///
/// With F = h(XW), F' = h(X'W) (N × K), Δ = F − F', gates H = h'(XW), H' = h'(X'W), and for node
/// k: a = X̃_k = diag(H_k)·X, a' = X̃'_k, Δa = a − a', u = F_k, δ = u − u'_k, the quantities are
///
///   loss              L = Σ_i (d²_i + τ·log Z_i)                      (InfoNCE, theory §2)
///   energy            E = [Σ_ij α_ij ‖f_i − f_j‖² − Σ_i r_i‖Δ_i‖²] / (4N²) = ½ tr C_α[f]
///   input_covariance  C_α[x] = [Xᵀ diag(r + c) X − M − Mᵀ − (X − X')ᵀ diag(r) (X − X')] / (2N²),
///                     M = Xᵀ α X
///   gated_covariance  A(w_k) = C_α[x̃_k] = [aᵀ diag(r + c) a − M_k − M_kᵀ − Δaᵀ diag(r) Δa] /
///   (2N²),
///                     M_k = aᵀ α a
///   energy_gradient   back-propagation of ∂E/∂F = (L_α F − R Δ)/(2N²), ∂E/∂F' = R Δ/(2N²)
///   loss_gradient     back-propagation of ∂L/∂F = (1 − p⁺)∘Δ − (r + c)∘F + αF + αᵀF,
///                     ∂L/∂F' = −(1 − p⁺)∘Δ
///   loss_hessian      (analysis::loss_hessian, gates constant, α differentiated)
///                     Δaᵀ diag(1 − p⁺) Δa − aᵀ L_p a
///                     + (1/τ)·[aᵀ L_β a + Δaᵀ diag(p⁺δ²) Δa − mᵀm]
///                     with q = p∘du, β = q∘du (du_ij = u_i − u_j), L_β = diag(β1 + βᵀ1) − β − βᵀ
///                     and the rows m_i = (q1)_i a_i − (q a)_i + p⁺_i δ_i Δa_i.
///
/// Every term is a sum over rows i, so for each block I of rows the block α_I (b × N) gives the
/// products α_I X, α_I F, α_Iᵀ F_I and, per node, (α_I∘H_kᵀ) X, (q_I∘H_kᵀ) X, (β_I∘H_kᵀ) X, whose
/// contributions (X_Iᵀ(α_I X), a_Iᵀ(…), m_Iᵀm_I, the column sums c and βᵀ1) are added up over
/// the blocks; the diagonal forms Xᵀ diag(v) X are formed at the end, when every column sum is
/// complete. α is computed by the library's own InfoNCE row blocks (detail/infonce_blocks.hpp,
/// cut at the same rows as Loss::pairwise_importance), so the α handed to alpha_sink, r, c, p⁺,
/// log Z and the loss value are bitwise those of Loss::evaluate whatever block_rows is; the
/// accumulated products agree with the dense functions up to rounding.
///
/// For the quadratic loss (α_ij = 1) every quantity has a closed form of cost O(N·d²) (the
/// uniform α of PairwiseImportance): the dense functions are called as they are.
///
/// Parallelism: within each block, the nodes (and C_α[x]) are independent tasks spread over the
/// OpenMP threads; every accumulator belongs to one task and is summed in block order, so the
/// results are bit-identical at any thread count.

#include <Eigen/Core>
#include <functional>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/models/one_layer.hpp"

namespace cldyn::analysis {

struct OneLayerAnalysisOptions {
  bool gated_covariance = true;  ///< A(w_k) for every k
  bool hessian = true;           ///< loss Hessians (α differentiated, gates constant)
  Eigen::Index block_rows = 0;   ///< 0: default (~64 MiB of α per block)
  /// Called with consecutive row blocks of α (rows [row0, row0 + rows.rows()), all N columns),
  /// in order, exactly once per row; may be empty (then α rows are not materialised beyond a
  /// block).
  std::function<void(Eigen::Index row0, const Eigen::Ref<const Eigen::MatrixXd>& rows)> alpha_sink;
  /// Progress in [0, 1], called from the calling thread only (may be empty).
  std::function<void(double)> progress;
};

struct OneLayerAnalysis {
  double loss = 0, energy = 0;
  Eigen::MatrixXd input_covariance;                ///< d × d, C_α[x]
  std::vector<Eigen::MatrixXd> gated_covariance;   ///< K × (d × d), A(w_k) (empty if not asked)
  Eigen::MatrixXd energy_gradient, loss_gradient;  ///< d × K
  std::vector<Eigen::MatrixXd> loss_hessian;       ///< K × (d × d) (empty if not asked)
};

/// Everything cldyn-analyze reports, at W with α = α(W), in O(block·N + N(d + K) + K d²) memory.
/// Each field equals, up to rounding, its dense counterpart: Loss::evaluate(F, F').value,
/// net.energy(batch, α), input_covariance(batch, α), frozen_alpha_jacobian(net, batch, α, k),
/// net.energy_gradient(batch, α), net.loss_gradient(batch, loss), loss_hessian(net, batch,
/// loss, k). Throws std::invalid_argument for an invalid batch, batch.dim() ≠ net.input_dim(),
/// block_rows < 0 (and whatever the loss throws for overflowing outputs).
OneLayerAnalysis analyze_one_layer(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                   const Loss& loss, const OneLayerAnalysisOptions& options = {});

/// Rows per block analyze_one_layer uses for N samples: block_rows clamped to [1, N], or for
/// block_rows = 0 about 64 MiB of α (at least 64 rows, a whole number of the library's own
/// InfoNCE blocks). Throws std::invalid_argument for N < 1 or block_rows < 0.
Eigen::Index one_layer_analysis_block_rows(Eigen::Index n, Eigen::Index block_rows);

/// Peak bytes analyze_one_layer needs (for the tool's up-front memory refusal) for the
/// InfoNCE loss (an upper bound for the quadratic one), at the current OpenMP thread count:
/// its own buffers, not the network and batch the caller already holds. Throws
/// std::invalid_argument unless n ≥ 2, d ≥ 1, k ≥ 1 and options.block_rows ≥ 0.
double analyze_one_layer_peak_bytes(Eigen::Index n, Eigen::Index d, Eigen::Index k,
                                    const OneLayerAnalysisOptions& options);

}  // namespace cldyn::analysis
