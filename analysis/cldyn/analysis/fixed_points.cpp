#include "cldyn/analysis/fixed_points.hpp"

#include <cmath>
#include <limits>

#include <Eigen/QR>

#include "cldyn/analysis/stability.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

void FixedPointOptions::validate() const {
  constexpr const char* where = "FixedPointOptions";
  require(std::isfinite(step) && step > 0.0, where, "step", step, "step > 0");
  require(max_iterations >= 1, where, "max_iterations", max_iterations, "max_iterations >= 1");
  require(std::isfinite(tolerance) && tolerance > 0.0, where, "tolerance", tolerance, "tolerance > 0");
  require(stall_window >= 0, where, "stall_window", stall_window, "stall_window >= 0");
  require(dedup_cosine > 0.0 && dedup_cosine <= 1.0, where, "dedup_cosine", dedup_cosine,
          "0 < dedup_cosine <= 1");
}

namespace {

struct Residual {
  double relative, absolute, lambda;
};

Residual tangent_residual(const Eigen::VectorXd& w, const Eigen::VectorXd& g) {
  const double lambda = w.dot(g);
  const double abs = (g - lambda * w).norm();
  const double gn = g.norm();
  return {gn > 0.0 ? abs / gn : 0.0, abs, lambda};
}

void validate_start(const NodeLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w0,
                    const char* where) {
  require(w0.size() == landscape.dim(), where, "size of w0", w0.size(),
          "== d = " + std::to_string(landscape.dim()));
  require_finite(w0, where, "w0");
  require(w0.norm() > 0.0, where, "norm of w0", w0.norm(), "w0 != 0");
}

/// Evaluates ∇E at w into g and records w with its certificate in fp (iteration `it`).
/// Returns false (status non_finite) when the gradient is not finite.
bool evaluate(const NodeLandscape& landscape, const Eigen::VectorXd& w, Eigen::Index it,
              FixedPoint& fp, Eigen::VectorXd& g) {
  g = landscape.gradient(w);
  if (!g.allFinite()) {
    fp.status = Status::non_finite;
    fp.message = "non-finite gradient at iteration " + std::to_string(it);
    return false;
  }
  const Residual r = tangent_residual(w, g);
  fp.w = w;
  fp.lambda = r.lambda;
  fp.residual = r.relative;
  fp.residual_abs = r.absolute;
  fp.iterations = it;
  return true;
}

}  // namespace

FixedPoint find_fixed_point(const NodeLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w0,
                            const FixedPointOptions& options) {
  options.validate();
  validate_start(landscape, w0, "find_fixed_point");

  FixedPoint fp;
  Eigen::VectorXd w = w0.normalized();
  const double trace = landscape.gated_covariance_trace(w);
  if (!std::isfinite(trace) || trace <= 0.0) {
    fp.w = w;
    fp.status = std::isfinite(trace) ? Status::not_converged : Status::non_finite;
    fp.message = std::isfinite(trace) ? "A(w0) = 0 (every gate closed): no ascent direction"
                                      : "non-finite tr A(w0)";
    return fp;
  }
  const double eta = options.step / trace;
  double best = std::numeric_limits<double>::infinity();
  Eigen::Index best_at = 0;
  for (Eigen::Index it = 0;; ++it) {
    Eigen::VectorXd g;
    if (!evaluate(landscape, w, it, fp, g)) break;
    if (fp.residual <= options.tolerance) {
      fp.status = Status::success;
      fp.message = "converged";
      break;
    }
    if (it == options.max_iterations) {
      fp.status = Status::max_steps;
      fp.message = "reached max_iterations";
      break;
    }
    if (fp.residual < 0.5 * best) {
      best = fp.residual;
      best_at = it;
    } else if (options.stall_window > 0 && it - best_at >= options.stall_window) {
      fp.status = Status::not_converged;
      fp.message = "stalled: residual " + std::to_string(fp.residual) + " for " +
                   std::to_string(options.stall_window) + " iterations (gate boundary?)";
      break;
    }
    w += eta * g;
    w.normalize();
  }
  fp.energy = landscape.energy(fp.w);
  return fp;
}

