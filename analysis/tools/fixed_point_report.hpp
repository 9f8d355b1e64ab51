#pragma once
/// \file fixed_point_report.hpp
/// JSON and text output of `cldyn-analyze --find-fixed-points` (issue 15): the certified fixed
/// points of the sample landscape of the user's views (analysis::certified_fixed_points), and
/// which of the user's trained nodes sits at which point.

#include <Eigen/Core>
#include <nlohmann/json.hpp>
#include <string>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/statistics.hpp"

namespace cldyn::tools {

/// Confidence level of the basin-fraction intervals.
inline constexpr double kBasinConfidence = 0.95;

/// Basin intervals: analysis::clopper_pearson at kBasinConfidence.
using analysis::BinomialInterval;

/// The search as JSON:
///  - "starts", "user_starts", "random_starts", "converged", "unconverged", "tolerance",
///    "certified_by" (starts certified by the ascent, the self-consistent iteration, Newton, the
///    active-set solver of the kink certificate);
///  - "points": per certified point kind ("smooth" or "kink"), active_set_size, active_set (rows
///    of the landscape's [X; X']: r < N is sample r of view 1, r ≥ N sample r − N of view 2; with
///    both views, of the doubled batch), stable, residual,
///    slack (kinks: the relative slack of conditions (i)/(ii); null for smooth points), lambda,
///    energy, max_tangent_hessian_eigenvalue (kinks: of the face Hessian), eigen_criterion,
///    eigengap (kinks: of A on the face), gate_margin (rows outside the active set; null = smooth
///    landscape),
///    basin_count, basin_fraction = basin_count / random_starts with its Clopper–Pearson
///    interval, starts;
///  - "user_nodes": per column j of `user_w` (d × K, the user's start j): "point" it converged to
///    (null when it did not) with its final "residual", "norm" of the column, and the nearest
///    certified point by cos (|cos|, "nearest_abs_cosine", when search.sign_symmetric) with that
///    cosine (null if none).
/// `user_w` must have search.user_starts columns (throws std::invalid_argument otherwise).
nlohmann::ordered_json fixed_point_json(const analysis::CertifiedSearch& search,
                                        const Eigen::MatrixXd& user_w);

/// A few lines for stdout: the counts, one line per point, one line per user node.
std::string fixed_point_summary(const analysis::CertifiedSearch& search, const Eigen::MatrixXd& user_w);

}  // namespace cldyn::tools
