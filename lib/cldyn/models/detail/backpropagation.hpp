#pragma once
/// \file backpropagation.hpp
/// The energy and loss gradients of a network through its own back-propagation, shared by the
/// one- and two-layer networks: a Net has forward(x) (N × p outputs) and
/// backpropagate(batch, ∂/∂F, ∂/∂F′) (the parameter gradient). Library-internal.

#include <Eigen/Core>
#include <string>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::detail {

/// ∇_θ E_α with α frozen: back-propagating ∂E/∂F, ∂E/∂F′ gives C_α[x̃_k, f_k] per node of a
/// one-layer network (Identity B) and Identity C through V and the gates of a two-layer one.
/// The batch is validated by the caller; α must be N × N.
template <class Net>
auto energy_gradient_by_backpropagation(const Net& net, const TwoViewBatch& batch,
                                        const PairwiseImportance& alpha, const char* where) {
  require(alpha.size() == batch.size(), where, "size of alpha", alpha.size(),
          "== N = " + std::to_string(batch.size()));
  const Eigen::MatrixXd f = net.forward(batch.x);
  const Eigen::MatrixXd f_prime = net.forward(batch.x_prime);
  const auto [d_f, d_f_prime] = energy_output_gradient(alpha, f, f_prime);
  return net.backpropagate(batch, d_f, d_f_prime);
}

/// ∇_θ L with α differentiated (the loss's output gradient, back-propagated).
template <class Net>
auto loss_gradient_by_backpropagation(const Net& net, const TwoViewBatch& batch, const Loss& loss) {
  const auto [d_f, d_f_prime] = loss.output_gradient(net.forward(batch.x), net.forward(batch.x_prime));
  return net.backpropagate(batch, d_f, d_f_prime);
}

}  // namespace cldyn::detail
