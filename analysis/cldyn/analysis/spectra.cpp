#include "cldyn/analysis/spectra.hpp"

#include <Eigen/Eigenvalues>
#include <cmath>

namespace cldyn::analysis {

EigenResult top_eigenpairs(const Eigen::Ref<const Eigen::MatrixXd>& a, Eigen::Index k) {
  constexpr const char* where = "top_eigenpairs";
  require(a.rows() == a.cols(), where, "A shape",
          std::to_string(a.rows()) + "x" + std::to_string(a.cols()), "a square matrix");
  require(k >= 1 && k <= a.rows(), where, "k", k, "1 <= k <= d = " + std::to_string(a.rows()));
  require_finite(a, where, "A");
  const double norm = a.norm();
  // Symmetry up to rounding of the products that formed A (a few ulps of ‖A‖).
  const double asym = (a - a.transpose()).norm();
  require(asym <= 1e-12 * std::max(norm, 1e-300) || asym == 0.0, where, "‖A − Aᵀ‖_F", asym,
          "symmetry: ‖A − Aᵀ‖_F <= 1e-12·‖A‖_F");
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(a);
  EigenResult result;
  if (solver.info() != Eigen::Success) {
    result.status = Status::not_converged;
    result.message = "Eigen SelfAdjointEigenSolver did not converge";
    return result;
  }
  const Eigen::Index d = a.rows();
  result.values = solver.eigenvalues().tail(k).reverse();
  result.vectors = solver.eigenvectors().rightCols(k).rowwise().reverse();
  double worst = 0.0;
  for (Eigen::Index i = 0; i < k; ++i)
    worst = std::max(worst, (a * result.vectors.col(i) - result.values(i) * result.vectors.col(i)).norm());
  result.residual = norm > 0.0 ? worst / norm : worst;
  result.status = Status::success;
  result.message = "dense symmetric eigensolver (d = " + std::to_string(d) + ")";
  return result;
}

}  // namespace cldyn::analysis
