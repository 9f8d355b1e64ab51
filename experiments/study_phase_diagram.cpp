// study_phase_diagram — the landscape of one node over a grid (issue 18; theory §4, Claim 2):
// for the mixture model with L patterns of pairwise cosine c (overlap) and augmentation noise σ,
// the number of certified stable optima of one ReLU node's exact population landscape, and how
// many patterns have one within cos 0.95 ("near"), with the linear node as the baseline. "One
// stable optimum per pattern" is where #stable = L and the stable points' nearest patterns are
// all different (each pattern has its own optimum, however far it tilts from it as the patterns
// overlap; the smallest such cosine is reported); the heat maps (one per L) show where that
// stops holding. Claim 2 (theory §4: orthonormal patterns, small σ) is asserted on the grid's
// c = 0 column for σ ≤ --small-sigma; the rest of the grid is measured and drawn.
//
// Patterns: u_l = Q·G^{1/2} e_l with Q a random d × L orthonormal frame and G = (1 − c)I + c11ᵀ,
// so ‖u_l‖ = 1 and u_lᵀu_m = c. Weights p_l ∝ 0.2 + 0.1·l (l = 0 … L−1), normalised — distinct,
// so that the linear landscape's top eigenvalue is simple (uniform p with c = 0 makes it
// (L−1)-fold and the linear node has no strict optimum). The search starts from every pattern
// and from --starts random directions (random starts alone miss the small basins of weak
// patterns: with 48 of them, L = 8 at c = 0 found 5–7 of its stable points, varying with σ
// without a trend). Every counted optimum is certified
// (analysis::certified_fixed_points: relative tangent residual ≤ 1e-8, Riemannian Hessian
// negative definite); starts that did not certify are counted as such.
//
// InfoNCE (theory §2, ε = 1) at the temperatures --taus: its landscape has no population form,
// so each InfoNCE cell is one batch of --infonce-n two-view samples of the same model (same
// patterns, σ, weights) and the certified search runs on that sample landscape with the kink
// certificate (CertifiedSearchOptions::infonce_kinks, as check_infonce_optima), from every pattern
// and --infonce-starts random directions. Only ReLU; its heat maps (one per L and τ) are drawn
// and reported, not asserted: theory §4 states no per-cell count for InfoNCE (Claim 4 compares it
// with the quadratic loss on the same data; check_infonce_optima asserts that). A finite batch is
// not the population: at small N the counts include sampling noise (docs/user-guide.md §4.11).
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/latent.hpp"
#include "common/shape.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

/// This check's random streams (contributing.md, Naming; values fixed by the goldens).
enum Stream : std::uint64_t {
  kPatterns = 40,  // the pattern frame, stream 40 + L (one frame per L)
  kPopulationStarts = 50,  // random starts of a population cell, one substream per cell
  kInfoNceSamples = 60,  // an InfoNCE cell's sample batch, one substream per cell
  kInfoNceStarts = 61,  // random starts of an InfoNCE cell
};

struct Options {
  std::vector<double> sigmas = {0.05, 0.07, 0.1, 0.14, 0.2, 0.3, 0.4, 0.55, 0.75, 1.0};
  std::vector<double> overlaps = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::vector<Eigen::Index> Ls = {3, 5, 8};
  Eigen::Index d = 20, starts = 48;
  double cos_threshold = 0.95, small_sigma = 0.4;
  analysis::CertifiedSearchOptions search;
  std::vector<double> taus = {0.1, 1.0};  ///< InfoNCE temperatures (ε = 1); none: --taus 0
  /// The InfoNCE cells' grid: a sub-grid of σ × c (one sample landscape costs ~1000× a population one).
  std::vector<double> infonce_sigmas = {0.05, 0.2, 1.0}, infonce_overlaps = {0.0, 0.5, 0.9};
  Eigen::Index infonce_n = 64, infonce_starts = 8;
  double infonce_dedup = 0.99;  ///< as check_infonce_optima's --cluster-cos
  analysis::FixedPointOptions infonce_ascent = [] {
    analysis::FixedPointOptions f;  // as check_infonce_optima: the polish and certificate follow
    f.stall_window = 300;
    f.max_iterations = 3000;
    return f;
  }();

  std::vector<double> infonce_taus() const {
    std::vector<double> t;
    for (double tau : taus)
      if (tau > 0.0) t.push_back(tau);
    return t;
  }

