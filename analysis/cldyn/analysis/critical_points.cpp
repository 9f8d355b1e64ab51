#include "cldyn/analysis/critical_points.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "cldyn/analysis/statistics.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

CriticalPointSearch find_critical_points(const NodeLandscape& land, Eigen::Index starts,
                                         std::uint64_t seed, const FixedPointOptions& fpo) {
  CriticalPointSearch out;
  out.search = enumerate_fixed_points(land, starts, seed, fpo);
  out.points = out.search.points;
  out.ascent_points = out.points.size();
  // Saddles: Newton from the midpoint of every pair of distinct ascent end points.
  for (std::size_t a = 0; a < out.ascent_points; ++a) {
    for (std::size_t b = a + 1; b < out.ascent_points; ++b) {
      const Eigen::VectorXd mid = out.points[a].w + out.points[b].w;
      if (mid.norm() < 1e-8) continue;
      const FixedPoint nf = newton_fixed_point(land, mid, fpo);
      if (nf.status != Status::success) continue;
      const bool known = std::any_of(out.points.begin(), out.points.end(), [&](const FixedPoint& p) {
        const double c = p.w.dot(nf.w);
        return (land.sign_symmetric() ? std::abs(c) : c) >= fpo.dedup_cosine;
      });
      if (!known) out.points.push_back(nf);
    }
  }
  return out;
}

std::string_view to_string(SeedKind kind) {
  switch (kind) {
    case SeedKind::pattern: return "pattern";
    case SeedKind::pair: return "pair";
    case SeedKind::triple: return "triple";
    case SeedKind::random: return "random";
  }
  return "unknown";
}

void PredictionOptions::validate() const {
  require(random_directions >= 0, "PredictionOptions", "random_directions", random_directions,
          "random_directions >= 0");
  certified.validate();
}

void BasinOptions::validate() const {
  constexpr const char* where = "BasinOptions";
  require(starts >= 1, where, "starts", starts, "starts >= 1");
  require(cos_threshold >= -1.0 && cos_threshold <= 1.0, where, "cos_threshold", cos_threshold,
          "-1 <= cos_threshold <= 1");
  require(confidence > 0.0 && confidence < 1.0, where, "confidence", confidence, "0 < confidence < 1");
  certified.validate();
}

namespace {

double similarity(const Eigen::VectorXd& a, const Eigen::VectorXd& b, bool sign_symmetric) {
  const double c = a.dot(b);
  return sign_symmetric ? std::abs(c) : c;
}

void require_patterns(const NodeLandscape& landscape,
                      const Eigen::Ref<const Eigen::MatrixXd>& patterns, const char* where) {
  require(patterns.cols() >= 1, where, "columns of patterns", patterns.cols(), ">= 1");
  require(patterns.rows() == landscape.dim(), where, "rows of patterns", patterns.rows(),
          "== d = " + std::to_string(landscape.dim()));
  require_finite(patterns, where, "patterns");
  for (Eigen::Index l = 0; l < patterns.cols(); ++l)
    require(patterns.col(l).norm() > 0.0, where, "norm of pattern " + std::to_string(l), patterns.col(l).norm(),
            "> 0");
}

}  // namespace

