#include "cldyn/models/two_layer.hpp"

#include <string>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/detail/backpropagation.hpp"

namespace cldyn {

void TwoLayerNetwork::validate_rf_sizes(const std::vector<Eigen::Index>& rf_sizes, Eigen::Index d,
                                        const char* where) {
  require(!rf_sizes.empty(), where, "K (number of receptive fields)", rf_sizes.size(), "K >= 1");
  Eigen::Index sum = 0;
  for (std::size_t k = 0; k < rf_sizes.size(); ++k) {
    require(rf_sizes[k] >= 1, where, "d_" + std::to_string(k) + " (receptive field size)",
            rf_sizes[k], "d_k >= 1");
    sum += rf_sizes[k];
  }
  require(sum == d, where, "sum of receptive field sizes", sum, "sum_k d_k == d = " + std::to_string(d));
}

TwoLayerNetwork::TwoLayerNetwork(std::vector<Eigen::MatrixXd> filters, Eigen::MatrixXd top,
                                 Activation activation)
    : w_(std::move(filters)), v_(std::move(top)), act_(activation) {
  constexpr const char* where = "TwoLayerNetwork";
  require(!w_.empty(), where, "K (number of filter matrices)", w_.size(), "K >= 1");
  const Eigen::Index m = w_.front().cols();
  require(m >= 1, where, "M (columns of W_0)", m, "M >= 1");
  for (std::size_t k = 0; k < w_.size(); ++k) {
    const std::string name = "W_" + std::to_string(k);
    require(w_[k].rows() >= 1, where, "d_" + std::to_string(k) + " (rows of " + name + ")",
            w_[k].rows(), "d_k >= 1");
    require(w_[k].cols() == m, where, "columns of " + name, w_[k].cols(),
            "== M = " + std::to_string(m) + " (the same number of nodes in every field)");
    require_finite(w_[k], where, name);
    offsets_.push_back(d_);
    sizes_.push_back(w_[k].rows());
    d_ += w_[k].rows();
  }
  require(v_.rows() >= 1, where, "p (rows of V)", v_.rows(), "p >= 1");
  require(v_.cols() == hidden_dim(), where, "columns of V", v_.cols(),
          "== K*M = " + std::to_string(hidden_dim()));
  require_finite(v_, where, "V");
}

TwoLayerNetwork TwoLayerNetwork::random(const std::vector<Eigen::Index>& rf_sizes, Eigen::Index m,
                                        Eigen::Index p, Activation activation, Rng& rng) {
  constexpr const char* where = "TwoLayerNetwork::random";
  require(!rf_sizes.empty(), where, "K (number of receptive fields)", rf_sizes.size(), "K >= 1");
  for (std::size_t k = 0; k < rf_sizes.size(); ++k)
    require(rf_sizes[k] >= 1, where, "d_" + std::to_string(k) + " (receptive field size)",
            rf_sizes[k], "d_k >= 1");
  require(m >= 1, where, "M (nodes per field)", m, "M >= 1");
  require(p >= 1, where, "p (output dimension)", p, "p >= 1");
  std::vector<Eigen::MatrixXd> w;
  for (const Eigen::Index dk : rf_sizes) {
    Eigen::MatrixXd wk = rng.normal_matrix(dk, m);
    wk.colwise().normalize();
    w.push_back(std::move(wk));
  }
  Eigen::MatrixXd v = rng.normal_matrix(p, static_cast<Eigen::Index>(rf_sizes.size()) * m);
  v.rowwise().normalize();
  return TwoLayerNetwork(std::move(w), std::move(v), activation);
}

Eigen::Index TwoLayerNetwork::field_size(Eigen::Index k) const {
  require(k >= 0 && k < num_fields(), "TwoLayerNetwork::field_size", "k", k,
          "0 <= k < K = " + std::to_string(num_fields()));
  return sizes_[static_cast<std::size_t>(k)];
}

Eigen::Index TwoLayerNetwork::field_offset(Eigen::Index k) const {
  require(k >= 0 && k < num_fields(), "TwoLayerNetwork::field_offset", "k", k,
          "0 <= k < K = " + std::to_string(num_fields()));
  return offsets_[static_cast<std::size_t>(k)];
}

const Eigen::MatrixXd& TwoLayerNetwork::filters(Eigen::Index k) const {
  require(k >= 0 && k < num_fields(), "TwoLayerNetwork::filters", "k", k,
          "0 <= k < K = " + std::to_string(num_fields()));
  return w_[static_cast<std::size_t>(k)];
}

void TwoLayerNetwork::set_filters(Eigen::Index k, const Eigen::Ref<const Eigen::MatrixXd>& w) {
  constexpr const char* where = "TwoLayerNetwork::set_filters";
  require(k >= 0 && k < num_fields(), where, "k", k, "0 <= k < K = " + std::to_string(num_fields()));
  const auto ks = static_cast<std::size_t>(k);
  require_shape(w, sizes_[ks], nodes_per_field(), where, "W_" + std::to_string(k));
  require_finite(w, where, "W_" + std::to_string(k));
  w_[ks] = w;
}

void TwoLayerNetwork::set_filters(const std::vector<Eigen::MatrixXd>& filters) {
  constexpr const char* where = "TwoLayerNetwork::set_filters";
  require(static_cast<Eigen::Index>(filters.size()) == num_fields(), where, "number of filter matrices",
          filters.size(), "== K = " + std::to_string(num_fields()));
  for (std::size_t k = 0; k < filters.size(); ++k) {
    require_shape(filters[k], sizes_[k], nodes_per_field(), where, "W_" + std::to_string(k));
    require_finite(filters[k], where, "W_" + std::to_string(k));
  }
  w_ = filters;
}

void TwoLayerNetwork::set_top(const Eigen::Ref<const Eigen::MatrixXd>& v) {
  require_shape(v, output_dim(), hidden_dim(), "TwoLayerNetwork::set_top", "V");
  require_finite(v, "TwoLayerNetwork::set_top", "V");
  v_ = v;
}

void TwoLayerNetwork::require_input(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                    const char* where) const {
  require(x.cols() == d_, where, "columns of X", x.cols(), "== d = " + std::to_string(d_));
}

void TwoLayerNetwork::require_batch(const TwoViewBatch& batch, const char* where) const {
  batch.validate(where);
  require(batch.dim() == d_, where, "d of the batch", batch.dim(),
          "d == input dimension of the network = " + std::to_string(d_));
}

Eigen::MatrixXd TwoLayerNetwork::preactivation(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  require_input(x, "TwoLayerNetwork::preactivation");
  const Eigen::Index m = nodes_per_field();
  Eigen::MatrixXd u(x.rows(), hidden_dim());
  for (std::size_t k = 0; k < w_.size(); ++k)
    u.middleCols(static_cast<Eigen::Index>(k) * m, m).noalias() =
        x.middleCols(offsets_[k], sizes_[k]) * w_[k];
  return u;
}

Eigen::MatrixXd TwoLayerNetwork::hidden(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return act_.value(preactivation(x));
}

Eigen::MatrixXd TwoLayerNetwork::gates(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return act_.gate(preactivation(x));
}

Eigen::MatrixXd TwoLayerNetwork::forward(const Eigen::Ref<const Eigen::MatrixXd>& x) const {
  return hidden(x) * v_.transpose();
}

Eigen::MatrixXd TwoLayerNetwork::gated_input(const Eigen::Ref<const Eigen::MatrixXd>& x,
                                             Eigen::Index k, Eigen::Index m) const {
  constexpr const char* where = "TwoLayerNetwork::gated_input";
  require(k >= 0 && k < num_fields(), where, "k", k, "0 <= k < K = " + std::to_string(num_fields()));
  require(m >= 0 && m < nodes_per_field(), where, "m", m,
          "0 <= m < M = " + std::to_string(nodes_per_field()));
  require_input(x, where);
  const auto ks = static_cast<std::size_t>(k);
  const auto xk = x.middleCols(offsets_[ks], sizes_[ks]);
  const Eigen::VectorXd g = act_.gate(xk * w_[ks].col(m));
  return g.asDiagonal() * xk;
}

double TwoLayerNetwork::energy(const TwoViewBatch& batch, const PairwiseImportance& alpha) const {
  require_batch(batch, "TwoLayerNetwork::energy");
  require(alpha.size() == batch.size(), "TwoLayerNetwork::energy", "size of alpha", alpha.size(),
          "== N = " + std::to_string(batch.size()));
  return contrastive_energy(alpha, forward(batch.x), forward(batch.x_prime));
}

TwoLayerGradient TwoLayerNetwork::backpropagate(const TwoViewBatch& batch,
                                                const Eigen::Ref<const Eigen::MatrixXd>& d_f,
                                                const Eigen::Ref<const Eigen::MatrixXd>& d_f_prime) const {
  constexpr const char* where = "TwoLayerNetwork::backpropagate";
  require_batch(batch, where);
  require_shape(d_f, batch.size(), output_dim(), where, "dF");
  require_shape(d_f_prime, batch.size(), output_dim(), where, "dF'");
  const Eigen::MatrixXd u = preactivation(batch.x);
  const Eigen::MatrixXd u_prime = preactivation(batch.x_prime);
  TwoLayerGradient g;
  // ∂/∂V: dFᵀ F_1 + dF'ᵀ F_1'.
  g.top.noalias() = d_f.transpose() * act_.value(u);
  g.top.noalias() += d_f_prime.transpose() * act_.value(u_prime);
  // ∂/∂F_1 through V, then through the (constant) gates.
  const Eigen::MatrixXd d_h = (d_f * v_).cwiseProduct(act_.gate(u));
  const Eigen::MatrixXd d_h_prime = (d_f_prime * v_).cwiseProduct(act_.gate(u_prime));
  const Eigen::Index m = nodes_per_field();
  g.filters.resize(w_.size());
  for (std::size_t k = 0; k < w_.size(); ++k) {
    const Eigen::Index col = static_cast<Eigen::Index>(k) * m;
    Eigen::MatrixXd& gk = g.filters[k];
    gk.noalias() = batch.x.middleCols(offsets_[k], sizes_[k]).transpose() * d_h.middleCols(col, m);
    gk.noalias() += batch.x_prime.middleCols(offsets_[k], sizes_[k]).transpose() * d_h_prime.middleCols(col, m);
  }
  return g;
}

TwoLayerGradient TwoLayerNetwork::energy_gradient(const TwoViewBatch& batch,
                                                 const PairwiseImportance& alpha) const {
  constexpr const char* where = "TwoLayerNetwork::energy_gradient";
  require_batch(batch, where);
  return detail::energy_gradient_by_backpropagation(*this, batch, alpha, where);
}

TwoLayerGradient TwoLayerNetwork::loss_gradient(const TwoViewBatch& batch, const Loss& loss) const {
  require_batch(batch, "TwoLayerNetwork::loss_gradient");
  return detail::loss_gradient_by_backpropagation(*this, batch, loss);
}

}  // namespace cldyn