  void describe(OptionSet& o) {
    o.add("--sigmas", sigmas, "Augmentation noise values σ (grid axis)")->check(positive_number());
    o.add("--overlaps", overlaps, "Pairwise pattern cosines c (grid axis), 0 <= c < 1")->check(CLI::Range(0.0, 0.99));
    o.add("--Ls", Ls, "Numbers of patterns L (one heat map each), L <= d")->check(CLI::Range(1, 1000));
    o.add("--d", d, "Input dimension d")->check(CLI::Range(1, 10000));
    o.add("--starts", starts, "Random starts of the certified search per landscape (besides one per pattern)")->check(CLI::Range(1, 1000000));
    o.add("--cos-threshold", cos_threshold, "Cosine that counts as 'near a pattern'")->check(CLI::Range(0.0, 1.0));
    o.add("--small-sigma", small_sigma, "Largest sigma at which Claim 2 (small sigma) is asserted")->check(positive_number());
    o.add("--taus", taus, "InfoNCE temperatures (eps = 1), one heat map per L each; 0 alone: no InfoNCE cells")
        ->check(CLI::Range(0.0, 1e6));
    o.add("--infonce-sigmas", infonce_sigmas, "The InfoNCE cells' sigmas (each one of --sigmas)")->check(positive_number());
    o.add("--infonce-overlaps", infonce_overlaps, "The InfoNCE cells' overlaps (each one of --overlaps)")
        ->check(CLI::Range(0.0, 0.99));
    o.add("--infonce-n", infonce_n, "Two-view samples per InfoNCE landscape")->check(CLI::Range(2, 100000));
    o.add("--infonce-starts", infonce_starts, "Random starts per InfoNCE landscape (besides one per pattern)")
        ->check(CLI::Range(0, 1000000));
    o.record("certificate/tolerance", search.tolerance);
    o.record("certificate/dedup_cosine", search.dedup_cosine);
    o.record("infonce/eps", kEps);
    o.record("infonce/dedup_cosine", infonce_dedup);
    o.record("infonce/ascent/max_iterations", infonce_ascent.max_iterations);
    o.record("infonce/ascent/stall_window", infonce_ascent.stall_window);
  }
  static constexpr double kEps = 1.0;
  void validate() const {
    // Each InfoNCE cell is set beside the quadratic cell of the same σ and c.
    for (double v : infonce_sigmas)
      if (std::find(sigmas.begin(), sigmas.end(), v) == sigmas.end())
        throw std::invalid_argument("--infonce-sigmas: " + shortest(v) + " is not one of --sigmas");
    for (double v : infonce_overlaps)
      if (std::find(overlaps.begin(), overlaps.end(), v) == overlaps.end())
        throw std::invalid_argument("--infonce-overlaps: " + shortest(v) + " is not one of --overlaps");
    for (Eigen::Index L : Ls)
      if (L > d) throw std::invalid_argument("--Ls: L = " + std::to_string(L) + " violates L <= d = " + std::to_string(d));
  }
  void use_smoke_sizes() {
    sigmas = {0.1, 0.4, 1.0};
    overlaps = {0.0, 0.5, 0.9};
    Ls = {3, 5};
    starts = std::min<Eigen::Index>(starts, 24);
    infonce_sigmas = {0.1, 1.0};
    infonce_overlaps = {0.0, 0.5};
    infonce_n = std::min<Eigen::Index>(infonce_n, 32);
    infonce_starts = std::min<Eigen::Index>(infonce_starts, 4);
  }
};

/// One landscape of the grid.
struct Cell {
  Eigen::Index L = 0;
  double sigma = 0.0, overlap = 0.0;
  bool relu = true;
  double tau = 0.0;  ///< InfoNCE's temperature; 0: the quadratic loss's population landscape
  Eigen::Index stable = 0, saddles = 0, near = 0, matched = 0, starts = 0, certified_starts = 0;
  double max_residual = 0.0;  ///< over the counted (stable) optima
  double min_cosine = 1.0;    ///< smallest cosine of a stable point to its nearest pattern
  /// #stable = L and every pattern is the nearest of one stable point.
  bool one_per_pattern() const { return stable == L && matched == L; }
};

struct Result {
  std::vector<Cell> cells;  // L slowest, then σ, then c, then ReLU before linear
  std::vector<Cell> infonce;  // τ slowest, then L, σ, c (ReLU)
};

