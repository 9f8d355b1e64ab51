#include "cldyn/analysis/critical_points.hpp"

#include <algorithm>
#include <cmath>

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

}  // namespace cldyn::analysis
