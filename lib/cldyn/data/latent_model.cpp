#include "cldyn/data/latent_model.hpp"

#include <Eigen/QR>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "cldyn/core/validate.hpp"

namespace cldyn::data {
namespace {

std::string indexed(const char* name, std::size_t i) {
  return std::string(name) + "[" + std::to_string(i) + "]";
}

}  // namespace

const char* to_string(LatentMode mode) {
  switch (mode) {
    case LatentMode::mixture: return "mixture";
    case LatentMode::summation: return "summation";
  }
  return "unknown";
}

void LatentModelOptions::validate() const {
  constexpr const char* where = "LatentModelOptions";
  require(d >= 1, where, "d", d, "d >= 1");
  require(L >= 1, where, "L", L, "L >= 1");
  require(mode == LatentMode::mixture || mode == LatentMode::summation, where, "mode",
          static_cast<int>(mode), "mode is mixture or summation");
  require(std::isfinite(sigma) && sigma > 0.0, where, "sigma", sigma, "sigma > 0 and finite");
  const auto l_size = static_cast<std::size_t>(L);
  if (!probabilities.empty()) {
    require(probabilities.size() == l_size, where, "size of probabilities", probabilities.size(),
            "== L = " + std::to_string(L) + " (or empty for p_l = 1/L)");
    double sum = 0.0;
    for (std::size_t l = 0; l < l_size; ++l) {
      const double p = probabilities[l];
      require(std::isfinite(p) && p >= 0.0 && p <= 1.0, where, indexed("probabilities", l), p,
              "0 <= p_l <= 1");
      sum += p;
    }
    if (mode == LatentMode::mixture) {
      // Rounding of a sum of L numbers in [0, 1] is below L·ε ≈ 2.2e-16·L; 1e-12·L leaves room
      // for probabilities typed to ~12 digits while rejecting weights that were not normalised.
      const double tol = 1e-12 * static_cast<double>(L);
      require(std::abs(sum - 1.0) <= tol, where, "sum of probabilities", sum,
              "mixture: sum_l p_l = 1 within 1e-12*L (use normalise_probabilities)");
    }
  }
  if (!amplitudes.empty()) {
    require(amplitudes.size() == l_size, where, "size of amplitudes", amplitudes.size(),
            "== L = " + std::to_string(L) + " (or empty for a_l = 1)");
    for (std::size_t l = 0; l < l_size; ++l)
      require(std::isfinite(amplitudes[l]), where, indexed("amplitudes", l), amplitudes[l],
              "a_l finite");
  }
}

std::vector<double> LatentModelOptions::resolved_probabilities() const {
  if (!probabilities.empty()) return probabilities;
  return std::vector<double>(static_cast<std::size_t>(L), 1.0 / static_cast<double>(L));
}

std::vector<double> LatentModelOptions::resolved_amplitudes() const {
  if (!amplitudes.empty()) return amplitudes;
  return std::vector<double>(static_cast<std::size_t>(L), 1.0);
}

std::vector<double> normalise_probabilities(std::vector<double> weights) {
  constexpr const char* where = "normalise_probabilities";
  require(!weights.empty(), where, "size of weights", weights.size(), "at least one weight");
  double sum = 0.0;
  for (std::size_t l = 0; l < weights.size(); ++l) {
    require(std::isfinite(weights[l]) && weights[l] >= 0.0, where, indexed("weights", l),
            weights[l], "finite and >= 0");
    sum += weights[l];
  }
  require(sum > 0.0 && std::isfinite(sum), where, "sum of weights", sum, "a positive finite sum");
  for (double& w : weights) w /= sum;
  return weights;
}

LatentModel::LatentModel(LatentModelOptions options, Rng& rng) : options_(std::move(options)) {
  init_random_patterns(rng);
}

LatentModel::LatentModel(LatentModelOptions options, std::uint64_t seed)
    : options_(std::move(options)) {
  Rng rng(seed);
  init_random_patterns(rng);
}

LatentModel::LatentModel(LatentModelOptions options,
                         const Eigen::Ref<const Eigen::MatrixXd>& patterns)
    : options_(std::move(options)) {
  constexpr const char* where = "LatentModel (given patterns)";
  options_.validate();
  require_shape(patterns, options_.d, options_.L, where, "patterns");
  require_finite(patterns, where, "patterns");
  patterns_ = patterns;
  resolve_defaults();
}

void LatentModel::init_random_patterns(Rng& rng) {
  constexpr const char* where = "LatentModel (random orthonormal patterns)";
  options_.validate();
  require(options_.L <= options_.d, where, "L", options_.L,
          "L <= d = " + std::to_string(options_.d) + " (orthonormal patterns)");
  const Eigen::MatrixXd g = rng.normal_matrix(options_.d, options_.L);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  patterns_ = qr.householderQ() * Eigen::MatrixXd::Identity(options_.d, options_.L);
  // Sign fix: with diag(R) > 0 the factorisation is unique, and Q is Haar-distributed.
  const Eigen::MatrixXd& r = qr.matrixQR();
  for (Eigen::Index l = 0; l < options_.L; ++l)
    if (r(l, l) < 0.0) patterns_.col(l) *= -1.0;
  resolve_defaults();
}

void LatentModel::resolve_defaults() {
  options_.probabilities = options_.resolved_probabilities();
  options_.amplitudes = options_.resolved_amplitudes();
}

TwoViewBatch LatentModel::sample(Eigen::Index n, Rng& rng) const {
  return sample_with_latents(n, rng).batch;
}

LatentSample LatentModel::sample_with_latents(Eigen::Index n, Rng& rng) const {
  constexpr const char* where = "LatentModel::sample";
  require(n >= 1, where, "n", n, "n >= 1");
  const Eigen::Index d = options_.d, num_l = options_.L;
  const std::vector<double>& p = options_.probabilities;
  const std::vector<double>& amp = options_.amplitudes;
  const bool enumerable =
      options_.mode == LatentMode::mixture || num_l <= kMaxSummationSupportL;

  LatentSample out;
  out.z = Eigen::MatrixXi::Zero(n, num_l);
  if (enumerable) out.support_index.assign(static_cast<std::size_t>(n), 0);

  if (options_.mode == LatentMode::mixture) {
    // Inverse CDF; if rounding leaves u ≥ Σ p_l, take the last pattern of positive probability.
    Eigen::Index last_positive = 0;
    for (Eigen::Index l = 0; l < num_l; ++l)
      if (p[static_cast<std::size_t>(l)] > 0.0) last_positive = l;
    for (Eigen::Index i = 0; i < n; ++i) {
      const double u = rng.uniform();
      Eigen::Index chosen = last_positive;
      double cumulative = 0.0;
      for (Eigen::Index l = 0; l < num_l; ++l) {
        cumulative += p[static_cast<std::size_t>(l)];
        if (u < cumulative) {
          chosen = l;
          break;
        }
      }
      out.z(i, chosen) = 1;
      out.support_index[static_cast<std::size_t>(i)] = static_cast<std::size_t>(chosen);
    }
  } else {
    for (Eigen::Index i = 0; i < n; ++i) {
      std::size_t index = 0;
      for (Eigen::Index l = 0; l < num_l; ++l) {
        const bool on = rng.uniform() < p[static_cast<std::size_t>(l)];
        out.z(i, l) = on ? 1 : 0;
        if (on && enumerable) index |= std::size_t{1} << l;
      }
      if (enumerable) out.support_index[static_cast<std::size_t>(i)] = index;
    }
  }

  Eigen::MatrixXd scaled = patterns_;  // column l = a_l u_l
  for (Eigen::Index l = 0; l < num_l; ++l) scaled.col(l) *= amp[static_cast<std::size_t>(l)];
  out.x0 = out.z.cast<double>() * scaled.transpose();  // N × d
  out.batch.x = out.x0 + options_.sigma * rng.normal_matrix(n, d);
  out.batch.x_prime = out.x0 + options_.sigma * rng.normal_matrix(n, d);
  return out;
}

std::size_t LatentModel::support_size() const {
  if (options_.mode == LatentMode::mixture) return static_cast<std::size_t>(options_.L);
  if (options_.L > kMaxSummationSupportL) {
    std::ostringstream msg;
    msg << "LatentModel::support: L = " << options_.L << " violates L <= "
        << kMaxSummationSupportL << " for the summation mode (its support has 2^L = 2^"
        << options_.L << " points, too many to enumerate)";
    throw std::invalid_argument(msg.str());
  }
  return std::size_t{1} << options_.L;
}

std::vector<SupportPoint> LatentModel::support() const {
  const std::size_t count = support_size();  // throws for summation with L > 20
  const Eigen::Index d = options_.d, num_l = options_.L;
  const std::vector<double>& p = options_.probabilities;
  const std::vector<double>& amp = options_.amplitudes;
  std::vector<SupportPoint> points;
  points.reserve(count);
  if (options_.mode == LatentMode::mixture) {
    for (Eigen::Index l = 0; l < num_l; ++l) {
      const auto ul = static_cast<std::size_t>(l);
      points.push_back({amp[ul] * patterns_.col(l), p[ul]});
    }
    return points;
  }
  for (std::size_t k = 0; k < count; ++k) {
    SupportPoint point{Eigen::VectorXd::Zero(d), 1.0};
    for (Eigen::Index l = 0; l < num_l; ++l) {
      const auto ul = static_cast<std::size_t>(l);
      if ((k >> ul) & 1U) {
        point.x0 += amp[ul] * patterns_.col(l);
        point.probability *= p[ul];
      } else {
        point.probability *= 1.0 - p[ul];
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

}  // namespace cldyn::data
