#pragma once
/// \file streaming.hpp
/// Contrastive covariance for InfoNCE α without ever forming α (theory §1–§2): α is produced a
/// block of rows at a time from the outputs F, F' and consumed at once, so memory is
/// O(N·(p + d) + block_rows·N + d²) instead of O(N²) (N = 65536 would need 32 GiB for α alone).

#include <Eigen/Core>

namespace cldyn {

/// C_α[x] (d × d, symmetric) for α = the InfoNCE α(F) of Loss::infonce(tau, eps) at outputs
/// F, F' (N × p), with X, X' (N × d). Equal, up to rounding, to
///   contrastive_covariance(Loss::infonce(tau, eps).pairwise_importance(F, F'), X, X').
/// For each block I of rows: α_I (block_rows × N, with each row's full log-sum-exp), r_I, the
/// column sums c += α_Iᵀ1, and M += X_Iᵀ(α_I X) (so M = Xᵀ α X and Xᵀ αᵀ X = Mᵀ); then
///   C = 1/(2N²) [ Xᵀ diag(r + c) X − M − Mᵀ − (X − X')ᵀ diag(r) (X − X') ].
/// Cost: N²·(2p + 2d) + O(N·d²) flops, N² exponentials. block_rows = 0 picks a default (about
/// 64 MiB of α per block, at least 64 rows); any block_rows ≥ 1 is allowed (clamped to N).
/// Throws std::invalid_argument on bad shapes, non-finite inputs, τ ≤ 0, ε < 0 or
/// block_rows < 0.
Eigen::MatrixXd contrastive_covariance_infonce_streamed(
    const Eigen::Ref<const Eigen::MatrixXd>& f, const Eigen::Ref<const Eigen::MatrixXd>& f_prime,
    const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& x_prime,
    double tau, double eps = 1.0, Eigen::Index block_rows = 0);

}  // namespace cldyn