Eigen::MatrixXd overlapping_patterns(Eigen::Index d, Eigen::Index L, double c, Rng& rng) {
  const Eigen::MatrixXd g = rng.normal_matrix(d, L);
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(g).householderQ() * Eigen::MatrixXd::Identity(d, L);
  const Eigen::MatrixXd gram = (1.0 - c) * Eigen::MatrixXd::Identity(L, L) + c * Eigen::MatrixXd::Ones(L, L);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(gram);
  const Eigen::MatrixXd root = eig.eigenvectors() * eig.eigenvalues().cwiseSqrt().asDiagonal() * eig.eigenvectors().transpose();
  return q * root;
}

/// The mixture model of a cell: L patterns of pairwise cosine c (one frame per L: the grid varies
/// c and σ only), weights ∝ 0.2 + 0.1·l.
data::LatentModel cell_model(const Options& o, Eigen::Index L, double sigma, double c, std::uint64_t seed) {
  Rng pattern_rng(seed, kPatterns + static_cast<std::uint64_t>(L));
  const Eigen::MatrixXd patterns = overlapping_patterns(o.d, L, c, pattern_rng);
  std::vector<double> weights;
  for (Eigen::Index l = 0; l < L; ++l) weights.push_back(0.2 + 0.1 * static_cast<double>(l));
  data::LatentModelOptions mo;
  mo.d = o.d;
  mo.L = L;
  mo.sigma = sigma;
  mo.probabilities = data::normalise_probabilities(weights);
  return data::LatentModel(mo, patterns);
}

/// Counts the certified points of a search into a cell: stable optima, saddles, patterns near a
/// stable point and patterns that are some stable point's nearest.
void tally(const Options& o, const Eigen::MatrixXd& patterns, bool sign_symmetric, const analysis::CertifiedSearch& found,
           Cell& cell) {
  cell.starts = found.starts;
  cell.certified_starts = found.converged;
  const auto L = static_cast<std::size_t>(patterns.cols());
  std::vector<bool> covered(L, false), nearest(L, false);
  for (const auto& p : found.points) {
    if (!p.stable) {
      ++cell.saddles;
      continue;
    }
    ++cell.stable;
    cell.max_residual = std::max(cell.max_residual, p.residual);
    const PatternMatch m = best_pattern(patterns, p.w, sign_symmetric);
    nearest[static_cast<std::size_t>(m.index)] = true;
    cell.min_cosine = std::min(cell.min_cosine, m.cosine);
    if (m.cosine >= o.cos_threshold) covered[static_cast<std::size_t>(m.index)] = true;
  }
  cell.near = std::count(covered.begin(), covered.end(), true);
  cell.matched = std::count(nearest.begin(), nearest.end(), true);
}

Cell measure(const Options& o, Eigen::Index L, double sigma, double c, bool relu, std::uint64_t seed, std::uint64_t stream) {
  const data::LatentModel model = cell_model(o, L, sigma, c, seed);
  const Eigen::MatrixXd& patterns = model.patterns();
  const Activation act = relu ? Activation::relu() : Activation::linear();
  const analysis::PopulationLandscape land(analysis::DiscretePopulation::from_model(model), act);
  analysis::CertifiedSearchOptions so = o.search;
  so.random_starts = o.starts;
  so.seed = Rng(seed, kPopulationStarts).substream(stream).next_u64();
  // Starts: every pattern (a stable point near a pattern with a small basin is not missed) and
  // --starts random directions; every counted point is certified either way.
  const analysis::CertifiedSearch found = analysis::certified_fixed_points(land, patterns, so);
  Cell cell{L, sigma, c, relu};
  tally(o, patterns, land.sign_symmetric(), found, cell);
  return cell;
}

/// An InfoNCE cell: one batch of --infonce-n samples of the cell's model (stream `stream` of
/// Rng(seed, kInfoNceSamples)), ReLU, the certified search with the kink certificate.
Cell measure_infonce(const Options& o, Eigen::Index L, double sigma, double c, double tau, std::uint64_t seed,
                     std::uint64_t stream) {
  const data::LatentModel model = cell_model(o, L, sigma, c, seed);
  Rng sample_rng = Rng(seed, kInfoNceSamples).substream(stream);
  const analysis::SampleLandscape land(model.sample(o.infonce_n, sample_rng), Activation::relu(),
                                       Loss::infonce(tau, Options::kEps));
  analysis::CertifiedSearchOptions so = o.search;
  so.random_starts = o.infonce_starts;
  so.seed = Rng(seed, kInfoNceStarts).substream(stream).next_u64();
  so.dedup_cosine = o.infonce_dedup;
  so.ascent = o.infonce_ascent;
  so.infonce_kinks = true;
  const analysis::CertifiedSearch found = analysis::certified_fixed_points(land, model.patterns(), so);
  Cell cell{L, sigma, c, true, tau};
  tally(o, model.patterns(), land.sign_symmetric(), found, cell);
  return cell;
}

