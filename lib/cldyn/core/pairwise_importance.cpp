#include "cldyn/core/pairwise_importance.hpp"

#include <cmath>
#include <sstream>
#include <string>
#include <utility>

#include "cldyn/core/validate.hpp"

namespace cldyn {

PairwiseImportance PairwiseImportance::uniform(Eigen::Index n, double value) {
  constexpr const char* where = "PairwiseImportance::uniform";
  require(n >= 2, where, "N", n, "N >= 2");
  require(std::isfinite(value) && value >= 0.0, where, "value", value, "value >= 0 and finite");
  require(std::isfinite(value * static_cast<double>(n - 1)), where, "value", value,
          "a finite row sum value*(N - 1) with N = " + std::to_string(n));
  PairwiseImportance a;
  a.n_ = n;
  a.uniform_ = true;
  a.value_ = value;
  a.r_ = Eigen::VectorXd::Constant(n, value * static_cast<double>(n - 1));
  a.c_ = a.r_;
  return a;
}

PairwiseImportance PairwiseImportance::from_matrix(Eigen::MatrixXd alpha) {
  constexpr const char* where = "PairwiseImportance::from_matrix";
  require(alpha.rows() == alpha.cols(), where, "alpha shape",
          std::to_string(alpha.rows()) + "x" + std::to_string(alpha.cols()), "a square matrix");
  require(alpha.rows() >= 2, where, "N", alpha.rows(), "N >= 2");
  require_finite(alpha, where, "alpha");
  if ((alpha.array() < 0.0).any() || (alpha.diagonal().array() != 0.0).any()) {
    for (Eigen::Index j = 0; j < alpha.cols(); ++j) {
      for (Eigen::Index i = 0; i < alpha.rows(); ++i) {
        const std::string entry = "alpha(" + std::to_string(i) + "," + std::to_string(j) + ")";
        require(alpha(i, j) >= 0.0, where, entry, alpha(i, j), "alpha_ij >= 0");
        require(i != j || alpha(i, j) == 0.0, where, entry, alpha(i, j), "zero diagonal");
      }
    }
  }
  PairwiseImportance a;
  a.n_ = alpha.rows();
  a.uniform_ = false;
  a.r_ = alpha.rowwise().sum();
  a.c_ = alpha.colwise().sum().transpose();
  // Finite entries can still sum to infinity (e.g. 1e308 + 1e308); L_α would then be inf.
  for (Eigen::Index i = 0; i < a.n_; ++i) {
    require(std::isfinite(a.r_(i)), where, "row sum r(" + std::to_string(i) + ")", a.r_(i),
            "a finite sum of alpha's row");
    require(std::isfinite(a.c_(i)), where, "column sum c(" + std::to_string(i) + ")", a.c_(i),
            "a finite sum of alpha's column");
  }
  a.alpha_ = std::move(alpha);
  return a;
}

PairwiseImportance PairwiseImportance::trusted(Eigen::MatrixXd alpha, Eigen::VectorXd r,
                                               Eigen::VectorXd c) {
  PairwiseImportance a;
  a.n_ = alpha.rows();
  a.uniform_ = false;
  a.r_ = std::move(r);
  a.c_ = std::move(c);
  a.alpha_ = std::move(alpha);
  return a;
}

double PairwiseImportance::operator()(Eigen::Index i, Eigen::Index j) const {
  if (uniform_) return i == j ? 0.0 : value_;
  return alpha_(i, j);
}

Eigen::MatrixXd PairwiseImportance::matrix() const {
  if (!uniform_) return alpha_;
  Eigen::MatrixXd m = Eigen::MatrixXd::Constant(n_, n_, value_);
  m.diagonal().setZero();
  return m;
}

Eigen::MatrixXd PairwiseImportance::apply_laplacian(
    const Eigen::Ref<const Eigen::MatrixXd>& b) const {
  require(b.rows() == n_, "PairwiseImportance::apply_laplacian", "rows of B", b.rows(),
          "rows of B == N = " + std::to_string(n_));
  if (uniform_) {
    // a(2N·I − 2·11ᵀ)·B
    const Eigen::RowVectorXd col_total = b.colwise().sum();
    Eigen::MatrixXd out = (2.0 * static_cast<double>(n_)) * b;
    out.rowwise() -= 2.0 * col_total;
    return value_ * out;
  }
  Eigen::MatrixXd out = (r_ + c_).asDiagonal() * b;
  out.noalias() -= alpha_ * b;
  out.noalias() -= alpha_.transpose() * b;
  return out;
}

}  // namespace cldyn
