// check_relu_local_optima — theory §4 Claim 2: in the mixture model with orthonormal patterns
// and small σ, the exact population landscape of one ReLU node has a stable fixed point near
// every pattern (cosine ≥ 0.95), while a linear node has one (±) direction. The summation model
// is run too and reported. Every fixed point found (vector, basin count, best pattern and
// cosine, tangent Hessian eigenvalues, verdict) goes to the JSON series.
#include <algorithm>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/check.hpp"
#include "common/latent.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct Landscape {
  std::string mode, activation;
  analysis::FixedPointSearch search;
  std::vector<analysis::StabilityResult> stability;
  std::vector<PatternMatch> match;
  Eigen::Index stable = 0;
  std::vector<bool> covered;  // per pattern: a stable point within the cosine threshold
};

Landscape explore(const data::LatentModel& model, const Activation& act, Eigen::Index starts,
                  std::uint64_t seed, double cos_threshold, const analysis::FixedPointOptions& fpo) {
  Landscape out;
  out.mode = data::to_string(model.mode());
  out.activation = act.name();
  const analysis::PopulationLandscape land(analysis::DiscretePopulation::from_model(model), act);
  out.search = analysis::enumerate_fixed_points(land, starts, seed, fpo);
  out.covered.assign(static_cast<std::size_t>(model.num_patterns()), false);
  for (const auto& fp : out.search.points) {
    out.stability.push_back(analysis::analyze_stability(land, fp.w));
    out.match.push_back(best_pattern(model.patterns(), fp.w, land.sign_symmetric()));
    if (out.stability.back().verdict == analysis::Verdict::stable) {
      ++out.stable;
      if (out.match.back().cosine >= cos_threshold)
        out.covered[static_cast<std::size_t>(out.match.back().index)] = true;
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Check check("relu_local_optima",
              "Claim 2: ReLU has a stable population fixed point near every pattern of the "
              "mixture model; linear has one");
  LatentFlags latent;
  latent.add_to(check);
  Eigen::Index starts = 60;
  double cos_threshold = 0.95;
  analysis::FixedPointOptions fpo;
  check.app().add_option("--starts", starts, "Random starts per landscape")->check(CLI::Range(1, 1000000))->capture_default_str();
  check.app().add_option("--cos-threshold", cos_threshold, "Cosine that counts as 'near a pattern'")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  check.app().add_option("--tolerance", fpo.tolerance, "Fixed-point residual tolerance")
      ->check(positive_number())->capture_default_str();
  if (const int rc = check.parse(argc, argv); rc >= 0) return rc;
  if (check.smoke()) starts = std::min<Eigen::Index>(starts, 20);
  check.params() = latent.params();
  check.params()["starts"] = starts;
  check.params()["cos_threshold"] = cos_threshold;
  check.params()["fixed_point"] = {{"step", fpo.step}, {"tolerance", fpo.tolerance},
                                   {"max_iterations", fpo.max_iterations}, {"dedup_cosine", fpo.dedup_cosine}};
  // parse() has validated the latent flags (LatentFlags::validate), so the models build.
  const std::vector<data::LatentModel> models = {latent.model(data::LatentMode::mixture, check.seed()),
                                                 latent.model(data::LatentMode::summation, check.seed())};
  check.begin();

  std::vector<Landscape> runs;
  for (const data::LatentModel& model : models)
    for (const Activation& act : {Activation::relu(), Activation::linear()})
      runs.push_back(explore(model, act, starts, check.seed(), cos_threshold, fpo));

  nlohmann::json series = nlohmann::json::array();
  std::vector<std::vector<std::string>> csv;
  for (const Landscape& r : runs) {
    nlohmann::json points = nlohmann::json::array();
    std::string line = r.mode + " / " + r.activation + ": " + std::to_string(r.search.converged) + "/" +
                       std::to_string(r.search.starts) + " starts converged to " +
                       counted(static_cast<long long>(r.search.points.size()), "fixed point") + " (" +
                       std::to_string(r.stable) + " stable):";
    for (std::size_t i = 0; i < r.search.points.size(); ++i) {
      points.push_back(fixed_point_json(r.search.points[i], r.stability[i], r.match[i]));
      line += " [pattern " + std::to_string(r.match[i].index) + " cos " + fixed(r.match[i].cosine, 3) +
              " basin " + std::to_string(r.search.points[i].basin_count) + " " +
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
  {
    // Figure: basin size of every mixture-model fixed point, labelled by its best pattern.
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : csv)
      if (row[0].rfind("mixture/", 0) == 0) rows.push_back(row);
    const std::string note = check.write_figure(
        "relu_local_optima_basins", {"landscape", "point", "best_pattern", "cosine", "basin", "verdict"}, rows,
        "set title 'Mixture model, population fixed points: basin sizes (" + counted(starts, "random start") +
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

  const Landscape& relu = runs[0];
  const Landscape& lin = runs[1];
  const auto covered = std::count(relu.covered.begin(), relu.covered.end(), true);
  const std::string L = std::to_string(latent.L);
  double min_cos = 1.0;
  for (std::size_t i = 0; i < relu.search.points.size(); ++i)
    if (relu.stability[i].verdict == analysis::Verdict::stable) min_cos = std::min(min_cos, relu.match[i].cosine);
  check.add_claim({"2-relu", "mixture, ReLU: a stable fixed point within cos " + fixed(cos_threshold, 2) +
                                 " of every pattern",
                   L + "/" + L + " patterns", std::to_string(covered) + "/" + L + " (min cos " + fixed(min_cos, 4) + ")",
                   "cos >= " + fixed(cos_threshold, 2), covered == latent.L});
  check.add_claim({"2-linear", "mixture, linear: one stable direction (up to sign)", "1",
                   std::to_string(lin.stable) + " stable of " + std::to_string(lin.search.points.size()),
                   "exact", lin.stable == 1 && lin.search.points.size() == 1});
  const bool all_converged = std::all_of(runs.begin(), runs.end(), [](const Landscape& r) {
    return r.search.converged == r.search.starts;
  });
  check.add_claim({"2-conv", "every start converges (residual <= " + sci(fpo.tolerance, 1) + ")", "all",
                   all_converged ? "all" : "some did not", "-", all_converged});
  return check.finish();
}