FixedPoint newton_fixed_point(const NodeLandscape& landscape,
                              const Eigen::Ref<const Eigen::VectorXd>& w0,
                              const FixedPointOptions& options) {
  options.validate();
  validate_start(landscape, w0, "newton_fixed_point");
  const Eigen::Index d = landscape.dim();
  FixedPoint fp;
  Eigen::VectorXd w = w0.normalized();
  // Newton converges in a handful of steps or not at all: cap the iterations separately.
  const Eigen::Index max_it = std::min<Eigen::Index>(options.max_iterations, 200);
  for (Eigen::Index it = 0;; ++it) {
    Eigen::VectorXd g;
    if (!evaluate(landscape, w, it, fp, g)) break;
    // ∇E = 0 because A(w) = 0 (every gate closed: a dead node) makes the residual 0/0; E is
    // flat around w, which says nothing about the critical points of the landscape.
    if (g.squaredNorm() == 0.0 && landscape.gated_covariance_trace(w) == 0.0) {
      fp.status = Status::not_converged;
      fp.message = "A(w) = 0 at iteration " + std::to_string(it) +
                   " (every gate closed): no critical point information";
      break;
    }
    if (fp.residual <= options.tolerance) {
      fp.status = Status::success;
      fp.message = "converged";
      break;
    }
    if (it == max_it || d < 2) {
      fp.status = Status::not_converged;
      fp.message = "Newton did not converge in " + std::to_string(max_it) + " iterations";
      break;
    }
    const Eigen::MatrixXd b = tangent_basis(w);
    const Eigen::MatrixXd h = landscape.hessian(w);
    const Eigen::MatrixXd hr =
        b.transpose() * (h - fp.lambda * Eigen::MatrixXd::Identity(d, d)) * b;
    const Eigen::VectorXd c = hr.completeOrthogonalDecomposition().solve(-b.transpose() * g);
    Eigen::VectorXd xi = b * c;
    const double len = xi.norm();
    if (!std::isfinite(len)) {
      fp.status = Status::non_finite;
      fp.message = "non-finite Newton step at iteration " + std::to_string(it);
      break;
    }
    if (len > 0.5) xi *= 0.5 / len;
    w = (w + xi).normalized();
  }
  fp.energy = landscape.energy(fp.w);
  return fp;
}

FixedPointSearch enumerate_fixed_points(const NodeLandscape& landscape, Eigen::Index starts,
                                        std::uint64_t seed, const FixedPointOptions& options) {
  require(starts >= 1, "enumerate_fixed_points", "starts", starts, "starts >= 1");
  options.validate();
  std::vector<FixedPoint> runs(static_cast<std::size_t>(starts));
  const Rng root(seed);
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(starts); ++i) {
    Rng rng = root.substream(static_cast<std::uint64_t>(i));
    const Eigen::VectorXd w0 = rng.normal_matrix(landscape.dim(), 1).col(0);
    runs[static_cast<std::size_t>(i)] = find_fixed_point(landscape, w0, options);
  }
  FixedPointSearch out;
  out.starts = starts;
  out.assignment.assign(static_cast<std::size_t>(starts), -1);
  const bool symmetric = landscape.sign_symmetric();
  for (Eigen::Index i = 0; i < starts; ++i) {
    const FixedPoint& r = runs[static_cast<std::size_t>(i)];
    if (r.status != Status::success) continue;
    ++out.converged;
    Eigen::Index found = -1;
    for (std::size_t p = 0; p < out.points.size() && found < 0; ++p) {
      const double c = out.points[p].w.dot(r.w);
      if ((symmetric ? std::abs(c) : c) >= options.dedup_cosine) found = static_cast<Eigen::Index>(p);
    }
    if (found < 0) {
      out.points.push_back(r);
      out.points.back().basin_count = 0;
      out.points.back().starts.clear();
      found = static_cast<Eigen::Index>(out.points.size()) - 1;
    }
    out.points[static_cast<std::size_t>(found)].basin_count++;
    out.points[static_cast<std::size_t>(found)].starts.push_back(i);
    out.assignment[static_cast<std::size_t>(i)] = found;
  }
  return out;
}

}  // namespace cldyn::analysis
