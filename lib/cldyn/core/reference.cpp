#include "cldyn/core/reference.hpp"

#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::reference {

Eigen::MatrixXd naive_contrastive_covariance(const PairwiseImportance& alpha,
                                             const Eigen::Ref<const Eigen::MatrixXd>& a,
                                             const Eigen::Ref<const Eigen::MatrixXd>& a_prime,
                                             const Eigen::Ref<const Eigen::MatrixXd>& b,
                                             const Eigen::Ref<const Eigen::MatrixXd>& b_prime) {
  constexpr const char* where = "naive_contrastive_covariance";
  const Eigen::Index n = alpha.size();
  require(a.rows() == n && b.rows() == n, where, "rows of A and B",
          std::to_string(a.rows()) + "," + std::to_string(b.rows()), "both == N");
  require_shape(a_prime, a.rows(), a.cols(), where, "A'");
  require_shape(b_prime, b.rows(), b.cols(), where, "B'");
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(a.cols(), b.cols());
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::RowVectorXd da_pos = a.row(i) - a_prime.row(i);
    const Eigen::RowVectorXd db_pos = b.row(i) - b_prime.row(i);
    for (Eigen::Index j = 0; j < n; ++j) {
      const double w = alpha(i, j);
      if (w == 0.0) continue;
      const Eigen::RowVectorXd da = a.row(i) - a.row(j);
      const Eigen::RowVectorXd db = b.row(i) - b.row(j);
      out += w * (da.transpose() * db - da_pos.transpose() * db_pos);
    }
  }
  const double nn = static_cast<double>(n);
  return out / (2.0 * nn * nn);
}

double naive_energy(const PairwiseImportance& alpha, const Eigen::Ref<const Eigen::MatrixXd>& f,
                    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) {
  const Eigen::Index n = alpha.size();
  require(f.rows() == n, "naive_energy", "rows of F", f.rows(), "rows == N");
  require_shape(f_prime, f.rows(), f.cols(), "naive_energy", "F'");
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double d2_pos = 0.5 * (f.row(i) - f_prime.row(i)).squaredNorm();
    for (Eigen::Index j = 0; j < n; ++j) {
      sum += alpha(i, j) * (0.5 * (f.row(i) - f.row(j)).squaredNorm() - d2_pos);
    }
  }
  const double nn = static_cast<double>(n);
  return sum / (2.0 * nn * nn);
}

}  // namespace cldyn::reference
