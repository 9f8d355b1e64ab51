#include "cldyn/analysis/loss_hessian.hpp"

#include <string>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {
namespace {

void require_node(const OneLayerNetwork& net, const TwoViewBatch& batch, Eigen::Index k,
                const char* where) {
  batch.validate(where);
  require(batch.dim() == net.input_dim(), where, "d of the batch", batch.dim(),
          "d == input dimension of W = " + std::to_string(net.input_dim()));
  require(k >= 0 && k < net.width(), where, "k", k,
          "0 <= k < K = " + std::to_string(net.width()));
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

Eigen::MatrixXd loss_hessian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                             const Loss& loss, Eigen::Index k) {
  constexpr const char* where = "loss_hessian";
  require_node(net, batch, k, where);
  const Eigen::Index n = batch.size();
  const double nd = static_cast<double>(n);
  const Eigen::MatrixXd a = net.gated_input(batch.x, k);              // X̃_k, N × d
  const Eigen::MatrixXd diff = a - net.gated_input(batch.x_prime, k);  // rows Δa_i

  Eigen::MatrixXd h(a.cols(), a.cols());
  if (loss.kind() == Loss::Kind::quadratic) {
    // L_q restricted to node k: (N−1)/2·‖u − u'‖² − N‖u‖² + (1ᵀu)², a quadratic in (u, u').
    const Eigen::RowVectorXd sum = a.colwise().sum();
    h.noalias() = (nd - 1.0) * diff.transpose() * diff;
    h.noalias() -= 2.0 * nd * a.transpose() * a;
    h.noalias() += 2.0 * sum.transpose() * sum;
  } else {
    const Eigen::MatrixXd f = net.forward(batch.x);
    const Eigen::MatrixXd f_prime = net.forward(batch.x_prime);
    // Softmax over all nodes' distances: the only way other nodes enter the node-k block.
    const InfoNceSoftmax sm = infonce_softmax(f, f_prime, loss.tau(), loss.eps());
    const Eigen::VectorXd u = f.col(k);
    const Eigen::VectorXd delta = u - f_prime.col(k);
    // u_i − u_j as an N × N matrix.
    const Eigen::MatrixXd du = u.rowwise().replicate(n) - u.transpose().colwise().replicate(n);

    // (1) Σ_i [∂²d²_i − Σ_a p_a ∂²D_a]: curvature of the distances, = −2N²·C_p[x̃_k] since the
    //     row sums of p are 1 − p⁺_i.
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
    h += spread / loss.tau();
  }
  // Exactly symmetric (the products above are symmetric only up to rounding).
  return 0.5 * (h + h.transpose());
}

Eigen::MatrixXd frozen_alpha_jacobian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                      const PairwiseImportance& alpha, Eigen::Index k) {
  require_node(net, batch, k, "frozen_alpha_jacobian");
  return gated_covariance(batch, alpha, net.weights().col(k), net.activation());
}

}  // namespace cldyn::analysis
