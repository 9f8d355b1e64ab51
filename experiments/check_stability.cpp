// check_stability — theory §3 Stability. At every critical point found on the sphere (stable
// points by ascent from random starts, saddles by Riemannian Newton from midpoints of pairs of
// stable points): the analytic Hessian agrees with central differences of the analytic
// gradient, and the second-order verdict is confirmed dynamically — a small perturbation of a
// stable point returns to it under the ascent, a perturbation of a saddle along its unstable
// tangent direction leaves. On a finite sample (uniform α, gates locally constant) the verdict
// must equal the eigen-criterion "λ* = λ_max(A(w*)) and simple".
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/check.hpp"
#include "common/critical_points.hpp"
#include "common/latent.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct Critical {
  std::string landscape;
  analysis::FixedPoint fp;
  analysis::StabilityResult st;
  bool confirmed = false;
  double end_cosine = 0.0;  // cosine between the critical point and where the perturbed run ended
};

/// Perturbs w* by δ along `direction` (tangent, unit), runs the ascent, returns the cosine
/// between w* and the end point.
double perturb_and_run(const analysis::NodeLandscape& land, const Eigen::VectorXd& w, const Eigen::VectorXd& direction,
                       double delta, const analysis::FixedPointOptions& fpo) {
  const analysis::FixedPoint end = analysis::find_fixed_point(land, w + delta * direction, fpo);
  const double c = end.w.dot(w);
  return land.sign_symmetric() ? std::abs(c) : c;
}

