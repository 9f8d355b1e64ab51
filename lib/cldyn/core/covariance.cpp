#include "cldyn/core/covariance.hpp"

#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn {
namespace {

void validate_pair(const PairwiseImportance& alpha, const Eigen::Ref<const Eigen::MatrixXd>& a,
                   const Eigen::Ref<const Eigen::MatrixXd>& a_prime, const char* where,
                   const char* name, const char* name_prime) {
  require(a.rows() == alpha.size(), where, std::string("rows of ") + name, a.rows(),
          "rows == N = " + std::to_string(alpha.size()) + " (size of alpha)");
  require_shape(a_prime, a.rows(), a.cols(), where, name_prime);
  require_finite(a, where, name);
  require_finite(a_prime, where, name_prime);
}

}  // namespace

Eigen::MatrixXd contrastive_covariance(const PairwiseImportance& alpha,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a_prime,
                                       const Eigen::Ref<const Eigen::MatrixXd>& b,
                                       const Eigen::Ref<const Eigen::MatrixXd>& b_prime) {
  constexpr const char* where = "contrastive_covariance";
  validate_pair(alpha, a, a_prime, where, "A", "A'");
  validate_pair(alpha, b, b_prime, where, "B", "B'");
  const double n = static_cast<double>(alpha.size());
  Eigen::MatrixXd out(a.cols(), b.cols());
  // L_α is symmetric: apply it to the narrower side.
  if (a.cols() < b.cols()) {
    out.noalias() = alpha.apply_laplacian(a).transpose() * b;
  } else {
    out.noalias() = a.transpose() * alpha.apply_laplacian(b);
  }
  const Eigen::MatrixXd db = alpha.row_sums().asDiagonal() * (b - b_prime);
  out.noalias() -= (a - a_prime).transpose() * db;
  return out / (2.0 * n * n);
}

Eigen::MatrixXd contrastive_covariance(const PairwiseImportance& alpha,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a_prime) {
  constexpr const char* where = "contrastive_covariance";
  validate_pair(alpha, a, a_prime, where, "A", "A'");
  const double n = static_cast<double>(alpha.size());
  Eigen::MatrixXd out(a.cols(), a.cols());
  out.noalias() = a.transpose() * alpha.apply_laplacian(a);
  const Eigen::MatrixXd delta = a - a_prime;
  out.noalias() -= delta.transpose() * (alpha.row_sums().asDiagonal() * delta);
  out /= 2.0 * n * n;
  // Symmetric in exact arithmetic; remove the rounding asymmetry of the two products.
  return 0.5 * (out + out.transpose());
}

ContrastiveCovarianceOperator::ContrastiveCovarianceOperator(
    PairwiseImportance alpha, const Eigen::Ref<const Eigen::MatrixXd>& x,
    const Eigen::Ref<const Eigen::MatrixXd>& x_prime)
    : alpha_(std::move(alpha)) {
  constexpr const char* where = "ContrastiveCovarianceOperator";
  validate_pair(alpha_, x, x_prime, where, "X", "X'");
  x_ = x;
  delta_ = x - x_prime;
  const double n = static_cast<double>(alpha_.size());
  scale_ = 1.0 / (2.0 * n * n);
}

void ContrastiveCovarianceOperator::perform_op(const Scalar* x_in, Scalar* y_out) const {
  const Eigen::Map<const Eigen::VectorXd> v(x_in, x_.cols());
  Eigen::Map<Eigen::VectorXd> y(y_out, x_.cols());
  const Eigen::VectorXd u = x_ * v;
  const Eigen::VectorXd du = alpha_.row_sums().cwiseProduct(delta_ * v);
  y.noalias() = x_.transpose() * alpha_.apply_laplacian(u);
  y.noalias() -= delta_.transpose() * du;
  y *= scale_;
}

Eigen::VectorXd ContrastiveCovarianceOperator::apply(
    const Eigen::Ref<const Eigen::VectorXd>& v) const {
  require(v.size() == cols(), "ContrastiveCovarianceOperator::apply", "size of v", v.size(),
          "size == d = " + std::to_string(cols()));
  Eigen::VectorXd y(cols());
  perform_op(v.data(), y.data());
  return y;
}

}  // namespace cldyn

namespace cldyn {

double contrastive_energy(const PairwiseImportance& alpha,
                          const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime) {
  validate_pair(alpha, f, f_prime, "contrastive_energy", "F", "F'");
  const double n = static_cast<double>(alpha.size());
  const double negatives = f.cwiseProduct(alpha.apply_laplacian(f)).sum();  // tr(Fᵀ L F)
  const double positives = alpha.row_sums().dot((f - f_prime).rowwise().squaredNorm());
  return (negatives - positives) / (4.0 * n * n);
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> energy_output_gradient(
    const PairwiseImportance& alpha, const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) {
  validate_pair(alpha, f, f_prime, "energy_output_gradient", "F", "F'");
  const double n = static_cast<double>(alpha.size());
  const double scale = 1.0 / (2.0 * n * n);
  Eigen::MatrixXd r_delta = scale * (alpha.row_sums().asDiagonal() * (f - f_prime));
  Eigen::MatrixXd d_f = scale * alpha.apply_laplacian(f) - r_delta;
  return {std::move(d_f), std::move(r_delta)};
}

}  // namespace cldyn
