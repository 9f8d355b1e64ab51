#include "cldyn/models/token_network.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn {

void TokenNetworkOptions::validate() const {
  constexpr const char* where = "TokenNetworkOptions";
  require(num_positions >= 1, where, "num_positions (K)", num_positions, ">= 1");
  require(hidden_per_position >= 1, where, "hidden_per_position (M)", hidden_per_position, ">= 1");
  require(output_dim >= 1, where, "output_dim (p)", output_dim, ">= 1");
  require(std::isfinite(bn_epsilon) && bn_epsilon > 0.0, where, "bn_epsilon", bn_epsilon,
          "finite and > 0");
}

template <class S>
void batch_norm_forward(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& h,
                        S bn_epsilon,
                        Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> out,
                        Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, 1>> inv_std) {
  const auto n = static_cast<S>(h.cols());
  out = h.colwise() - (h.rowwise().sum() / n).eval();
  inv_std = ((out.array().square().rowwise().sum() / n) + bn_epsilon).rsqrt().matrix();
  out.array().colwise() *= inv_std.array();
}

template <class S>
void batch_norm_backward(const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& dout,
                         const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>& out,
                         const Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, 1>>& inv_std,
                         bool grad_mean, bool grad_var,
                         Eigen::Ref<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> dh) {
  const auto n = static_cast<S>(dout.cols());
  dh = dout;
  if (grad_mean) dh.colwise() -= (dout.rowwise().sum() / n).eval();
  if (grad_var) {
    const Eigen::Matrix<S, Eigen::Dynamic, 1> m = dout.cwiseProduct(out).rowwise().sum() / n;
    dh.array() -= out.array().colwise() * m.array();
  }
  dh.array().colwise() *= inv_std.array();
}

template void batch_norm_forward<float>(const Eigen::Ref<const Eigen::MatrixXf>&, float,
                                        Eigen::Ref<Eigen::MatrixXf>, Eigen::Ref<Eigen::VectorXf>);
template void batch_norm_forward<double>(const Eigen::Ref<const Eigen::MatrixXd>&, double,
                                         Eigen::Ref<Eigen::MatrixXd>, Eigen::Ref<Eigen::VectorXd>);
template void batch_norm_backward<float>(const Eigen::Ref<const Eigen::MatrixXf>&,
                                         const Eigen::Ref<const Eigen::MatrixXf>&,
                                         const Eigen::Ref<const Eigen::VectorXf>&, bool, bool,
                                         Eigen::Ref<Eigen::MatrixXf>);
template void batch_norm_backward<double>(const Eigen::Ref<const Eigen::MatrixXd>&,
                                          const Eigen::Ref<const Eigen::MatrixXd>&,
                                          const Eigen::Ref<const Eigen::VectorXd>&, bool, bool,
                                          Eigen::Ref<Eigen::MatrixXd>);

namespace {

/// h(u) elementwise, in place.
template <class Derived>
void apply_activation(const Activation& act, Eigen::MatrixBase<Derived>& u) {
  using S = typename Derived::Scalar;
  switch (act.kind()) {
    case Activation::Kind::linear: return;
    case Activation::Kind::relu: u = u.cwiseMax(S(0)); return;
    case Activation::Kind::leaky_relu: {
      const auto g = static_cast<S>(act.gamma());
      u = (u.array() > S(0)).select(u.array(), g * u.array()).matrix();
      return;
    }
  }
}

/// d ← d ⊙ h'(u), where `pre` holds u.
template <class D1, class D2>
void apply_gate(const Activation& act, const Eigen::MatrixBase<D1>& pre,
                Eigen::MatrixBase<D2>& d) {
  using S = typename D2::Scalar;
  switch (act.kind()) {
    case Activation::Kind::linear: return;
    case Activation::Kind::relu:
      d = (pre.array() > S(0)).select(d.array(), S(0)).matrix();
      return;
    case Activation::Kind::leaky_relu: {
      const auto g = static_cast<S>(act.gamma());
      d = (pre.array() > S(0)).select(d.array(), g * d.array()).matrix();
      return;
    }
  }
}

}  // namespace

