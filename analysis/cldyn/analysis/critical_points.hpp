#pragma once
/// \file critical_points.hpp
/// Critical points of one node's landscape on the sphere, both kinds: stable points (ends of the projected ascent from random starts) and saddles (the
/// ascent never reaches them; Riemannian Newton from the midpoint of every pair of distinct
/// ascent end points finds the saddles between their basins).
///
/// Also a prediction that uses no training end point (theory §4 Claims 3 and 5):
/// predict_critical_points seeds certified solvers from the model's patterns, the midpoints of
/// every pair and triple of patterns and a fixed budget of random directions, and classifies
/// every certified point by its Morse index; predict_basins measures the fraction of random
/// starts of the population flow that reach each pattern's stable point (Clopper–Pearson
/// intervals), and predicted_coverage turns those fractions into the expected number of
/// patterns recovered by K independent nodes, Σ_l 1 − (1 − b_l)^K, with a band.

#include <cstdint>
#include <string_view>
#include <vector>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/stability.hpp"

namespace cldyn::analysis {

struct CriticalPointSearch {
  /// Distinct ascent end points (in order of first start), then the distinct Newton points that
  /// are none of those (|cos| for a sign-symmetric landscape, cos ≥ dedup_cosine).
  std::vector<FixedPoint> points;
  /// The first `ascent_points` entries of `points` came from the ascent.
  std::size_t ascent_points = 0;
  /// The raw ascent enumeration (starts, converged, assignment).
  FixedPointSearch search;
};

/// `starts` ascent starts (enumerate_fixed_points with `seed`), then Newton from the
/// normalised sum of every pair of distinct ascent end points; Newton results that did not
/// converge or duplicate a known point are dropped. Deterministic at any thread count.
CriticalPointSearch find_critical_points(const NodeLandscape& land, Eigen::Index starts,
                                         std::uint64_t seed, const FixedPointOptions& fpo);

/// Where a seed of predict_critical_points came from.
enum class SeedKind { pattern, pair, triple, random };
std::string_view to_string(SeedKind kind);

struct PredictionOptions {
  /// Random unit directions seeded after the pattern seeds (direction i from
  /// Rng(seed).substream(i)).
  Eigen::Index random_directions = 64;
  std::uint64_t seed = 0;
  bool pairs = true;    ///< seed the normalised sum of every pair of patterns
  bool triples = true;  ///< seed the normalised sum of every triple of patterns
  /// Both solvers' certificate: relative tangent residual ≤ certified.tolerance, duplicates at
  /// cos ≥ certified.dedup_cosine (|cos| if sign-symmetric), zero tangent eigenvalues by
  /// certified.zero_tolerance. certified.random_starts is ignored (the seeds are explicit).
  CertifiedSearchOptions certified;
  void validate() const;
};

/// One certified critical point of the prediction.
struct PredictedPoint {
  FixedPoint point;               ///< w (unit), λ, energy, residual ≤ tolerance (status success)
  StabilityResult stability;      ///< analyze_stability at w (analytic Hessian, no FD check)
  /// Morse index on the sphere: tangent Hessian eigenvalues above +zero tolerance (0: stable;
  /// saddles 1 … d − 2; a minimum d − 1). Degenerate points count only the clearly positive ones.
  Eigen::Index index = 0;
  SeedKind first_seed = SeedKind::random;  ///< kind of the first seed that certified here
  Eigen::Index seeds_reached = 0;          ///< seeds (either solver) that certified here
  bool by_ascent = false;   ///< some seed's ascent + polish (certified_fixed_points) ended here
  bool by_newton = false;   ///< some seed's Riemannian Newton ended here
};

struct CriticalPointPrediction {
  /// Distinct certified points: the ascent's (in seed order) then Newton's (in seed order).
  std::vector<PredictedPoint> points;
  Eigen::MatrixXd seeds;  ///< d × n, unit columns: patterns, pairs, triples, random
  std::vector<SeedKind> seed_kinds;
  /// Per solver: seeds whose end point certified (residual ≤ tolerance).
  Eigen::Index ascent_certified = 0, newton_certified = 0;
  /// Counts of the distinct points by verdict.
  Eigen::Index stable = 0, saddles = 0, minima = 0, degenerate = 0;
};

/// The certified critical points of `landscape` predicted from the model alone: every column of
/// `patterns` (d × L, nonzero), the normalised sums of every pair and triple of them (when
/// enabled; sums of norm < 1e-8 are skipped) and `random_directions` random directions are each
/// run through (a) certified_fixed_points (ascent, polish, certificate: stable points) and
/// (b) Riemannian Newton (newton_fixed_point to the certificate's tolerance: any critical point
/// near the seed, saddles included). Certified end points of both are deduplicated and
/// classified (analyze_stability, index as above). Deterministic at any thread count.
/// A point where ∇E = 0 exactly (a flat region of E, e.g. a ReLU node that every input of a
/// discrete population reaches orthogonally or not at all, while A(w) ≠ 0) has residual 0 by
/// the solvers' convention; it is kept and classifies as degenerate (never stable or a saddle).
CriticalPointPrediction predict_critical_points(const NodeLandscape& landscape,
                                                const Eigen::Ref<const Eigen::MatrixXd>& patterns,
                                                const PredictionOptions& options);

struct BasinOptions {
  Eigen::Index starts = 200;  ///< random starts of the population flow (start i: Rng(seed).substream(i))
  std::uint64_t seed = 0;
  /// A certified stable end point belongs to pattern l when cos(w*, u_l) ≥ cos_threshold and l is
  /// its best pattern (|cos| if sign-symmetric).
  double cos_threshold = 0.9;
  /// Joint level of the L intervals: each pattern's Clopper–Pearson interval is taken at level
  /// 1 − (1 − confidence)/L (Bonferroni), so all L hold together with probability ≥ confidence.
  double confidence = 0.95;
  CertifiedSearchOptions certified;  ///< random_starts and seed are set from the fields above
  void validate() const;
};

/// Predicted basin fractions b_l of the flow (projected ascent, then certified polish).
struct BasinPrediction {
  Eigen::Index starts = 0, converged = 0, unconverged = 0;
  /// Starts certified at a point that is not stable or belongs to no pattern.
  Eigen::Index other = 0;
  std::vector<Eigen::Index> counts;   ///< per pattern: starts certified at one of its stable points
  std::vector<double> fraction;       ///< counts / starts
  /// Per pattern: Clopper–Pearson lower bound of counts/starts and upper bound of
  /// (counts + unconverged)/starts (an unconverged start may belong to any basin), both at
  /// `pattern_confidence`.
  std::vector<double> low, high;
  double pattern_confidence = 0.0;    ///< 1 − (1 − confidence)/L
  CertifiedSearch search;             ///< the raw certified search
};

/// Basins of the landscape's flow from `options.starts` random starts (certified_fixed_points
/// with no user starts), assigned to the columns of `patterns` (d × L).
BasinPrediction predict_basins(const NodeLandscape& landscape, const Eigen::Ref<const Eigen::MatrixXd>& patterns,
                               const BasinOptions& options);

/// Expected number of patterns recovered by K independent nodes, Σ_l 1 − (1 − b_l)^K: `mean`
/// from the fractions, `low`/`high` from the interval ends (the sum increases in every b_l, so
/// the band holds whenever all L intervals do). K ≥ 0.
///
/// The standard deviations are those of one run's count R = Σ_l 1[some node in basin l] when
/// the K nodes fall into the basins independently (multinomial): Var R = Σ_l q_l(1 − q_l) +
/// Σ_{l≠m} [(1 − b_l − b_m)^K − (1 − b_l)^K(1 − b_m)^K] with q_l = 1 − (1 − b_l)^K, evaluated at
/// the fractions (`sd`), the lower ends (`sd_low`) and the upper ends (`sd_high`; 1 − b_l − b_m
/// is clamped at 0 where the upper ends sum past 1).
struct CoveragePrediction {
  double mean = 0.0, low = 0.0, high = 0.0;
  double sd = 0.0, sd_low = 0.0, sd_high = 0.0;
};
CoveragePrediction predicted_coverage(const BasinPrediction& basins, Eigen::Index k);

/// The predicted distribution of the statistic a brute-force experiment measures: the mean,
/// over `runs` independent runs, of the number of patterns recovered by K independent nodes.
/// Each of `replicates` replicates (replicate r from Rng(seed).substream(r)) (1) resamples the
/// basin starts with replacement (nonparametric bootstrap over the categories: each pattern,
/// "other" and "unconverged", which recover no pattern), giving fractions b*, then (2) for every
/// K simulates `runs` runs of K nodes, each node falling into basin l with probability b*_l, and
/// records the mean number of distinct patterns hit. The band at each K is the
/// ((1 − confidence)/2, (1 + confidence)/2) quantile pair of the replicate means, so it holds
/// both the uncertainty of the basins and the run-to-run spread, respects Σ b ≤ 1 and allows
/// a mean of exactly L. Deterministic at any thread count.
struct CoverageBand {
  Eigen::Index k = 0;
  double low = 0.0, high = 0.0;  ///< quantiles of the simulated mean
  double median = 0.0;
};
std::vector<CoverageBand> simulate_coverage_means(const BasinPrediction& basins, const std::vector<Eigen::Index>& widths,
                                                  Eigen::Index runs, double confidence, Eigen::Index replicates,
                                                  std::uint64_t seed);

}  // namespace cldyn::analysis
