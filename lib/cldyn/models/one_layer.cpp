#include "cldyn/models/one_layer.hpp"

#include <string>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/detail/backpropagation.hpp"

namespace cldyn {

OneLayerNetwork::OneLayerNetwork(Eigen::MatrixXd weights, Activation activation)
    : w_(std::move(weights)), act_(activation) {
  constexpr const char* where = "OneLayerNetwork";
  require(w_.rows() >= 1, where, "d (rows of W)", w_.rows(), "d >= 1");
  require(w_.cols() >= 1, where, "K (columns of W)", w_.cols(), "K >= 1");
  require_finite(w_, where, "W");
}

OneLayerNetwork OneLayerNetwork::random(Eigen::Index d, Eigen::Index k, Activation activation,
                                        Rng& rng) {
  require(d >= 1, "OneLayerNetwork::random", "d", d, "d >= 1");
  require(k >= 1, "OneLayerNetwork::random", "K", k, "K >= 1");
  Eigen::MatrixXd w = rng.normal_matrix(d, k);
  w.colwise().normalize();
  return OneLayerNetwork(std::move(w), activation);
}

void OneLayerNetwork::set_weights(const Eigen::Ref<const Eigen::MatrixXd>& weights) {
  require_shape(weights, w_.rows(), w_.cols(), "OneLayerNetwork::set_weights", "W");
  require_finite(weights, "OneLayerNetwork::set_weights", "W");
  w_ = weights;
}

void OneLayerNetwork::require_batch(const TwoViewBatch& batch, const char* where) const {
  batch.validate(where);
  require(batch.dim() == input_dim(), where, "d of the batch", batch.dim(),
          "d == input dimension of W = " + std::to_string(input_dim()));
}

Eigen::MatrixXd OneLayerNetwork::forward(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  require(x.cols() == input_dim(), "OneLayerNetwork::forward", "columns of X", x.cols(),
          "== d = " + std::to_string(input_dim()));
  return act_.value(x * w_);
}

Eigen::MatrixXd OneLayerNetwork::gates(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  require(x.cols() == input_dim(), "OneLayerNetwork::gates", "columns of X", x.cols(),
          "== d = " + std::to_string(input_dim()));
  return act_.gate(x * w_);
}

Eigen::MatrixXd OneLayerNetwork::gated_input(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                             Eigen::Index k) const {
  require(k >= 0 && k < width(), "OneLayerNetwork::gated_input", "k", k,
          "0 <= k < K = " + std::to_string(width()));
  require(x.cols() == input_dim(), "OneLayerNetwork::gated_input", "columns of X", x.cols(),
          "== d = " + std::to_string(input_dim()));
  const Eigen::VectorXd g = act_.gate(x * w_.col(k));
  return g.asDiagonal() * x;
}

double OneLayerNetwork::energy(const TwoViewBatch& batch, const PairwiseImportance& alpha) const {
  require_batch(batch, "OneLayerNetwork::energy");
  return contrastive_energy(alpha, forward(batch.x), forward(batch.x_prime));
}

Eigen::MatrixXd OneLayerNetwork::backpropagate(
    const TwoViewBatch& batch, const Eigen::Ref<const Eigen::MatrixXd>& d_f,
    const Eigen::Ref<const Eigen::MatrixXd>& d_f_prime) const {
  constexpr const char* where = "OneLayerNetwork::backpropagate";
  require_batch(batch, where);
  require_shape(d_f, batch.size(), width(), where, "dF");
  require_shape(d_f_prime, batch.size(), width(), where, "dF'");
  Eigen::MatrixXd g(input_dim(), width());
  g.noalias() = batch.x.transpose() * act_.gate(batch.x * w_).cwiseProduct(d_f);
  g.noalias() += batch.x_prime.transpose() * act_.gate(batch.x_prime * w_).cwiseProduct(d_f_prime);
  return g;
}

Eigen::MatrixXd OneLayerNetwork::energy_gradient(const TwoViewBatch& batch,
                                                const PairwiseImportance& alpha) const {
  constexpr const char* where = "OneLayerNetwork::energy_gradient";
  require_batch(batch, where);
  return detail::energy_gradient_by_backpropagation(*this, batch, alpha, where);
}

Eigen::MatrixXd OneLayerNetwork::loss_gradient(const TwoViewBatch& batch, const Loss& loss) const {
  require_batch(batch, "OneLayerNetwork::loss_gradient");
  return detail::loss_gradient_by_backpropagation(*this, batch, loss);
}

}  // namespace cldyn
