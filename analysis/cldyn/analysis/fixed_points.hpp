#pragma once
/// \file fixed_points.hpp
/// Fixed points of the normalised one-node dynamics (theory §3): A(w*)w* = λ*w* with ‖w*‖ = 1,
/// i.e. w* is an eigenvector of the matrix it itself induces. Found by projected ascent on the
/// sphere, w ← normalise(w + η·∇E(w)), from many seeded starts (OpenMP, one Rng substream and
/// one result slot per start, so the same seed gives the same points at any thread count).

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "cldyn/analysis/landscape.hpp"
#include "cldyn/core/status.hpp"

namespace cldyn::analysis {

struct FixedPointOptions {
  /// Step η = step / tr A(w0) (tr A bounds λ_max for PSD A, so ηλ ≤ step): scale-free.
  double step = 0.5;
  Eigen::Index max_iterations = 20000;
  /// Converged when the relative tangent residual ‖P⊥∇E(w)‖ / ‖∇E(w)‖ ≤ tolerance.
  double tolerance = 1e-10;
  /// Two converged points are one fixed point when cos ≥ dedup_cosine (|cos| for a
  /// sign-symmetric landscape).
  double dedup_cosine = 0.999;
  /// Stop early (status not_converged) when the residual has not dropped below half of its
  /// best value for this many iterations: on a finite sample the ascent can settle on a gate
  /// boundary (a kink of E), where no exact fixed point exists. 0 disables.
  Eigen::Index stall_window = 1000;
  void validate() const;
};

struct FixedPoint {
  Status status = Status::not_converged;
  Eigen::VectorXd w;          ///< unit vector
  double lambda = 0.0;        ///< λ* = w*ᵀ∇E(w*) (Lagrange multiplier)
  double energy = 0.0;        ///< E(w*)
  double residual = 0.0;      ///< certificate ‖P⊥∇E(w*)‖ / ‖∇E(w*)‖
  double residual_abs = 0.0;  ///< ‖P⊥∇E(w*)‖
  Eigen::Index iterations = 0;
  std::string message;
  Eigen::Index basin_count = 0;  ///< starts that converged here (enumeration only)
  std::vector<Eigen::Index> starts;  ///< indices of those starts
};

/// Projected ascent from w0 (nonzero, length d).
FixedPoint find_fixed_point(const NodeLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w0,
                            const FixedPointOptions& options = {});

/// Riemannian Newton iteration on the sphere for a critical point of E near w0, whatever its
/// type (stable points, saddles, minima): solves (Bᵀ H_R B) c = −Bᵀ∇E in a tangent basis B,
/// steps ξ = Bc (length capped at 0.5), retracts w ← (w + ξ)/‖w + ξ‖. Uses landscape.hessian.
/// Converges (quadratically near a nondegenerate critical point) to the same certificate as
/// find_fixed_point; used to locate saddles, which the ascent never reaches.
FixedPoint newton_fixed_point(const NodeLandscape& landscape,
                              const Eigen::Ref<const Eigen::VectorXd>& w0,
                              const FixedPointOptions& options = {});

struct FixedPointSearch {
  std::vector<FixedPoint> points;  ///< distinct converged points, in order of first start
  Eigen::Index starts = 0;
  Eigen::Index converged = 0;            ///< starts that converged
  std::vector<Eigen::Index> assignment;  ///< per start: index into points, or −1
};

/// `starts` random unit starts (start i drawn from Rng(seed).substream(i)), each run by
/// find_fixed_point in parallel; converged results are de-duplicated in start order.
FixedPointSearch enumerate_fixed_points(const NodeLandscape& landscape, Eigen::Index starts,
                                        std::uint64_t seed, const FixedPointOptions& options = {});

}  // namespace cldyn::analysis
