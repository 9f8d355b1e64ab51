#include "cldyn/core/loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/detail/infonce_blocks.hpp"
#include "cldyn/core/validate.hpp"

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
/// log Z_i, all with the row maximum of the logits subtracted before exponentiating. Computed
/// in row blocks (detail::InfoNceRowBlocks): the N × N distances are never formed.
struct InfoNceRows {
  Eigen::MatrixXd p;       // N × N, zero diagonal; this is α (empty unless materialised)
  Eigen::VectorXd p_pos;   // N
  Eigen::VectorXd log_z;   // N
  Eigen::VectorXd d2_pos;  // N
  Eigen::VectorXd r, c;    // row and column sums of p (empty unless materialised)
};

/// The b × N block buffer, kept per thread between calls (about 1 MiB: default_block_rows).
/// A fresh buffer per call let the allocator hand it back to the system and fault it in again
/// on the next call: 16 % of the time of α at N = 256 in BM_PairwiseImportanceInfoNCE.
Eigen::MatrixXd& block_scratch() {
  thread_local Eigen::MatrixXd work;
  return work;
}

InfoNceRows infonce_rows(const Eigen::Ref<const Eigen::MatrixXd>& f,
                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau, double eps,
                         const char* where, bool materialise = true) {
  const detail::InfoNceRowBlocks blocks(f, f_prime, tau, eps, where);
  const Eigen::Index n = f.rows();
  const Eigen::Index b = detail::InfoNceRowBlocks::default_block_rows(n);
  InfoNceRows out;
  out.d2_pos = blocks.d2_pos();
  out.p_pos.resize(n);
  out.log_z.resize(n);
  if (materialise) {
    out.p.resize(n, n);
    out.r.resize(n);
    out.c = Eigen::VectorXd::Zero(n);
  }
  Eigen::MatrixXd& work = block_scratch();
  for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
    const Eigen::Index rows = std::min(b, n - i0);
    if (materialise) {
      blocks.compute(i0, rows, work, out.p.data() + i0, n, out.p_pos.data() + i0,
                     out.log_z.data() + i0, out.r.data() + i0, out.c.data());
    } else {
      blocks.compute(i0, rows, work, nullptr, 0, out.p_pos.data() + i0,
                     out.log_z.data() + i0, nullptr, nullptr);
    }
  }
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
  InfoNceRows rows = infonce_rows(f, f_prime, tau, eps, where);
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
  constexpr const char* where = "Loss::pairwise_importance";
  validate_outputs(f, f_prime, where);
  if (kind_ == Kind::quadratic) return PairwiseImportance::uniform(f.rows());
  // Finite, nonnegative, zero diagonal by construction (detail/infonce_blocks.hpp): no re-check.
  InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, where);
  return PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c));
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
  // Only log Z is needed: the blocks of α are computed and discarded (same blocks, hence
  // bitwise the same value, as evaluate()).
  const InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, "Loss::value", false);
  return rows.d2_pos.sum() + tau_ * rows.log_z.sum();
}

LossEvaluation Loss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                              const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::evaluate");
  if (kind_ == Kind::quadratic) return {value(f, f_prime), PairwiseImportance::uniform(f.rows())};
  InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, "Loss::evaluate");
  const double v = rows.d2_pos.sum() + tau_ * rows.log_z.sum();
  return {v, PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c))};
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
  // ∂L/∂d²_i = 1 − p⁺_i, ∂L/∂d²_ik = −p_ik. α·F and αᵀ·F are accumulated block by block, so
  // α is never held whole.
  constexpr const char* where = "Loss::output_gradient";
  const detail::InfoNceRowBlocks blocks(f, f_prime, tau_, eps_, where);
  const Eigen::Index n = f.rows();
  const Eigen::Index b = detail::InfoNceRowBlocks::default_block_rows(n);
  Eigen::VectorXd p_pos(n), r(n), c = Eigen::VectorXd::Zero(n);
  Eigen::MatrixXd alpha_f(n, f.cols());
  Eigen::MatrixXd alpha_t_f = Eigen::MatrixXd::Zero(n, f.cols());
  Eigen::MatrixXd& work = block_scratch();
  for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
    const Eigen::Index rows = std::min(b, n - i0);
    blocks.compute(i0, rows, work, nullptr, 0, p_pos.data() + i0, nullptr, r.data() + i0,
                   c.data());
    alpha_f.middleRows(i0, rows).noalias() = work * f;
    alpha_t_f.noalias() += work.transpose() * f.middleRows(i0, rows);
  }
  const Eigen::VectorXd w_pos = Eigen::VectorXd::Ones(n) - p_pos;
  Eigen::MatrixXd df = w_pos.asDiagonal() * delta;
  df -= r.asDiagonal() * f;
  df -= c.asDiagonal() * f;
  df += alpha_f;
  df += alpha_t_f;
  Eigen::MatrixXd df_prime = -(w_pos.asDiagonal() * delta);
  return {df, df_prime};
}

}  // namespace cldyn