Result compute(const Options& o, std::uint64_t seed, const Context& ctx) {
  Result r;
  const std::size_t ns = o.sigmas.size(), nc = o.overlaps.size();
  const std::size_t quadratic = o.Ls.size() * ns * nc * 2;
  const std::vector<double> taus = o.infonce_taus();
  const std::size_t nns = o.infonce_sigmas.size(), nnc = o.infonce_overlaps.size();
  const std::size_t infonce = taus.size() * o.Ls.size() * nns * nnc;
  r.cells.resize(quadratic);
  r.infonce.resize(infonce);
  // The InfoNCE cells (the slow ones) are dealt first so that the quadratic ones fill the gaps.
  parallel_runs(static_cast<long>(quadratic + infonce), Rng(seed), 0, "phase diagram", ctx, [&](long i, Rng&) {
    if (static_cast<std::size_t>(i) < infonce) {
      const auto k = static_cast<std::size_t>(i);
      const std::size_t c = k % nnc, s = (k / nnc) % nns, l = (k / nnc / nns) % o.Ls.size(), t = k / nnc / nns / o.Ls.size();
      r.infonce[k] = measure_infonce(o, o.Ls[l], o.infonce_sigmas[s], o.infonce_overlaps[c], taus[t], seed, k);
      return;
    }
    const std::size_t k = static_cast<std::size_t>(i) - infonce;
    const bool relu = k % 2 == 0;
    const std::size_t c = (k / 2) % nc, s = (k / 2 / nc) % ns, l = k / 2 / nc / ns;
    r.cells[k] = measure(o, o.Ls[l], o.sigmas[s], o.overlaps[c], relu, seed, k);
  });
  return r;
}

/// One heat map: the ReLU cells of `cells` with this L (and τ), on the grid's indices (σ and c
/// are not evenly spaced); the label is #stable/#near, a frame marks "one per pattern".
void heat_map(Check& check, const Options& o, const std::vector<Cell>& cells, const std::vector<double>& sigmas,
              const std::vector<double>& overlaps, Eigen::Index L, double tau) {
  std::vector<std::vector<std::string>> rows;
  for (const Cell& c : cells)
    if (c.L == L && c.relu && c.tau == tau)
      rows.push_back({shortest(c.sigma), shortest(c.overlap), std::to_string(c.stable), std::to_string(c.near),
                      c.one_per_pattern() ? "1" : "0", fixed(c.min_cosine, 2), std::to_string(c.certified_starts),
                      std::to_string(c.starts)});
  const std::string stem =
      "phase_diagram_L" + std::to_string(L) + (tau > 0.0 ? "_infonce_tau" + shortest(tau) : std::string());
  const std::string what = tau > 0.0 ? "InfoNCE (tau = " + shortest(tau) + ", N = " + std::to_string(o.infonce_n) +
                                           " samples)"
                                     : std::string("population, quadratic loss");
  auto tics = [](const std::vector<double>& values) {
    std::vector<std::string> items;
    for (std::size_t i = 0; i < values.size(); ++i) items.push_back("'" + shortest(values[i]) + "' " + std::to_string(i));
    std::string text = items.front();
    for (std::size_t i = 1; i < items.size(); ++i) text.append(", ").append(items[i]);
    return text;
  };
  const std::string xtics = tics(sigmas), ytics = tics(overlaps);
  const std::string nc = std::to_string(overlaps.size());
  // InfoNCE cells also say how many starts certified: a low count (or 0 stable optima) there is
  // a search that did not certify, not a landscape without optima.
  const std::string label = tau > 0.0 ? "sprintf(\"%d/%d\\n(%d/%d cert.)\", $3, $4, $7, $8)" : "sprintf('%d/%d', $3, $4)";
  const std::string note = check.write_figure(
      stem, {"sigma", "overlap", "stable", "near", "one_per_pattern", "min_cosine", "certified_starts", "starts"}, rows,
      "set title \"One ReLU node, mixture model, L = " + std::to_string(L) + ", " + what +
          ": certified stable optima\\n(label: stable / near a pattern (cos >= " + shortest(o.cos_threshold) + ")" +
          (tau > 0.0 ? std::string(", certified / all starts") : std::string()) + "; framed: one per pattern)\"\n"
          "set xlabel 'augmentation noise sigma'\nset ylabel 'pattern overlap c (pairwise cosine)'\n"
          "set xtics (" + xtics + ")\nset ytics (" + ytics + ")\n"
          "set xrange [-0.5:" + std::to_string(sigmas.size()) + "-0.5]\nset yrange [-0.5:" + nc + "-0.5]\n"
          "set cblabel 'certified stable optima'\nset palette defined (0 'white', 1 '#deebf7', 2 '#9ecae1', 3 '#4292c6')\n"
          "set cbrange [0:*]\nunset key\n"
          "plot '" + stem + ".csv' using (int($0)/" + nc + "):(int($0)%" + nc + "):3 with image, "
          "'' using (int($0)/" + nc + "):(int($0)%" + nc + "):(" + label + ") with labels font ',9', "
          "'' using (int($0)/" + nc + "):(int($0)%" + nc + "):($5 > 0 ? 0.45 : 1/0):($5 > 0 ? 0.45 : 1/0) "
          "with boxxyerror fs empty border lc rgb 'black' lw 2");
  if (!note.empty()) check.report(note);
}