CriticalPointPrediction predict_critical_points(const NodeLandscape& landscape,
                                                const Eigen::Ref<const Eigen::MatrixXd>& patterns,
                                                const PredictionOptions& options) {
  constexpr const char* where = "predict_critical_points";
  options.validate();
  require_patterns(landscape, patterns, where);
  const Eigen::Index d = landscape.dim(), L = patterns.cols();
  const bool sym = landscape.sign_symmetric();

  // Seeds, from the model only: patterns, pair and triple midpoints, random directions.
  std::vector<Eigen::VectorXd> seeds;
  CriticalPointPrediction out;
  auto add = [&](const Eigen::VectorXd& v, SeedKind kind) {
    if (v.norm() < 1e-8) return;
    seeds.push_back(v.normalized());
    out.seed_kinds.push_back(kind);
  };
  std::vector<Eigen::VectorXd> unit(static_cast<std::size_t>(L));
  for (Eigen::Index l = 0; l < L; ++l) unit[static_cast<std::size_t>(l)] = patterns.col(l).normalized();
  for (Eigen::Index a = 0; a < L; ++a) add(unit[static_cast<std::size_t>(a)], SeedKind::pattern);
  if (options.pairs)
    for (Eigen::Index a = 0; a < L; ++a)
      for (Eigen::Index b = a + 1; b < L; ++b)
        add(unit[static_cast<std::size_t>(a)] + unit[static_cast<std::size_t>(b)], SeedKind::pair);
  if (options.triples)
    for (Eigen::Index a = 0; a < L; ++a)
      for (Eigen::Index b = a + 1; b < L; ++b)
        for (Eigen::Index c = b + 1; c < L; ++c)
          add(unit[static_cast<std::size_t>(a)] + unit[static_cast<std::size_t>(b)] + unit[static_cast<std::size_t>(c)],
              SeedKind::triple);
  const Rng root(options.seed);
  for (Eigen::Index i = 0; i < options.random_directions; ++i) {
    Rng rng = root.substream(static_cast<std::uint64_t>(i));
    add(rng.normal_matrix(d, 1).col(0), SeedKind::random);
  }
  const auto n = static_cast<Eigen::Index>(seeds.size());
  out.seeds.resize(d, n);
  for (Eigen::Index i = 0; i < n; ++i) out.seeds.col(i) = seeds[static_cast<std::size_t>(i)];

  // (a) Ascent, polish, certificate: the stable points the flow reaches from each seed.
  CertifiedSearchOptions co = options.certified;
  co.random_starts = 0;
  const CertifiedSearch ascent = certified_fixed_points(landscape, out.seeds, co);
  out.ascent_certified = ascent.converged;
  // (b) Riemannian Newton from each seed, to the same tolerance: any nearby critical point.
  FixedPointOptions no = options.certified.ascent;
  no.tolerance = options.certified.tolerance;
  std::vector<FixedPoint> newton(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(n); ++i)
    newton[static_cast<std::size_t>(i)] = newton_fixed_point(landscape, out.seeds.col(i), no);

  // Deduplicate: the ascent's points first (in seed order), then Newton's.
  auto place = [&](const Eigen::VectorXd& w, const FixedPoint* fp, double residual, SeedKind kind,
                   bool by_ascent) {
    for (PredictedPoint& p : out.points)
      if (similarity(p.point.w, w, sym) >= co.dedup_cosine) {
        ++p.seeds_reached;
        (by_ascent ? p.by_ascent : p.by_newton) = true;
        return;
      }
    PredictedPoint p;
    if (fp != nullptr) {
      p.point = *fp;
    } else {
      p.point.w = w;
      p.point.status = Status::success;
      p.point.message = "certified (ascent and polish)";
      p.point.residual = residual;
    }
    p.point.basin_count = 0;
    p.point.starts.clear();
    p.first_seed = kind;
    p.seeds_reached = 1;
    (by_ascent ? p.by_ascent : p.by_newton) = true;
    out.points.push_back(std::move(p));
  };
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index a = ascent.assignment[static_cast<std::size_t>(i)];
    if (a < 0) continue;
    const CertifiedPoint& cp = ascent.points[static_cast<std::size_t>(a)];
    place(cp.w, nullptr, cp.residual, out.seed_kinds[static_cast<std::size_t>(i)], true);
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    const FixedPoint& fp = newton[static_cast<std::size_t>(i)];
    if (fp.status != Status::success || !(fp.residual <= co.tolerance)) continue;
    ++out.newton_certified;
    place(fp.w, &fp, fp.residual, out.seed_kinds[static_cast<std::size_t>(i)], false);
  }

  // Classification (analytic Hessian; the finite-difference cross-check is the tests' business).
  StabilityOptions so;
  so.zero_tolerance = co.zero_tolerance;
  so.finite_difference_check = false;
