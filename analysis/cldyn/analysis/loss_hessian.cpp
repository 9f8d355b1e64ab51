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

}  // namespace

Eigen::MatrixXd loss_hessian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                             const Loss& loss, Eigen::Index k) {
  constexpr const char* where = "loss_hessian";
  require_node(net, batch, k, where);
  const Eigen::MatrixXd a = net.gated_input(batch.x, k);              // X̃_k, N × d
  const Eigen::MatrixXd a_prime = net.gated_input(batch.x_prime, k);  // X̃'_k
  // The loss's own second-order piece (LossFunction::node_hessian), symmetrised by Loss.
  return loss.node_hessian(a, a_prime, net.forward(batch.x), net.forward(batch.x_prime), k);
}

Eigen::MatrixXd frozen_alpha_jacobian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                      const PairwiseImportance& alpha, Eigen::Index k) {
  require_node(net, batch, k, "frozen_alpha_jacobian");
  return gated_covariance(batch, alpha, net.weights().col(k), net.activation());
}

}  // namespace cldyn::analysis
