// check_relu_local_optima — theory §4 Claim 2: in the mixture model with orthonormal patterns
// and small σ, the exact population landscape of one ReLU node has a stable fixed point near
// every pattern (cosine ≥ 0.95), while a linear node has one (±) direction. The summation model
// is run too and reported. Every fixed point found (vector, basin count, best pattern and
// cosine, tangent Hessian eigenvalues, verdict) goes to the JSON series.
#include <algorithm>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/latent.hpp"
#include "common/shape.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct Options {
  LatentFlags latent;
  Eigen::Index starts = 60;
  double cos_threshold = 0.95;
  analysis::FixedPointOptions fixed_point;

  void describe(OptionSet& o) {
    latent.describe(o);
    o.add("--starts", starts, "Random starts per landscape")->check(CLI::Range(1, 1000000));
    o.add("--cos-threshold", cos_threshold, "Cosine that counts as 'near a pattern'")->check(CLI::Range(0.0, 1.0));
    o.add("--tolerance", fixed_point.tolerance, "Fixed-point residual tolerance", "fixed_point/tolerance")
        ->check(positive_number());
    record_fixed_point(o, fixed_point, {"step", "max_iterations", "dedup_cosine"});
  }
  void validate() const { latent.validate(); }
  void use_smoke_sizes() { starts = std::min<Eigen::Index>(starts, 20); }
};

struct Landscape {
  std::string mode, activation;
  analysis::FixedPointSearch search;
  std::vector<analysis::StabilityResult> stability;
  std::vector<PatternMatch> match;
  Eigen::Index stable = 0;
  std::vector<bool> covered;  // per pattern: a stable point within the cosine threshold
};

/// The four landscapes: mixture/ReLU, mixture/linear, summation/ReLU, summation/linear.
struct Result {
  std::vector<Landscape> runs;
};

Landscape explore(const data::LatentModel& model, const Activation& act, const Options& o, std::uint64_t seed) {
  Landscape out;
  out.mode = data::to_string(model.mode());
  out.activation = act.name();
  const analysis::PopulationLandscape land(analysis::DiscretePopulation::from_model(model), act);
  out.search = analysis::enumerate_fixed_points(land, o.starts, seed, o.fixed_point);
  out.covered.assign(static_cast<std::size_t>(model.num_patterns()), false);
  for (const auto& fp : out.search.points) {
    out.stability.push_back(analysis::analyze_stability(land, fp.w));
    out.match.push_back(best_pattern(model.patterns(), fp.w, land.sign_symmetric()));
    if (out.stability.back().verdict == analysis::Verdict::stable) {
      ++out.stable;
      if (out.match.back().cosine >= o.cos_threshold)
        out.covered[static_cast<std::size_t>(out.match.back().index)] = true;
    }
  }
  return out;
}

Result compute(const Options& o, std::uint64_t seed, const Context&) {
  Result r;
  for (const auto mode : {data::LatentMode::mixture, data::LatentMode::summation}) {
    const data::LatentModel model = o.latent.model(mode, seed);
    for (const Activation& act : {Activation::relu(), Activation::linear()}) r.runs.push_back(explore(model, act, o, seed));
  }
  return r;
}

void report_figure(Check& check, const Options& o, const std::vector<std::vector<std::string>>& csv) {
  // Figure: basin size of every mixture-model fixed point, labelled by its best pattern.
  std::vector<std::vector<std::string>> rows;
  for (const auto& row : csv)
    if (row[0].rfind("mixture/", 0) == 0) rows.push_back(row);
  const std::string note = check.write_figure(
      "relu_local_optima_basins", {"landscape", "point", "best_pattern", "cosine", "basin", "verdict"}, rows,
      "set title 'Mixture model, population fixed points: basin sizes (" + counted(o.starts, "random start") +
          ")'\nset ylabel 'starts converging here'\nset xlabel 'fixed point (label: best pattern, cosine)'\n"
          "set style fill solid 0.6\nset boxwidth 0.7\nset yrange [0:*]\nset offsets 0, 0, graph 0.12, 0\n"
          "set xrange [-0.6:" + fixed(static_cast<double>(rows.size()) - 0.4, 1) + "]\n"
          "set key top left\nset grid y\nset xtics rotate by -30\n"
          "plot 'relu_local_optima_basins.csv' using 0:5:(strcol(1) eq 'mixture/linear' ? 2 : 1):"
          "xtic(sprintf('%s #%d: u%d, %.3f', strcol(1), $2, $3, $4)) with boxes lc variable notitle, "
          "'' using 0:5:5 with labels offset 0,0.8 notitle, "
          "NaN with boxes lc 1 title 'ReLU', NaN with boxes lc 2 title 'linear'");
  if (!note.empty()) check.report(note);
}