template <class S>
TokenNetwork<S>::TokenNetwork(const TokenNetworkOptions& options, const Eigen::MatrixXd& embedding,
                              Rng& init_rng)
    : options_(options) {
  options_.validate();
  require(embedding.rows() >= 1 && embedding.cols() >= 1, "TokenNetwork", "embedding rows x cols",
          std::to_string(embedding.rows()) + "x" + std::to_string(embedding.cols()), ">= 1 each");
  require_finite(embedding, "TokenNetwork", "embedding");
  embedding_ = embedding.cast<S>();
  identity_ = embedding.rows() == embedding.cols() && embedding.isIdentity(0.0);
  const int hidden = options_.hidden();
  const auto d_e = embedding.rows();
  auto uniform = [&](Mat& m, Eigen::Index rows, Eigen::Index cols, double fan_in) {
    const double bound = 1.0 / std::sqrt(fan_in);
    m.resize(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i)
        m(i, j) = static_cast<S>(bound * (2.0 * init_rng.uniform() - 1.0));
  };
  uniform(params_.W, hidden, d_e, static_cast<double>(d_e));
  if (options_.bias) {
    Mat b;
    uniform(b, hidden, 1, static_cast<double>(d_e));
    params_.b = b.col(0);
  }
  uniform(params_.V, options_.output_dim, hidden, static_cast<double>(hidden));
}

template <class S>
void TokenNetwork<S>::validate_batch(const data::TokenBatch& batch) const {
  require(batch.size >= 2, "TokenNetwork::loss", "batch size", batch.size, ">= 2");
  require(batch.positions == options_.num_positions, "TokenNetwork::loss", "batch positions",
          batch.positions, "== K = " + std::to_string(options_.num_positions));
  const auto n = static_cast<std::size_t>(batch.size) * static_cast<std::size_t>(batch.positions);
  require(batch.view1.size() == n && batch.view2.size() == n, "TokenNetwork::loss",
          "token arrays", batch.view1.size(), "B*K entries per view");
  const int T = num_tokens();
  for (std::size_t i = 0; i < n; ++i) {
    const int a = batch.view1[i], b = batch.view2[i];
    if (a < 0 || a >= T || b < 0 || b >= T)
      require(false, "TokenNetwork::loss", "token", a < 0 || a >= T ? a : b,
              "0 <= token < T = " + std::to_string(T));
  }
}

