#pragma once
/// \file pairwise_importance.hpp
/// Pairwise importance α ∈ R^{N×N} (theory §1): nonnegative, zero diagonal; r = α·1 (row sums),
/// c = αᵀ·1 (column sums). Uniform α (α_ij = a for i ≠ j) is stored without an N×N matrix.

#include <Eigen/Core>

namespace cldyn {

struct InfoNceLoss;

class Loss;

class PairwiseImportance {
 public:
  /// α_ij = value for i ≠ j, 0 on the diagonal (the quadratic loss uses value = 1). n ≥ 2,
  /// value ≥ 0 and finite.
  static PairwiseImportance uniform(Eigen::Index n, double value = 1.0);
  /// A general α: square, n ≥ 2, finite, nonnegative, zero diagonal; otherwise throws
  /// std::invalid_argument naming the offending entry.
  static PairwiseImportance from_matrix(Eigen::MatrixXd alpha);

  Eigen::Index size() const { return n_; }
  bool is_uniform() const { return uniform_; }
  /// The off-diagonal value of a uniform α (meaningless for a general α).
  double uniform_value() const { return value_; }

  /// r = α·1 (N).
  const Eigen::VectorXd& row_sums() const { return r_; }
  /// c = αᵀ·1 (N).
  const Eigen::VectorXd& col_sums() const { return c_; }

  /// α_ij.
  double operator()(Eigen::Index i, Eigen::Index j) const;
  /// The dense N × N matrix (materialises a uniform α).
  Eigen::MatrixXd matrix() const;

  /// L_α·B with L_α = diag(r + c) − α − αᵀ (B: N × m). Cost O(N²m) for a general α (one GEMM),
  /// O(Nm) for a uniform α (L = a(2N·I − 2·11ᵀ)).
  Eigen::MatrixXd apply_laplacian(const Eigen::Ref<const Eigen::MatrixXd>& b) const;

 private:
  friend struct InfoNceLoss;
  /// Library-internal: an α the library computed itself and knows to be square, finite,
  /// nonnegative with zero diagonal (the InfoNCE softmax, detail/infonce_blocks.hpp), with its
  /// row and column sums. Skips from_matrix's O(N²) re-validation and sums; user input goes
  /// through from_matrix.
  static PairwiseImportance trusted(Eigen::MatrixXd alpha, Eigen::VectorXd r, Eigen::VectorXd c);

  PairwiseImportance() = default;
  Eigen::Index n_ = 0;
  bool uniform_ = true;
  double value_ = 1.0;
  Eigen::MatrixXd alpha_;  // empty when uniform
  Eigen::VectorXd r_, c_;
};

}  // namespace cldyn