void report(Check& check, const Options& o, const Result& result) {
  nlohmann::json series = nlohmann::json::array();
  std::vector<std::vector<std::string>> csv;
  for (const Landscape& r : result.runs) {
    nlohmann::json points = nlohmann::json::array();
    std::string line = r.mode + " / " + r.activation + ": " + std::to_string(r.search.converged) + "/" +
                       std::to_string(r.search.starts) + " starts converged to " +
                       counted(static_cast<long long>(r.search.points.size()), "fixed point") + " (" +
                       std::to_string(r.stable) + " stable):";
    for (std::size_t i = 0; i < r.search.points.size(); ++i) {
      points.push_back(fixed_point_json(r.search.points[i], r.stability[i], r.match[i]));
      line += " [pattern " + std::to_string(r.match[i].index) + " cos " + fixed(r.match[i].cosine, 3) + " basin " +
              std::to_string(r.search.points[i].basin_count) + " " +
              std::string(analysis::to_string(r.stability[i].verdict)) + "]";
      csv.push_back({r.mode + "/" + r.activation, std::to_string(i), std::to_string(r.match[i].index),
                     fixed(r.match[i].cosine, 6), std::to_string(r.search.points[i].basin_count),
                     std::string(analysis::to_string(r.stability[i].verdict))});
    }
    check.report(line);
    series.push_back({{"mode", r.mode}, {"activation", r.activation}, {"starts", r.search.starts},
                      {"converged", r.search.converged}, {"fixed_points", points}});
  }
  check.series()["landscapes"] = series;
  report_figure(check, o, csv);

  const Landscape& relu = result.runs[0];
  const Landscape& lin = result.runs[1];
  const auto covered = std::count(relu.covered.begin(), relu.covered.end(), true);
  const std::string L = std::to_string(o.latent.L);
  double min_cos = 1.0;
  for (std::size_t i = 0; i < relu.search.points.size(); ++i)
    if (relu.stability[i].verdict == analysis::Verdict::stable) min_cos = std::min(min_cos, relu.match[i].cosine);
  check.add_claim(Claim::of("2-relu", "mixture, ReLU: a stable fixed point within cos " + fixed(o.cos_threshold, 2) +
                                          " of every pattern",
                            L + "/" + L + " patterns", std::to_string(covered) + "/" + L + " (min cos " + fixed(min_cos, 4) + ")",
                            static_cast<double>(covered),
                            Bound::equal_to(static_cast<double>(o.latent.L)).shown_as("cos >= " + fixed(o.cos_threshold, 2))));
  check.add_claim(Claim::of("2-linear", "mixture, linear: one stable direction (up to sign)", "1",
                            std::to_string(lin.stable) + " stable of " + std::to_string(lin.search.points.size()),
                            static_cast<double>(lin.stable), Bound::equal_to(1))
                      .needs(lin.search.points.size() == 1));
  const auto converged = std::count_if(result.runs.begin(), result.runs.end(),
                                       [](const Landscape& r) { return r.search.converged == r.search.starts; });
  const bool all_converged = converged == static_cast<long>(result.runs.size());
  check.add_claim(Claim::of("2-conv", "every start converges (residual <= " + sci(o.fixed_point.tolerance, 1) + ")", "all",
                            all_converged ? "all" : "some did not", static_cast<double>(converged),
                            Bound::all_of(static_cast<double>(result.runs.size())).shown_as("-")));
}

}  // namespace

const cldyn::experiments::CheckInfo kInfo{"relu_local_optima",
    "Claim 2: ReLU has a stable population fixed point near every pattern of the mixture model; linear has one"};

CLDYN_REGISTER_CHECK(kInfo, Options, Result, compute, report)