#pragma omp parallel for schedule(dynamic)
  for (long p = 0; p < static_cast<long>(out.points.size()); ++p) {
    PredictedPoint& pp = out.points[static_cast<std::size_t>(p)];
    pp.point.lambda = landscape.gradient(pp.point.w).dot(pp.point.w);
    pp.point.energy = landscape.energy(pp.point.w);
    pp.stability = analyze_stability(landscape, pp.point.w, so);
    const double zero = co.zero_tolerance * std::max(pp.stability.hessian_norm, std::abs(pp.stability.lambda));
    pp.index = (pp.stability.tangent_eigenvalues.array() > zero).count();
  }
  for (const PredictedPoint& p : out.points) {
    switch (p.stability.verdict) {
      case Verdict::stable: ++out.stable; break;
      case Verdict::saddle: ++out.saddles; break;
      case Verdict::minimum: ++out.minima; break;
      case Verdict::degenerate: ++out.degenerate; break;
    }
  }
  return out;
}

BasinPrediction predict_basins(const NodeLandscape& landscape, const Eigen::Ref<const Eigen::MatrixXd>& patterns,
                               const BasinOptions& options) {
  constexpr const char* where = "predict_basins";
  options.validate();
  require_patterns(landscape, patterns, where);
  const Eigen::Index L = patterns.cols();
  const bool sym = landscape.sign_symmetric();
  CertifiedSearchOptions co = options.certified;
  co.random_starts = options.starts;
  co.seed = options.seed;
  BasinPrediction out;
  out.search = certified_fixed_points(landscape, Eigen::MatrixXd(landscape.dim(), 0), co);
  out.starts = out.search.starts;
  out.converged = out.search.converged;
  out.unconverged = out.search.unconverged;
  out.counts.assign(static_cast<std::size_t>(L), 0);
  for (const CertifiedPoint& cp : out.search.points) {
    Eigen::Index best = -1;
    double best_cos = -2.0;
    for (Eigen::Index l = 0; l < L; ++l) {
      const double c = similarity(patterns.col(l).normalized(), cp.w, sym);
      if (c > best_cos) {
        best_cos = c;
        best = l;
      }
    }
    if (cp.stable && best_cos >= options.cos_threshold) out.counts[static_cast<std::size_t>(best)] += cp.basin_count;
    else out.other += cp.basin_count;
  }
  out.pattern_confidence = 1.0 - (1.0 - options.confidence) / static_cast<double>(L);
  const double n = static_cast<double>(out.starts);
  for (Eigen::Index l = 0; l < L; ++l) {
    const Eigen::Index k = out.counts[static_cast<std::size_t>(l)];
    out.fraction.push_back(static_cast<double>(k) / n);
    out.low.push_back(clopper_pearson(k, out.starts, out.pattern_confidence).low);
    out.high.push_back(clopper_pearson(k + out.unconverged, out.starts, out.pattern_confidence).high);
  }
  return out;
}

namespace {

/// Mean and standard deviation of R = Σ_l 1[some of K nodes in basin l], basins b (multinomial).
std::pair<double, double> coverage_moments(const std::vector<double>& b, double k) {
  auto miss = [k](double x) { return std::pow(std::max(0.0, 1.0 - x), k); };
  double mean = 0.0, var = 0.0;
  for (std::size_t l = 0; l < b.size(); ++l) {
    const double q = 1.0 - miss(b[l]);
    mean += q;
    var += q * (1.0 - q);
    for (std::size_t m = 0; m < b.size(); ++m)
      if (m != l) var += miss(b[l] + b[m]) - miss(b[l]) * miss(b[m]);
  }
  return {mean, std::sqrt(std::max(0.0, var))};
}

}  // namespace