std::vector<Critical> critical_points(const std::string& name, const analysis::NodeLandscape& land,
                                      Eigen::Index starts, std::uint64_t seed, double delta,
                                      const analysis::FixedPointOptions& fpo) {
  // Stable points by ascent, saddles by Newton from midpoints of pairs (common/critical_points).
  const std::vector<analysis::FixedPoint> points = find_critical_points(land, starts, seed, fpo).points;
  std::vector<Critical> out;
  Rng rng(seed, 7);
  for (const auto& fp : points) {
    Critical c;
    c.landscape = name;
    c.fp = fp;
    c.st = analysis::analyze_stability(land, fp.w);
    if (c.st.verdict == analysis::Verdict::stable) {
      const Eigen::MatrixXd basis = analysis::tangent_basis(fp.w);
      const Eigen::VectorXd t = (basis * rng.normal_matrix(basis.cols(), 1)).col(0).normalized();
      c.end_cosine = perturb_and_run(land, fp.w, t, delta, fpo);
      c.confirmed = c.end_cosine >= 1.0 - 1e-6;  // back at w*: the residual 1e-10 fixes it far tighter
    } else if (c.st.verdict == analysis::Verdict::saddle) {
      c.end_cosine = perturb_and_run(land, fp.w, c.st.tangent_top_vector, delta, fpo);
      c.confirmed = c.end_cosine < fpo.dedup_cosine;  // ended at another point
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Check check("stability",
              "Stability at every fixed point: analytic vs finite-difference Hessian, and the "
              "verdict confirmed by perturbing and re-running the dynamics");
  LatentFlags latent;
  latent.add_to(check);
  Eigen::Index starts = 40, n_sample = 500;
  double delta = 0.05;
  analysis::FixedPointOptions fpo;
  auto& app = check.app();
  app.add_option("--starts", starts, "Random starts per landscape")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--delta", delta, "Size of the perturbation")->check(CLI::Range(1e-6, 1.0))->capture_default_str();
  app.add_option("--n-sample", n_sample, "Batch size of the finite-sample landscape")->check(CLI::Range(2, 10000000))->capture_default_str();
  if (const int rc = check.parse(argc, argv); rc >= 0) return rc;
  if (check.smoke()) {
    starts = std::min<Eigen::Index>(starts, 12);
    n_sample = std::min<Eigen::Index>(n_sample, 400);
  }
  check.params() = latent.params();
  check.params()["starts"] = starts;
  check.params()["delta"] = delta;
  check.params()["n_sample"] = n_sample;
  check.params()["fixed_point"] = {{"step", fpo.step}, {"tolerance", fpo.tolerance}, {"dedup_cosine", fpo.dedup_cosine}};
  // parse() has validated the latent flags (LatentFlags::validate), so the models build.
  const std::vector<data::LatentModel> models = {latent.model(data::LatentMode::mixture, check.seed()),
                                                 latent.model(data::LatentMode::summation, check.seed())};
  check.begin();

  std::vector<Critical> all;
  std::vector<Critical> sample;
  Eigen::Index sample_search_converged = 0;
  double sample_stalled_residual = 0.0;
  {
    for (const data::LatentModel& model : models) {
      const auto pop = analysis::DiscretePopulation::from_model(model);
      for (const Activation& act : {Activation::relu(), Activation::linear()}) {
        const analysis::PopulationLandscape land(pop, act);
        auto cps = critical_points(std::string("population/") + data::to_string(model.mode()) + "/" + act.name(),
                                   land, starts, check.seed(), delta, fpo);
        all.insert(all.end(), cps.begin(), cps.end());
      }
    }
    const data::LatentModel& model = models[0];  // mixture
    Rng data_rng(check.seed(), 11);
    const analysis::SampleLandscape land(model.sample(n_sample, data_rng), Activation::relu(), Loss::quadratic());
    sample = critical_points("sample/mixture/relu", land, starts, check.seed(), delta, fpo);
    const analysis::FixedPointSearch raw = analysis::enumerate_fixed_points(land, starts, check.seed(), fpo);
    sample_search_converged = raw.converged;
    std::vector<double> stalled;
    for (Eigen::Index i = 0; i < starts; ++i) {
      if (raw.assignment[static_cast<std::size_t>(i)] >= 0) continue;
      Rng start_rng = Rng(check.seed()).substream(static_cast<std::uint64_t>(i));
      const Eigen::VectorXd w0 = start_rng.normal_matrix(land.dim(), 1).col(0);
      stalled.push_back(analysis::find_fixed_point(land, w0, fpo).residual);
    }
    if (!stalled.empty()) {
      std::nth_element(stalled.begin(), stalled.begin() + static_cast<long>(stalled.size() / 2), stalled.end());
      sample_stalled_residual = stalled[stalled.size() / 2];
    }
  }

  double fd_worst = 0.0;
  long stable = 0, saddles = 0, other = 0, confirmed = 0;
  nlohmann::json series = nlohmann::json::array();
  auto describe = [&](const Critical& c) {
    check.report(c.landscape + ": " + std::string(analysis::to_string(c.st.verdict)) + " lambda " + sci(c.st.lambda, 4) +
                 ", top tangent eig " + sci(c.st.tangent_eigenvalues(0), 3) + ", FD err " + sci(c.st.fd_relative_error, 2) +
                 ", eigengap " + sci(c.st.eigengap, 3) + ", |(dA/dw)w| " + sci(c.st.remainder_norm, 3) +
                 ", perturbed run ends at cos " + fixed(c.end_cosine, 6) + (c.confirmed ? " (confirmed)" : " (NOT confirmed)"));
    series.push_back({{"landscape", c.landscape}, {"verdict", analysis::to_string(c.st.verdict)},
                      {"lambda", c.st.lambda}, {"is_top", c.st.is_top}, {"eigengap", c.st.eigengap},
                      {"remainder_norm", c.st.remainder_norm}, {"hessian_fd_relative_error", c.st.fd_relative_error},
                      {"gate_margin", std::isfinite(c.st.gate_margin) ? nlohmann::json(c.st.gate_margin) : nlohmann::json(nullptr)},
                      {"tangent_hessian_eigenvalues", std::vector<double>(c.st.tangent_eigenvalues.data(), c.st.tangent_eigenvalues.data() + c.st.tangent_eigenvalues.size())},
                      {"perturbed_end_cosine", c.end_cosine}, {"confirmed", c.confirmed}});
  };
  for (const Critical& c : all) {
    describe(c);
    fd_worst = std::max(fd_worst, c.st.fd_relative_error);
    if (c.st.verdict == analysis::Verdict::stable) ++stable;
    else if (c.st.verdict == analysis::Verdict::saddle) ++saddles;
    else ++other;
    confirmed += c.confirmed ? 1 : 0;
  }
  long sample_agree = 0, sample_confirmed = 0;
  double min_margin = std::numeric_limits<double>::infinity();
  for (const Critical& c : sample) {
    describe(c);
    // Eigen-criterion of theory §3 (finite sample): stable iff λ* = λ_max(A) and simple.
    const bool criterion = c.st.is_top && c.st.eigengap > 1e-9 * std::abs(c.st.lambda);
    sample_agree += (criterion == (c.st.verdict == analysis::Verdict::stable)) ? 1 : 0;
    sample_confirmed += c.confirmed ? 1 : 0;
    min_margin = std::min(min_margin, c.st.gate_margin);
  }
  check.series()["critical_points"] = series;

  const long total = static_cast<long>(all.size());
  // Central differences with a 1e-6 step: truncation ~1e-12 and rounding ~1e-10 relative to the
  // Hessian's scale; 1e-6 is theory §4's contract and catches any missing term (R is ~20%).
  check.add_claim({"S-fd", "population Hessian = central differences of the gradient (" + std::to_string(total) +
                               " critical points)", "0", sci(fd_worst), "1e-6", fd_worst <= 1e-6 && total > 0});
  check.add_claim({"S-kinds", "second-order verdicts decide (no degenerate point)",
                   "stable or saddle", std::to_string(stable) + " stable, " + std::to_string(saddles) + " saddle, " +
                                            std::to_string(other) + " other", "0 other", other == 0});
  check.add_claim({"S-dyn", "perturbed stable points return, saddles leave (population)",
                   std::to_string(stable + saddles) + " confirmed", std::to_string(confirmed) + " confirmed", "all",
                   confirmed == stable + saddles && saddles > 0});
  // Finite sample: exact fixed points need every sample off the gate boundary. With Gaussian
  // view noise the ascent typically settles on a gate boundary instead (a kink of E, where
  // P⊥∇E jumps and never vanishes); those starts are reported, and the eigen-criterion is
  // asserted on the exact fixed points that do exist.
  check.report("finite sample (N = " + std::to_string(n_sample) + ", ReLU, quadratic loss): " +
               std::to_string(sample_search_converged) + "/" + std::to_string(starts) +
               " starts reached an exact fixed point; the others stalled at a gate boundary "
               "(median stalled residual " + sci(sample_stalled_residual, 2) + ")");
  if (!sample.empty()) {
    check.add_claim({"S-sample", "finite sample: stable iff lambda* = lambda_max(A(w*)) and simple",
                     std::to_string(sample.size()) + " agree",
                     std::to_string(sample_agree) + " agree, " + std::to_string(sample_confirmed) +
                         " confirmed dynamically (min gate margin " + sci(min_margin, 2) + ")",
                     "all", sample_agree == static_cast<long>(sample.size()) &&
                                sample_confirmed == static_cast<long>(sample.size())});
  }
  return check.finish();
}
