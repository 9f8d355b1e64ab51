#pragma once
/// \file critical_points.hpp
/// Critical points of one node's landscape on the sphere, both kinds: stable points (ends of the projected ascent from random starts) and saddles (the
/// ascent never reaches them; Riemannian Newton from the midpoint of every pair of distinct
/// ascent end points finds the saddles between their basins).

#include <cstdint>
#include <vector>

#include "cldyn/analysis/fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"

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

}  // namespace cldyn::analysis