template <class S>
S TokenNetwork<S>::loss(const data::TokenBatch& batch, const TokenLossOptions& loss_options,
                        TokenParameters<S>* grad) {
  require(std::isfinite(loss_options.tau) && loss_options.tau > 0.0, "TokenNetwork::loss", "tau",
          loss_options.tau, "finite and > 0");
  validate_batch(batch);
  const int K = options_.num_positions, M = options_.hidden_per_position;
  const int hidden = options_.hidden();
  const int B = batch.size, B2 = 2 * B;
  const Activation& act = options_.activation;
  const S tau = static_cast<S>(loss_options.tau);

  // ---- layer 1: gather columns of Q = W·E ------------------------------------------------------
  if (!identity_) q_.noalias() = params_.W * embedding_;
  const Mat& q = identity_ ? params_.W : q_;
  u_.resize(hidden, B2);
  for (int v = 0; v < 2; ++v) {
    const std::vector<int>& tokens = v == 0 ? batch.view1 : batch.view2;
    for (int i = 0; i < B; ++i) {
      const int* t = tokens.data() + static_cast<std::size_t>(i) * K;
      S* col = u_.col(v * B + i).data();
      for (int k = 0; k < K; ++k) {
        const S* src = q.col(t[k]).data() + static_cast<std::ptrdiff_t>(k) * M;
        std::copy(src, src + M, col + static_cast<std::ptrdiff_t>(k) * M);
      }
    }
  }
  if (options_.bias) u_.colwise() += params_.b;
  if (act.kind() == Activation::Kind::relu) {
    h_ = u_.cwiseMax(S(0));
  } else {
    h_ = u_;
    apply_activation(act, h_);
  }

  // ---- batch normalisation, statistics per view --------------------------------------------------
  const Mat* hn = &h_;
  if (options_.batch_norm) {
    hn_.resize(hidden, B2);
    for (int v = 0; v < 2; ++v) {
      inv_std_[v].resize(hidden);
      batch_norm_forward<S>(h_.middleCols(v * B, B), static_cast<S>(options_.bn_epsilon),
                            hn_.middleCols(v * B, B), inv_std_[v]);
    }
    hn = &hn_;
  }

  // ---- layer 2 and ℓ2 normalisation --------------------------------------------------------------
  z_.noalias() = params_.V * (*hn);
  y_ = z_;
  if (options_.output_activation) apply_activation(act, y_);
  norm_ = y_.colwise().norm().transpose().cwiseMax(static_cast<S>(1e-12));
  y_ = y_ * norm_.cwiseInverse().asDiagonal();

  // ---- similarities: column i of sim_ is row i of S (S is symmetric off the diagonal) ------------
  const auto y1 = y_.leftCols(B), y2 = y_.rightCols(B);
  sim_.noalias() = y1.transpose() * y1;
  for (int i = 0; i < B; ++i) sim_(i, i) = y1.col(i).dot(y2.col(i));

  // gsim_(j, i) = ∂loss/∂S_ij.
  double total = 0.0;
  gsim_.resize(B, B);
  if (loss_options.kind == TokenLoss::infonce) {
    for (int i = 0; i < B; ++i) {
      auto logits = sim_.col(i).array() / tau;
      const S shift = logits.maxCoeff();
      auto p = gsim_.col(i).array();
      p = (logits - shift).exp();
      const S z = p.sum();
      total += static_cast<double>(shift + std::log(z) - logits(i));
      p /= z * static_cast<S>(B) * tau;
      gsim_(i, i) -= S(1) / (static_cast<S>(B) * tau);
    }
  } else {
    const S off = S(1) / (static_cast<S>(B) * tau * static_cast<S>(B - 1));
    gsim_.setConstant(off);
    for (int i = 0; i < B; ++i) {
      const S row_off = sim_.col(i).sum() - sim_(i, i);
      total += static_cast<double>((row_off / static_cast<S>(B - 1) - sim_(i, i)) / tau);
      gsim_(i, i) = -S(1) / (static_cast<S>(B) * tau);
    }
  }
  const S value = static_cast<S>(total / B);
  if (grad == nullptr) return value;

  // ---- backward ---------------------------------------------------------------------------------
  // dY1 = Y1 (G_off + G_offᵀ) + Y2 diag(G_ii),  dY2 = Y1 diag(G_ii), with G_ij = gsim_(j, i).
  const Vec gdiag = gsim_.diagonal();
  gsim_.diagonal().setZero();
  Mat gsym = gsim_ + gsim_.transpose();
  dy_.resize(y_.rows(), B2);
  dy_.leftCols(B).noalias() = y1 * gsym;
  dy_.leftCols(B) += y2 * gdiag.asDiagonal();
  dy_.rightCols(B).noalias() = y1 * gdiag.asDiagonal();

  // Through y = a/‖a‖: da = (dy − y (y·dy)) / ‖a‖; then the optional output activation.
  const Eigen::Matrix<S, 1, Eigen::Dynamic> proj = y_.cwiseProduct(dy_).colwise().sum();
  dz_ = (dy_ - y_ * proj.asDiagonal()) * norm_.cwiseInverse().asDiagonal();
  if (options_.output_activation) apply_gate(act, z_, dz_);

  grad->V.noalias() = dz_ * hn->transpose();
  dhn_.noalias() = params_.V.transpose() * dz_;
  if (options_.batch_norm) {
    dh_.resize(hidden, B2);
    for (int v = 0; v < 2; ++v)
      batch_norm_backward<S>(dhn_.middleCols(v * B, B), hn_.middleCols(v * B, B), inv_std_[v],
                             options_.bn_grad_mean, options_.bn_grad_var, dh_.middleCols(v * B, B));
  } else {
    dh_.swap(dhn_);
  }
  apply_gate(act, u_, dh_);  // dh_ now holds ∂loss/∂u
  if (options_.bias) grad->b = dh_.rowwise().sum();
  else grad->b.resize(0);

  // Scatter-add into ∂loss/∂Q, then ∂loss/∂W = ∂Q·Eᵀ (= ∂Q when E = I).
  dq_.setZero(hidden, num_tokens());
  for (int v = 0; v < 2; ++v) {
    const std::vector<int>& tokens = v == 0 ? batch.view1 : batch.view2;
    for (int i = 0; i < B; ++i) {
      const int* t = tokens.data() + static_cast<std::size_t>(i) * K;
      const S* col = dh_.col(v * B + i).data();
      for (int k = 0; k < K; ++k) {
        S* dst = dq_.col(t[k]).data() + static_cast<std::ptrdiff_t>(k) * M;
        const S* src = col + static_cast<std::ptrdiff_t>(k) * M;
        for (int m = 0; m < M; ++m) dst[m] += src[m];
      }
    }
  }
  if (identity_) grad->W = dq_;
  else grad->W.noalias() = dq_ * embedding_.transpose();
  return value;
}

template <class S>
Eigen::MatrixXd TokenNetwork<S>::effective_first_layer() const {
  const Eigen::MatrixXd w = params_.W.template cast<double>();
  if (identity_) return w;
  return w * embedding_.template cast<double>();
}

template class TokenNetwork<float>;
template class TokenNetwork<double>;

}  // namespace cldyn
