#include "cldyn/loss.hpp"

#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "cldyn/batch.hpp"
#include "cldyn/validate.hpp"

namespace cldyn {
namespace {

void validate_outputs(const Eigen::Ref<const Eigen::MatrixXd>& f,
                      const Eigen::Ref<const Eigen::MatrixXd>& f_prime, const char* where) {
  require(f.rows() >= 2, where, "N (rows of F)", f.rows(), "N >= 2");
  require(f.cols() >= 1, where, "p (columns of F)", f.cols(), "p >= 1");
  require_shape(f_prime, f.rows(), f.cols(), where, "F'");
  require_finite(f, where, "F");
  require_finite(f_prime, where, "F'");
}

/// Row-wise softmax of InfoNCE: p_ik = e^{−d²_ik/τ}/Z_i (k ≠ i), p⁺_i = ε·e^{−d²_i/τ}/Z_i and
/// log Z_i, all with the row maximum of the logits subtracted before exponentiating.
struct InfoNceRows {
  Eigen::MatrixXd p;       // N × N, zero diagonal; this is α
  Eigen::VectorXd p_pos;   // N
  Eigen::VectorXd log_z;   // N
  Eigen::VectorXd d2_pos;  // N
};

InfoNceRows infonce_rows(const Eigen::Ref<const Eigen::MatrixXd>& f,
                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau, double eps) {
  const Eigen::Index n = f.rows();
  const Eigen::MatrixXd d2 = pairwise_squared_distances(f);  // symmetric: column i = row i
  InfoNceRows out;
  out.d2_pos = positive_squared_distances(f, f_prime);
  out.p.resize(n, n);  // filled as pᵀ column by column, transposed at the end
  out.p_pos.resize(n);
  out.log_z.resize(n);
  const double log_eps = eps > 0.0 ? std::log(eps) : -std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < n; ++i) {
    auto col = out.p.col(i);
    const double pos_logit = log_eps - out.d2_pos(i) / tau;
    double m = pos_logit;
    for (Eigen::Index k = 0; k < n; ++k)
      if (k != i) m = std::max(m, -d2(k, i) / tau);
    double z = eps > 0.0 ? std::exp(pos_logit - m) : 0.0;
    const double pos_term = z;
    for (Eigen::Index k = 0; k < n; ++k) {
      col(k) = k == i ? 0.0 : std::exp(-d2(k, i) / tau - m);
      z += col(k);
    }
    col /= z;
    out.p_pos(i) = pos_term / z;
    out.log_z(i) = m + std::log(z);
  }
  out.p.transposeInPlace();
  return out;
}

}  // namespace

Eigen::MatrixXd pairwise_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f) {
  const Eigen::VectorXd sq = f.rowwise().squaredNorm();
  Eigen::MatrixXd d2(f.rows(), f.rows());
  d2.noalias() = -f * f.transpose();
  d2.colwise() += 0.5 * sq;
  d2.rowwise() += 0.5 * sq.transpose();
  // Rounding in the Gram form can leave tiny negatives; distances are nonnegative.
  d2 = d2.cwiseMax(0.0);
  d2.diagonal().setZero();
  return d2;
}

Eigen::VectorXd positive_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                           const Eigen::Ref<const Eigen::MatrixXd>& f_prime) {
  return 0.5 * (f - f_prime).rowwise().squaredNorm();
}

InfoNceSoftmax infonce_softmax(const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau,
                               double eps) {
  constexpr const char* where = "infonce_softmax";
  require(std::isfinite(tau) && tau > 0.0, where, "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, where, "eps", eps, "eps >= 0");
  validate_outputs(f, f_prime, where);
  InfoNceRows rows = infonce_rows(f, f_prime, tau, eps);
  return {std::move(rows.p), std::move(rows.p_pos), std::move(rows.log_z)};
}

Loss Loss::infonce(double tau, double eps) {
  require(std::isfinite(tau) && tau > 0.0, "Loss::infonce", "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, "Loss::infonce", "eps", eps, "eps >= 0");
  return Loss(Kind::infonce, tau, eps);
}

std::string Loss::name() const {
  if (kind_ == Kind::quadratic) return "quadratic";
  return "infonce(tau=" + shortest(tau_) + ",eps=" + shortest(eps_) + ")";
}

PairwiseImportance Loss::pairwise_importance(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::pairwise_importance");
  if (kind_ == Kind::quadratic) return PairwiseImportance::uniform(f.rows());
  return PairwiseImportance::from_matrix(infonce_rows(f, f_prime, tau_, eps_).p);
}

double Loss::value(const Eigen::Ref<const Eigen::MatrixXd>& f,
                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::value");
  const double n = static_cast<double>(f.rows());
  if (kind_ == Kind::quadratic) {
    // Σ_{i≠j} d²_ij = N·Σ‖f_i‖² − ‖Σ f_i‖²
    const double neg = n * f.squaredNorm() - f.colwise().sum().squaredNorm();
    return (n - 1.0) * positive_squared_distances(f, f_prime).sum() - neg;
  }
  const InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_);
  return rows.d2_pos.sum() + tau_ * rows.log_z.sum();
}

LossEvaluation Loss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                              const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::evaluate");
  if (kind_ == Kind::quadratic) return {value(f, f_prime), PairwiseImportance::uniform(f.rows())};
  InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_);
  const double v = rows.d2_pos.sum() + tau_ * rows.log_z.sum();
  return {v, PairwiseImportance::from_matrix(std::move(rows.p))};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> Loss::output_gradient(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::output_gradient");
  const Eigen::MatrixXd delta = f - f_prime;  // ∂d²_i/∂f_i
  if (kind_ == Kind::quadratic) {
    const double n = static_cast<double>(f.rows());
    Eigen::MatrixXd df = (n - 1.0) * delta - 2.0 * n * f;
    df.rowwise() += 2.0 * f.colwise().sum();
    return {df, -(n - 1.0) * delta};
  }
  // ∂L/∂d²_i = 1 − p⁺_i, ∂L/∂d²_ik = −p_ik.
  const InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_);
  const Eigen::VectorXd w_pos = Eigen::VectorXd::Ones(f.rows()) - rows.p_pos;
  const Eigen::VectorXd r = rows.p.rowwise().sum();
  const Eigen::VectorXd c = rows.p.colwise().sum().transpose();
  Eigen::MatrixXd df = w_pos.asDiagonal() * delta;
  df -= r.asDiagonal() * f;
  df -= c.asDiagonal() * f;
  df.noalias() += rows.p * f;
  df.noalias() += rows.p.transpose() * f;
  Eigen::MatrixXd df_prime = -(w_pos.asDiagonal() * delta);
  return {df, df_prime};
}

}  // namespace cldyn
