#include "cldyn/train/token_experiment.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

#include "cldyn/core/validate.hpp"

namespace cldyn {

void TokenRunOptions::validate() const {
  constexpr const char* where = "TokenRunOptions";
  data.validate();
  require(std::isfinite(beta) && beta > 0.0, where, "beta", beta, "finite and > 0");
  require(hidden_per_position() >= 1, where, "beta", beta,
          "round(beta * P) >= 1 hidden node per position");
  require(output_dim >= 1, where, "output_dim", output_dim, ">= 1");
  require(std::isfinite(loss.tau) && loss.tau > 0.0, where, "tau", loss.tau, "finite and > 0");
  require(std::isfinite(learning_rate) && learning_rate > 0.0, where, "learning_rate",
          learning_rate, "finite and > 0");
  require(std::isfinite(momentum) && momentum >= 0.0 && momentum < 1.0, where, "momentum",
          momentum, "0 <= momentum < 1");
  require(std::isfinite(weight_decay) && weight_decay >= 0.0, where, "weight_decay",
          weight_decay, "finite and >= 0");
  require(batch_size >= 2, where, "batch_size", batch_size, ">= 2");
  require(steps >= 1, where, "steps", steps, ">= 1");
  require(log_every >= 1, where, "log_every", log_every, ">= 1");
}

int TokenRunOptions::hidden_per_position() const {
  return static_cast<int>(std::lround(beta * data.allowed_per_position));
}

TokenNetworkOptions TokenRunOptions::network() const {
  TokenNetworkOptions n;
  n.num_positions = data.num_positions;
  n.hidden_per_position = hidden_per_position();
  n.output_dim = output_dim;
  n.activation = activation;
  n.batch_norm = batch_norm;
  n.bn_grad_mean = bn_grad_mean;
  n.bn_grad_var = bn_grad_var;
  n.bias = bias;
  n.output_activation = output_activation;
  return n;
}

TokenLocality token_locality(const Eigen::Ref<const Eigen::MatrixXd>& wk_all, int num_positions,
                             const std::vector<std::vector<int>>& pattern_tokens, bool absolute) {
  constexpr const char* where = "token_locality";
  require(num_positions >= 1, where, "num_positions", num_positions, ">= 1");
  require(wk_all.rows() % num_positions == 0 && wk_all.rows() > 0, where,
          "effective_first_layer rows", wk_all.rows(), "a positive multiple of K");
  require(static_cast<int>(pattern_tokens.size()) == num_positions, where,
          "pattern_tokens size", pattern_tokens.size(), "== K");
  const auto M = wk_all.rows() / num_positions;
  const auto T = wk_all.cols();
  TokenLocality out;
  double sum_loc = 0.0, sum_other = 0.0;
  int n_loc = 0, n_other = 0;
  for (int k = 0; k < num_positions; ++k) {
    const auto wk = wk_all.middleRows(k * M, M);
    const double floor = std::max(wk.cwiseAbs().maxCoeff() / 1000.0, 1e-6);
    const Eigen::VectorXd denom = wk.rowwise().norm().array() + floor;
    std::vector<bool> in_pattern(static_cast<std::size_t>(T), false);
    for (const int t : pattern_tokens[static_cast<std::size_t>(k)]) {
      require(t >= 0 && t < T, where, "pattern token", t, "0 <= token < T");
      in_pattern[static_cast<std::size_t>(t)] = true;
    }
    double s_in = 0.0, s_out = 0.0;
    int c_in = 0, c_out = 0;
    for (Eigen::Index t = 0; t < T; ++t) {
      Eigen::VectorXd ratio = wk.col(t).array() / denom.array();
      if (absolute) ratio = ratio.cwiseAbs();
      Eigen::Index unit = 0;
      const double score = ratio.maxCoeff(&unit);
      const bool in = in_pattern[static_cast<std::size_t>(t)];
      out.table.push_back({k, static_cast<int>(t), in, score, static_cast<int>(unit)});
      if (in) { s_in += score; ++c_in; } else { s_out += score; ++c_out; }
    }
    out.loc.push_back(c_in > 0 ? std::optional<double>(s_in / c_in) : std::nullopt);
    out.loc_other.push_back(c_out > 0 ? std::optional<double>(s_out / c_out) : std::nullopt);
    if (c_in > 0) { sum_loc += s_in / c_in; ++n_loc; }
    if (c_out > 0) { sum_other += s_out / c_out; ++n_other; }
  }
  out.loc_all = n_loc > 0 ? sum_loc / n_loc : 0.0;
  out.loc_other_all = n_other > 0 ? sum_other / n_other : 0.0;
  return out;
}

namespace {

template <class S>
bool all_finite(const TokenParameters<S>& p) {
  return p.W.allFinite() && p.b.allFinite() && p.V.allFinite();
}

/// θ_new = θ − lr·buf with buf ← g + wd·θ (first step) or μ·buf + g + wd·θ; θ is left as it was
/// (the last finite state, should θ_new not be finite).
template <class Mat>
void sgd_update(const Mat& theta, Mat& theta_new, const Mat& grad, Mat& buf, bool first,
                double lr, double mu, double wd) {
  using S = typename Mat::Scalar;
  if (first) buf = grad + static_cast<S>(wd) * theta;
  else buf = static_cast<S>(mu) * buf + grad + static_cast<S>(wd) * theta;
  theta_new = theta - static_cast<S>(lr) * buf;
}

template <class S>
TokenRunResult run(const TokenRunOptions& options, const std::function<bool(int)>& progress) {
  Rng structure_rng(options.structure_seed.value_or(options.seed), 1);
  const data::TokenPatterns patterns(options.data, structure_rng);
  Rng init_rng(options.seed, 2), batch_rng(options.seed, 3);
  TokenNetwork<S> net(options.network(), patterns.embedding(), init_rng);

  TokenParameters<S> grad, buf, last = net.parameters();
  TokenRunResult result;
  std::deque<double> window;  // last ≤ 100 batch losses
  double curve_sum = 0.0;
  int curve_count = 0;
  for (int step = 0; step < options.steps; ++step) {
    const data::TokenBatch batch = patterns.sample(options.batch_size, batch_rng);
    const double loss = static_cast<double>(net.loss(batch, options.loss, &grad));
    if (!std::isfinite(loss) || !all_finite(grad)) {
      result.status = Status::non_finite;
      break;
    }
    // `last` takes the current parameters (a swap, no copy); the update writes the new ones.
    auto& p = net.parameters();
    std::swap(last, p);
    const bool first = step == 0;
    const double lr = options.learning_rate, mu = options.momentum, wd = options.weight_decay;
    sgd_update(last.W, p.W, grad.W, buf.W, first, lr, mu, wd);
    if (options.bias) sgd_update(last.b, p.b, grad.b, buf.b, first, lr, mu, wd);
    sgd_update(last.V, p.V, grad.V, buf.V, first, lr, mu, wd);
    if (!all_finite(p)) {
      std::swap(p, last);
      result.status = Status::non_finite;
      break;
    }
    result.steps_completed = step + 1;
    window.push_back(loss);
    if (window.size() > 100) window.pop_front();
    curve_sum += loss;
    ++curve_count;
    if (curve_count == options.log_every || step + 1 == options.steps) {
      result.loss_curve.emplace_back(step + 1, curve_sum / curve_count);
      curve_sum = 0.0;
      curve_count = 0;
    }
    if (progress && (step + 1) % options.log_every == 0 && !progress(step + 1)) {
      result.status = Status::stopped_by_callback;
      break;
    }
  }
  double sum = 0.0;
  for (const double l : window) sum += l;
  result.final_loss = window.empty() ? std::nan("") : sum / static_cast<double>(window.size());
  result.effective_first_layer = net.effective_first_layer();
  result.locality = token_locality(result.effective_first_layer, options.data.num_positions,
                                   patterns.pattern_tokens(),
                                   options.activation.is_linear());
  return result;
}

}  // namespace

TokenRunResult run_token_patterns(const TokenRunOptions& options,
                                  const std::function<bool(int)>& progress) {
  options.validate();
  return options.double_precision ? run<double>(options, progress) : run<float>(options, progress);
}

}  // namespace cldyn