CoveragePrediction predicted_coverage(const BasinPrediction& basins, Eigen::Index k) {
  require(k >= 0, "predicted_coverage", "K", k, "K >= 0");
  const double kk = static_cast<double>(k);
  CoveragePrediction out;
  std::tie(out.mean, out.sd) = coverage_moments(basins.fraction, kk);
  std::tie(out.low, out.sd_low) = coverage_moments(basins.low, kk);
  std::tie(out.high, out.sd_high) = coverage_moments(basins.high, kk);
  return out;
}

std::vector<CoverageBand> simulate_coverage_means(const BasinPrediction& basins, const std::vector<Eigen::Index>& widths,
                                                  Eigen::Index runs, double confidence, Eigen::Index replicates,
                                                  std::uint64_t seed) {
  constexpr const char* where = "simulate_coverage_means";
  require(basins.starts >= 1, where, "basin starts", basins.starts, ">= 1");
  require(runs >= 1, where, "runs", runs, "runs >= 1");
  require(replicates >= 2, where, "replicates", replicates, "replicates >= 2");
  require(confidence > 0.0 && confidence < 1.0, where, "confidence", confidence, "0 < confidence < 1");
  for (Eigen::Index k : widths) require(k >= 0, where, "K", k, "K >= 0");
  const std::size_t L = basins.counts.size();
  // Categories: the L patterns, then "other", then "unconverged" (neither recovers a pattern).
  std::vector<double> cumulative;
  double acc = 0.0;
  const double n = static_cast<double>(basins.starts);
  for (Eigen::Index c : basins.counts) cumulative.push_back(acc += static_cast<double>(c) / n);
  cumulative.push_back(acc += static_cast<double>(basins.other) / n);
  cumulative.push_back(1.0);
  auto draw = [](const std::vector<double>& cum, Rng& rng) {
    const double u = rng.uniform();
    return static_cast<std::size_t>(std::upper_bound(cum.begin(), cum.end() - 1, u) - cum.begin());
  };
  const std::size_t nk = widths.size();
  std::vector<std::vector<double>> means(nk, std::vector<double>(static_cast<std::size_t>(replicates)));
  const Rng root(seed);
#pragma omp parallel for schedule(static)
  for (long r = 0; r < static_cast<long>(replicates); ++r) {
    Rng rng = root.substream(static_cast<std::uint64_t>(r));
    std::vector<double> counts(L + 2, 0.0);
    for (Eigen::Index i = 0; i < basins.starts; ++i) counts[draw(cumulative, rng)] += 1.0;
    std::vector<double> cum;
    double a = 0.0;
    for (std::size_t c = 0; c + 1 < counts.size(); ++c) cum.push_back(a += counts[c] / n);
    cum.push_back(1.0);
    std::vector<char> hit(L + 2);
    for (std::size_t ki = 0; ki < nk; ++ki) {
      double total = 0.0;
      for (Eigen::Index run = 0; run < runs; ++run) {
        std::fill(hit.begin(), hit.end(), 0);
        for (Eigen::Index node = 0; node < widths[ki]; ++node) hit[draw(cum, rng)] = 1;
        total += static_cast<double>(std::count(hit.begin(), hit.begin() + static_cast<long>(L), 1));
      }
      means[ki][static_cast<std::size_t>(r)] = total / static_cast<double>(runs);
    }
  }
  auto quantile = [](std::vector<double> v, double q) {  // type-7 (linear interpolation)
    std::sort(v.begin(), v.end());
    const double h = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(h));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (h - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  std::vector<CoverageBand> out;
  for (std::size_t ki = 0; ki < nk; ++ki) {
    CoverageBand b;
    b.k = widths[ki];
    b.low = quantile(means[ki], 0.5 * (1.0 - confidence));
    b.high = quantile(means[ki], 0.5 * (1.0 + confidence));
    b.median = quantile(means[ki], 0.5);
    out.push_back(b);
  }
  return out;
}

}  // namespace cldyn::analysis