void report_figures(Check& check, const Options& o, const Result& r) {
  for (Eigen::Index L : o.Ls) heat_map(check, o, r.cells, o.sigmas, o.overlaps, L, 0.0);
  for (double tau : o.infonce_taus())
    for (Eigen::Index L : o.Ls) heat_map(check, o, r.infonce, o.infonce_sigmas, o.infonce_overlaps, L, tau);
}

/// A cell's record in the JSON series.
nlohmann::json cell_json(const Cell& c) {
  nlohmann::json j = {{"L", c.L}, {"sigma", c.sigma}, {"overlap", c.overlap}, {"activation", c.relu ? "relu" : "linear"},
                      {"stable", c.stable}, {"saddles", c.saddles}, {"near_pattern", c.near},
                      {"matched_patterns", c.matched}, {"min_cosine", c.min_cosine},
                      {"one_per_pattern", c.one_per_pattern()}, {"starts", c.starts},
                      {"certified_starts", c.certified_starts}, {"max_residual", c.max_residual}};
  if (c.tau > 0.0) j["tau"] = c.tau;
  return j;
}

/// Per L and σ: the largest overlap up to which every smaller one keeps one optimum per pattern
/// (ReLU cells of `cells` at temperature `tau`; 0: the quadratic loss); one report line per L.
nlohmann::json boundary_of(Check& check, const Options& o, const std::vector<Cell>& cells, const std::vector<double>& sigmas,
                           const std::vector<double>& overlaps, double tau) {
  nlohmann::json boundary = nlohmann::json::array();
  for (Eigen::Index L : o.Ls) {
    std::string line = "L = " + std::to_string(L) + (tau > 0.0 ? ", InfoNCE tau = " + shortest(tau) : std::string()) +
                       ": one stable optimum per pattern (ReLU) up to c =";
    for (double s : sigmas) {
      double last = -1.0;
      for (double ov : overlaps) {  // overlaps in the given order; the boundary is the first break
        const auto it = std::find_if(cells.begin(), cells.end(), [&](const Cell& c) {
          return c.relu && c.tau == tau && c.L == L && c.sigma == s && c.overlap == ov;
        });
        if (!it->one_per_pattern()) break;
        last = ov;
      }
      nlohmann::json b = {{"L", L}, {"sigma", s}, {"max_overlap", last < 0 ? nlohmann::json(nullptr) : nlohmann::json(last)}};
      if (tau > 0.0) b["tau"] = tau;
      boundary.push_back(b);
      line.append(" ").append(last < 0 ? std::string("none") : shortest(last)).append(" (σ ").append(shortest(s)).append(")");
    }
    check.report(line);
  }
  return boundary;
}

