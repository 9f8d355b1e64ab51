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

/// Bᵀ L_β B with L_β = diag(β·1 + βᵀ·1) − β − βᵀ, i.e. Σ_ij β_ij (b_i − b_j)(b_i − b_j)ᵀ.
Eigen::MatrixXd laplacian_form(const Eigen::MatrixXd& beta, const Eigen::MatrixXd& b) {
  const Eigen::VectorXd degree = beta.rowwise().sum() + beta.colwise().sum().transpose();
  Eigen::MatrixXd lb = degree.asDiagonal() * b;
  lb.noalias() -= beta * b;
  lb.noalias() -= beta.transpose() * b;
  Eigen::MatrixXd out(b.cols(), b.cols());
  out.noalias() = b.transpose() * lb;
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

// ---- QuadraticLoss ---------------------------------------------------------------------------

double QuadraticLoss::value(const Eigen::Ref<const Eigen::MatrixXd>& f,
                            const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  const double n = static_cast<double>(f.rows());
  // Σ_{i≠j} d²_ij = N·Σ‖f_i‖² − ‖Σ f_i‖²
  const double neg = n * f.squaredNorm() - f.colwise().sum().squaredNorm();
  return (n - 1.0) * positive_squared_distances(f, f_prime).sum() - neg;
}

PairwiseImportance QuadraticLoss::pairwise_importance(
    const Eigen::Ref<const Eigen::MatrixXd>& f, const Eigen::Ref<const Eigen::MatrixXd>&) const {
  return PairwiseImportance::uniform(f.rows());
}

LossEvaluation QuadraticLoss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                       const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  return {value(f, f_prime), PairwiseImportance::uniform(f.rows())};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> QuadraticLoss::output_gradient(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  const Eigen::MatrixXd delta = f - f_prime;  // ∂d²_i/∂f_i
  const double n = static_cast<double>(f.rows());
  Eigen::MatrixXd df = (n - 1.0) * delta - 2.0 * n * f;
  df.rowwise() += 2.0 * f.colwise().sum();
  return {df, -(n - 1.0) * delta};
}

Eigen::MatrixXd QuadraticLoss::node_hessian(const Eigen::MatrixXd& a,
                                            const Eigen::MatrixXd& a_prime,
                                            const Eigen::Ref<const Eigen::MatrixXd>&,
                                            const Eigen::Ref<const Eigen::MatrixXd>&,
                                            Eigen::Index) const {
  const double nd = static_cast<double>(a.rows());
  const Eigen::MatrixXd diff = a - a_prime;  // rows Δa_i
  const Eigen::RowVectorXd sum = a.colwise().sum();
  Eigen::MatrixXd h(a.cols(), a.cols());
  h.noalias() = (nd - 1.0) * diff.transpose() * diff;
  h.noalias() -= 2.0 * nd * a.transpose() * a;
  h.noalias() += 2.0 * sum.transpose() * sum;
  return h;
}

// ---- InfoNceLoss -----------------------------------------------------------------------------

std::string InfoNceLoss::name() const {
  return "infonce(tau=" + shortest(tau) + ",eps=" + shortest(eps) + ")";
}

PairwiseImportance InfoNceLoss::pairwise_importance(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  // Finite, nonnegative, zero diagonal by construction (detail/infonce_blocks.hpp): no re-check.
  InfoNceRows rows = infonce_rows(f, f_prime, tau, eps, "Loss::pairwise_importance");
  return PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c));
}

double InfoNceLoss::value(const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  // Only log Z is needed: the blocks of α are computed and discarded (same blocks, hence
  // bitwise the same value, as evaluate()).
  const InfoNceRows rows = infonce_rows(f, f_prime, tau, eps, "Loss::value", false);
  return rows.d2_pos.sum() + tau * rows.log_z.sum();
}

