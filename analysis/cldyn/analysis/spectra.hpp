#pragma once
/// \file spectra.hpp
/// Top-k eigenpairs of symmetric matrices and matrix-free operators, with the residual that
/// certifies them. Dense Eigen for small d (SelfAdjointEigenSolver), Spectra's Lanczos solver
/// (SymEigsSolver) for an operator in Spectra's shape (Scalar, rows(), perform_op(x, y)).

#include <Eigen/Core>
#include <Spectra/SymEigsSolver.h>
#include <string>

#include "cldyn/core/status.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

struct EigenResult {
  Status status = Status::not_converged;
  std::string message;
  Eigen::VectorXd values;   ///< k eigenvalues, largest (algebraic) first
  Eigen::MatrixXd vectors;  ///< d × k unit eigenvectors, column i for values(i)
  /// Certificate: max_i ‖A v_i − λ_i v_i‖ / ‖A‖ (‖A‖ = largest |eigenvalue| found, or the
  /// Frobenius norm for dense input; residual 0 for the zero matrix).
  double residual = 0.0;
};

/// Top-k eigenpairs of a dense symmetric matrix (1 ≤ k ≤ d; finite; symmetric to 1e-12·‖A‖).
EigenResult top_eigenpairs(const Eigen::Ref<const Eigen::MatrixXd>& a, Eigen::Index k);

struct LanczosOptions {
  Eigen::Index ncv = 0;          ///< Krylov dimension; 0 chooses min(d, max(2k + 1, 20))
  Eigen::Index max_iterations = 1000;
  double tolerance = 1e-12;      ///< Spectra's relative convergence tolerance
};

/// Top-k eigenpairs of a symmetric matrix-free operator by Spectra's SymEigsSolver
/// (1 ≤ k < d). The residual is measured afresh with op.perform_op.
template <class Op>
EigenResult top_eigenpairs_matrix_free(const Op& op, Eigen::Index k,
                                       const LanczosOptions& options = {}) {
  constexpr const char* where = "top_eigenpairs_matrix_free";
  const Eigen::Index d = op.rows();
  require(k >= 1 && k < d, where, "k", k, "1 <= k < d = " + std::to_string(d));
  Eigen::Index ncv = options.ncv > 0 ? options.ncv : std::min<Eigen::Index>(d, std::max<Eigen::Index>(2 * k + 1, 20));
  require(ncv > k && ncv <= d, where, "ncv", ncv, "k < ncv <= d");
  // Spectra 1.0's constructor takes OpType& but only keeps a const reference and calls the
  // const perform_op, so removing const here never lets Spectra modify op.
  Spectra::SymEigsSolver<Op> solver(const_cast<Op&>(op), k, ncv);
  solver.init();
  solver.compute(Spectra::SortRule::LargestAlge, options.max_iterations, options.tolerance,
                 Spectra::SortRule::LargestAlge);
  EigenResult result;
  if (solver.info() != Spectra::CompInfo::Successful) {
    result.status = Status::not_converged;
    result.message = "Spectra SymEigsSolver did not converge";
    return result;
  }
  result.values = solver.eigenvalues();
  result.vectors = solver.eigenvectors();
  double scale = result.values.cwiseAbs().maxCoeff();
  double worst = 0.0;
  Eigen::VectorXd y(d);
  for (Eigen::Index i = 0; i < result.values.size(); ++i) {
    op.perform_op(result.vectors.col(i).data(), y.data());
    worst = std::max(worst, (y - result.values(i) * result.vectors.col(i)).norm());
  }
  result.residual = scale > 0.0 ? worst / scale : worst;
  result.status = Status::success;
  result.message = "converged";
  return result;
}

}  // namespace cldyn::analysis