void report(Check& check, const Options& o, const Result& r) {
  nlohmann::json cells = nlohmann::json::array();
  Eigen::Index relu_c0_cells = 0, relu_c0_ok = 0, linear_cells = 0, linear_one = 0, uncertified = 0, starts = 0;
  double worst_residual = 0.0;
  for (const Cell& c : r.cells) {
    cells.push_back(cell_json(c));
    uncertified += c.starts - c.certified_starts;
    starts += c.starts;
    worst_residual = std::max(worst_residual, c.max_residual);
    if (c.relu && c.overlap == 0.0 && c.sigma <= o.small_sigma) {
      ++relu_c0_cells;
      if (c.near == c.L) ++relu_c0_ok;
    }
    if (!c.relu) {
      ++linear_cells;
      if (c.stable == 1) ++linear_one;
    }
  }
  check.series()["cells"] = cells;
  const nlohmann::json boundary = boundary_of(check, o, r.cells, o.sigmas, o.overlaps, 0.0);
  check.series()["boundary"] = boundary;
  check.report("certified starts: " + std::to_string(starts - uncertified) + " of " + std::to_string(starts) +
               " (the others are counted nowhere); largest residual of a counted optimum " + sci(worst_residual, 2));
  if (!r.infonce.empty()) {
    // InfoNCE on samples: measured and drawn, not asserted (file comment). Each cell is set
    // beside the quadratic population cell of the same L, σ, c.
    nlohmann::json nce = nlohmann::json::array(), nce_boundary = nlohmann::json::array();
    Eigen::Index nce_starts = 0, nce_uncertified = 0;
    double nce_residual = 0.0;
    for (const Cell& c : r.infonce) {
      nce.push_back(cell_json(c));
      nce_starts += c.starts;
      nce_uncertified += c.starts - c.certified_starts;
      nce_residual = std::max(nce_residual, c.max_residual);
    }
    for (double tau : o.infonce_taus()) {
      Eigen::Index n = 0, at_least = 0, one_per = 0, stable = 0, all_certified = 0;
      for (const Cell& c : r.infonce) {
        if (c.tau != tau) continue;
        const auto q = std::find_if(r.cells.begin(), r.cells.end(), [&](const Cell& p) {
          return p.relu && p.L == c.L && p.sigma == c.sigma && p.overlap == c.overlap;
        });
        ++n;
        stable += c.stable;
        if (c.stable >= q->stable) ++at_least;
        if (c.one_per_pattern()) ++one_per;
        if (c.certified_starts == c.starts) ++all_certified;
      }
      check.report("InfoNCE tau = " + shortest(tau) + " (N = " + std::to_string(o.infonce_n) + " samples): " +
                   fixed(static_cast<double>(stable) / static_cast<double>(n), 2) +
                   " certified stable optima per cell on average; as many as the quadratic population landscape or more in " +
                   std::to_string(at_least) + "/" + std::to_string(n) + " cells; one per pattern in " +
                   std::to_string(one_per) + "/" + std::to_string(n) + "; every start certified in " +
                   std::to_string(all_certified) + "/" + std::to_string(n) + " (elsewhere the counts are lower bounds)");
      for (auto& b : boundary_of(check, o, r.infonce, o.infonce_sigmas, o.infonce_overlaps, tau)) nce_boundary.push_back(b);
    }
    check.series()["infonce_cells"] = nce;
    check.series()["infonce_boundary"] = nce_boundary;
    check.report("InfoNCE certified starts: " + std::to_string(nce_starts - nce_uncertified) + " of " +
                 std::to_string(nce_starts) + " (the others are counted nowhere); largest residual of a counted optimum " +
                 sci(nce_residual, 2));
  }
  report_figures(check, o, r);
  check.add_claim(Claim::of("PD-relu-c0",
                            "Claim 2 on the grid: at c = 0 (orthonormal patterns) and sigma <= " + shortest(o.small_sigma) +
                                ", every pattern has a certified stable ReLU optimum within cos " +
                                shortest(o.cos_threshold) + ", at every such sigma and every L",
                            "all", std::to_string(relu_c0_ok) + "/" + std::to_string(relu_c0_cells) + " cells",
                            static_cast<double>(relu_c0_ok), Bound::all_of(static_cast<double>(relu_c0_cells)))
                      .needs(relu_c0_cells > 0));
  check.add_claim(Claim::of("PD-linear-one", "the linear node has exactly one certified stable direction at every grid point",
                            "all", std::to_string(linear_one) + "/" + std::to_string(linear_cells),
                            static_cast<double>(linear_one), Bound::all_of(static_cast<double>(linear_cells))));
}

}  // namespace

const cldyn::experiments::CheckInfo kInfo{
    "phase_diagram",
    "The landscape of one ReLU node over a grid of augmentation noise sigma x pattern overlap c x L: certified "
    "stable optima, how many sit near a pattern, where 'one per pattern' stops holding; linear baseline; InfoNCE on "
    "samples at two temperatures",
    "study_phase_diagram"};

CLDYN_REGISTER_CHECK(kInfo, Options, Result, compute, report)
