#pragma once
/// \file detail/infonce_blocks.hpp
/// Internal (not part of the public API): the InfoNCE softmax of theory §2 evaluated a block of
/// rows at a time, so that α can be produced without ever holding N×N distances (and, when the
/// caller consumes each block at once, without ever holding α: cldyn/core/streaming.hpp).
///
/// For rows I = [i0, i0+b) the kernel computes G_I = F_I·Fᵀ (one b×N×p product into a b×N
/// buffer that stays in cache), the distances d²_ij = max(((−G_ij) + ½‖f_i‖²) + ½‖f_j‖², 0)
/// (the same expression, in the same order, as cldyn::pairwise_squared_distances), the logits
/// l_ij = −d²_ij·(1/τ) (a multiplication, within 1 ulp of −d²_ij/τ; l_ii = −∞) and
/// l⁺_i = log ε − d²_i/τ, the per-row shift m_i = max(l⁺_i, max_{j≠i} l_ij), and
/// α_ij = e^{l_ij−m_i}/Z_i with Z_i = e^{l⁺_i−m_i} + Σ_j e^{l_ij−m_i} (summed in the order
/// j = 0…N−1 after the positive term). The rows are swept in tiles of 4 packets (16 rows with
/// AVX2) whose shifts and sums stay in registers: pass 1 finds m, pass 2 writes e_ij over G and
/// sums it, pass 3 scales column by column into the destination. The exponentials are
/// vectorised (a Cody–Waite/Taylor exp on SSE2 and AVX2 packets, core/detail/infonce_blocks.cpp;
/// Eigen's pexp elsewhere) for every row, so a row's bits do not depend on where it falls in a
/// block; a shifted logit below −708 gives exactly 0 (std::exp would give a value below 3.3e-308
/// there, possibly subnormal: subnormal α entries carry no information and slow every later
/// product with α). α_ij is e_ij·(1/Z_i) (≤ 1 ulp from e_ij/Z_i).
///
/// Because m_i is one of the logits, e^{l−m} ∈ [0, 1], Z_i ≥ 1 and every α_ij ∈ [0, 1]: the
/// result is finite, nonnegative and has a zero diagonal by construction, which is why the
/// library builds its PairwiseImportance from it without re-validating N² entries. The one
/// input for which this fails — every logit of a row is −∞ (all d²/τ overflow), or some ‖f_i‖²
/// overflows — is rejected with std::invalid_argument.
///
/// Results do not depend on the block size except through the rounding of the b×N×p product
/// (Eigen's kernel may sum a row's dot products in a different order at different positions of
/// a block); every library entry point therefore uses default_block_rows(N) unless told
/// otherwise, so that value(), evaluate(), pairwise_importance() and infonce_softmax() agree
/// bitwise.

#include <Eigen/Core>

namespace cldyn::detail {

class InfoNceRowBlocks {
 public:
  /// F, F' (N × p) must already be validated (same shape, N ≥ 2, p ≥ 1, finite), τ > 0 and
  /// ε ≥ 0 finite. Keeps a reference to F: it must outlive this object. Throws
  /// std::invalid_argument (naming `where`) if some ‖f_i‖² or ‖f_i − f'_i‖² overflows.
  InfoNceRowBlocks(const Eigen::Ref<const Eigen::MatrixXd>& f,
                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau, double eps,
                   const char* where);

  /// Rows per block such that the b × N block of logits takes about 1 MiB (a multiple of 8,
  /// between 8 and N).
  static Eigen::Index default_block_rows(Eigen::Index n);

  Eigen::Index size() const { return n_; }
  /// d²_i = ½‖f_i − f'_i‖² (N).
  const Eigen::VectorXd& d2_pos() const { return d2_pos_; }

  /// Rows [i0, i0 + b) of the softmax. `work` is resized to b × N and used as scratch. The
  /// normalised rows α_I (b × N) are written to `dest` (column stride `dest_stride`), or, if
  /// dest is null, into `work` itself. p_pos, log_z, row_sums: b entries each (row_sums may be null).
  /// col_sums: N entries to which Σ_{i∈I} α_ij is added (may be null). Throws
  /// std::invalid_argument if every logit of some row is −∞.
  void compute(Eigen::Index i0, Eigen::Index b, Eigen::MatrixXd& work, double* dest,
               Eigen::Index dest_stride, double* p_pos, double* log_z, double* row_sums,
               double* col_sums) const;

 private:
  Eigen::Ref<const Eigen::MatrixXd> f_;
  Eigen::Index n_;
  Eigen::VectorXd half_sq_;  // ½‖f_i‖²
  Eigen::VectorXd d2_pos_;   // ½‖f_i − f'_i‖²
  double tau_, eps_, log_eps_;
  const char* where_;
};

}  // namespace cldyn::detail