LossEvaluation InfoNceLoss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                     const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  InfoNceRows rows = infonce_rows(f, f_prime, tau, eps, "Loss::evaluate");
  const double v = rows.d2_pos.sum() + tau * rows.log_z.sum();
  return {v, PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c))};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> InfoNceLoss::output_gradient(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  const Eigen::MatrixXd delta = f - f_prime;  // ∂d²_i/∂f_i
  // ∂L/∂d²_i = 1 − p⁺_i, ∂L/∂d²_ik = −p_ik. α·F and αᵀ·F are accumulated block by block, so
  // α is never held whole.
  constexpr const char* where = "Loss::output_gradient";
  const detail::InfoNceRowBlocks blocks(f, f_prime, tau, eps, where);
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

Eigen::MatrixXd InfoNceLoss::node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& a_prime,
                                          const Eigen::Ref<const Eigen::MatrixXd>& f,
                                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime,
                                          Eigen::Index k) const {
  const Eigen::Index n = a.rows();
  const Eigen::MatrixXd diff = a - a_prime;  // rows Δa_i
  // Softmax over all nodes' distances: the only way other nodes enter the node-k block. The
  // rows directly (Loss::node_hessian validated F, F'; infonce_softmax would again).
  const InfoNceRows sm = infonce_rows(f, f_prime, tau, eps, "Loss::node_hessian");
  const Eigen::VectorXd u = f.col(k);
  const Eigen::VectorXd delta = u - f_prime.col(k);
  // u_i − u_j as an N × N matrix.
  const Eigen::MatrixXd du = u.rowwise().replicate(n) - u.transpose().colwise().replicate(n);

  // (1) Σ_i [∂²d²_i − Σ_a p_a ∂²D_a]: curvature of the distances, = −2N²·C_p[x̃_k] since the
  //     row sums of p are 1 − p⁺_i.
  Eigen::MatrixXd h(a.cols(), a.cols());
  const Eigen::VectorXd w_pos = Eigen::VectorXd::Ones(n) - sm.p_pos;
  h.noalias() = diff.transpose() * w_pos.asDiagonal() * diff;
  h -= laplacian_form(sm.p, a);

  // (2) (1/τ)·Σ_i [Σ_a p_a g_a g_aᵀ − m_i m_iᵀ], m_i = Σ_a p_a g_a (row i's mean gradient).
  const Eigen::MatrixXd q = sm.p.cwiseProduct(du);  // q_ij = p_ij (u_i − u_j)
  const Eigen::VectorXd pos = sm.p_pos.cwiseProduct(delta);
  Eigen::MatrixXd m = q.rowwise().sum().asDiagonal() * a;  // rows m_i
  m.noalias() -= q * a;
  m.noalias() += pos.asDiagonal() * diff;
  Eigen::MatrixXd spread = laplacian_form(q.cwiseProduct(du), a);
  spread.noalias() += diff.transpose() * pos.cwiseProduct(delta).asDiagonal() * diff;
  spread.noalias() -= m.transpose() * m;
  h += spread / tau;
  return h;
}

// ---- Loss ------------------------------------------------------------------------------------

Loss Loss::infonce(double tau, double eps) {
  require(std::isfinite(tau) && tau > 0.0, "Loss::infonce", "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, "Loss::infonce", "eps", eps, "eps >= 0");
  return Loss(InfoNceLoss{tau, eps});
}

double Loss::tau() const {
  const InfoNceLoss* nce = as<InfoNceLoss>();
  return nce != nullptr ? nce->tau : 0.0;
}

double Loss::eps() const {
  const InfoNceLoss* nce = as<InfoNceLoss>();
  return nce != nullptr ? nce->eps : 0.0;
}

std::string Loss::name() const {
  return std::visit([](const auto& l) { return l.name(); }, loss_);
}

PairwiseImportance Loss::pairwise_importance(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::pairwise_importance");
  return std::visit([&](const auto& l) { return l.pairwise_importance(f, f_prime); }, loss_);
}

double Loss::value(const Eigen::Ref<const Eigen::MatrixXd>& f,
                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::value");
  return std::visit([&](const auto& l) { return l.value(f, f_prime); }, loss_);
}

LossEvaluation Loss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                              const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::evaluate");
  return std::visit([&](const auto& l) { return l.evaluate(f, f_prime); }, loss_);
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> Loss::output_gradient(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::output_gradient");
  return std::visit([&](const auto& l) { return l.output_gradient(f, f_prime); }, loss_);
}

Eigen::MatrixXd Loss::node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& a_prime,
                                   const Eigen::Ref<const Eigen::MatrixXd>& f,
                                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime,
                                   Eigen::Index k) const {
  constexpr const char* where = "Loss::node_hessian";
  validate_outputs(f, f_prime, where);
  require(k >= 0 && k < f.cols(), where, "k", k, "0 <= k < p = " + std::to_string(f.cols()));
  require_shape(a, f.rows(), a.cols(), where, "a (gated inputs of node k)");
  require_shape(a_prime, a.rows(), a.cols(), where, "a' (gated inputs of node k, second view)");
  const Eigen::MatrixXd h =
      std::visit([&](const auto& l) { return l.node_hessian(a, a_prime, f, f_prime, k); }, loss_);
  // Exactly symmetric (the products above are symmetric only up to rounding).
  return 0.5 * (h + h.transpose());
}

}  // namespace cldyn
