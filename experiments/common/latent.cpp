#include "common/latent.hpp"

#include <cmath>
#include <numeric>
#include <stdexcept>

#include "common/check.hpp"
#include "common/shape.hpp"

namespace cldyn::experiments {

void LatentFlags::add_to(Check& check) {
  OptionSet options(check.app());
  describe(options);
  check.add_validation([this] { validate(); });
}

void LatentFlags::describe(OptionSet& o) {
  o.add("--d", d, "Input dimension d")->check(CLI::Range(1, 100000));
  o.add("--L", L, "Number of patterns L (<= d)")->check(CLI::Range(1, 100000));
  o.add("--sigma", sigma, "Augmentation noise sigma")->check(positive_number());
  o.add("--p", weights, "Pattern weights p_l, exactly L values, normalised to sum 1 (sum > 0)", "p_weights")
      ->check(non_negative_number());
  o.add("--pattern-seed", pattern_seed, "Seed of the random orthonormal patterns (0: use --seed)")
      ->check(unsigned_integer());
  o.record_all([this] { return nlohmann::json{{"p", data::normalise_probabilities(weights)}}; });
}

void LatentFlags::validate() const {
  require(L <= d, "--L", "L", L, "<= --d = " + std::to_string(d) + " (orthonormal patterns)");
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  require(sum > 0.0 && std::isfinite(sum), "--p", "sum of weights", sum, "> 0 and finite");
  // options() checks the number of weights; LatentModelOptions::validate() the rest.
  for (const auto mode : {data::LatentMode::mixture, data::LatentMode::summation}) options(mode).validate();
}

data::LatentModelOptions LatentFlags::options(data::LatentMode mode) const {
  data::LatentModelOptions o;
  o.d = d;
  o.L = L;
  o.sigma = sigma;
  o.mode = mode;
  require(static_cast<Eigen::Index>(weights.size()) == L, "--p", "number of weights",
          weights.size(), "== --L = " + std::to_string(L));
  o.probabilities = data::normalise_probabilities(weights);
  return o;
}

data::LatentModel LatentFlags::model(data::LatentMode mode, std::uint64_t seed) const {
  return data::LatentModel(options(mode), pattern_seed != 0 ? pattern_seed : seed);
}

nlohmann::json LatentFlags::params() const {
  return {{"d", d}, {"L", L}, {"sigma", sigma}, {"p_weights", weights},
          {"p", data::normalise_probabilities(weights)}, {"pattern_seed", pattern_seed}};
}

void record_fixed_point(OptionSet& o, const analysis::FixedPointOptions& fp,
                        std::initializer_list<const char*> fields) {
  for (const std::string field : fields) {
    const std::string key = "fixed_point/" + field;
    if (field == "step") o.record(key, fp.step);
    else if (field == "tolerance") o.record(key, fp.tolerance);
    else if (field == "max_iterations") o.record(key, fp.max_iterations);
    else if (field == "dedup_cosine") o.record(key, fp.dedup_cosine);
    else if (field == "stall_window") o.record(key, fp.stall_window);
    else throw std::logic_error("record_fixed_point: unknown field " + field);
  }
}

PatternMatch best_pattern(const Eigen::MatrixXd& patterns, const Eigen::VectorXd& w,
                          bool sign_symmetric) {
  Eigen::VectorXd c = patterns.transpose() * w.normalized();
  if (sign_symmetric) c = c.cwiseAbs();
  PatternMatch m;
  m.cosine = c.maxCoeff(&m.index);
  return m;
}

nlohmann::json fixed_point_json(const analysis::FixedPoint& fp,
                                const analysis::StabilityResult& st, const PatternMatch& match) {
  auto vec = [](const Eigen::VectorXd& v) { return std::vector<double>(v.data(), v.data() + v.size()); };
  return {{"w", vec(fp.w)},
          {"status", to_string(fp.status)},
          {"basin_count", fp.basin_count},
          {"iterations", fp.iterations},
          {"lambda", fp.lambda},
          {"energy", fp.energy},
          {"residual", fp.residual},
          {"best_pattern", match.index},
          {"best_cosine", match.cosine},
          {"verdict", analysis::to_string(st.verdict)},
          {"tangent_hessian_eigenvalues", vec(st.tangent_eigenvalues)},
          {"gated_covariance_top_eigenvalues", vec(st.gated_eigenvalues.head(std::min<Eigen::Index>(5, st.gated_eigenvalues.size())))},
          {"eigengap", st.eigengap},
          {"is_top", st.is_top},
          {"remainder_norm", st.remainder_norm},
          {"hessian_fd_relative_error", st.fd_relative_error}};
}

}  // namespace cldyn::experiments
