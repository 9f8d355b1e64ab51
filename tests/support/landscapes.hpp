#pragma once
// Test-only helpers of the landscape, fixed-point and certified-search tests (header-only): the
// reference latent mixture, random tangent directions and face bases at a point of the sphere,
// the checks every certified point must pass, and runs at one and two threads. Not installed.
#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Core>
#include <Eigen/QR>
#include <cstdint>
#include <utility>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/data/latent_model.hpp"

namespace cldyn::test {

/// The theory §4 reference: d = 20, L = 5 orthonormal patterns, σ = 0.2, p = 0.2 … 0.6
/// normalised, model seed 3.
inline data::LatentModel reference_mixture(data::LatentMode mode = data::LatentMode::mixture) {
  data::LatentModelOptions o;
  o.probabilities = data::normalise_probabilities({0.2, 0.3, 0.4, 0.5, 0.6});
  o.mode = mode;
  return data::LatentModel(o, 3);
}

/// Random unit tangent vector at unit w.
inline Eigen::VectorXd random_tangent(const Eigen::VectorXd& w, Rng& rng) {
  Eigen::VectorXd v = rng.normal_matrix(w.size(), 1).col(0);
  v -= w.dot(v) * w;
  return v.normalized();
}

/// Orthonormal basis of {v : vᵀw = 0, n_jᵀv = 0} (the face's tangent directions), from a full QR.
inline Eigen::MatrixXd face_tangents(const Eigen::MatrixXd& normals, const Eigen::VectorXd& w) {
  Eigen::MatrixXd b(w.size(), normals.cols() + 1);
  b << w, normals;
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(b);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(w.size(), w.size());
  return q.rightCols(w.size() - b.cols());
}

/// What every point of a search must satisfy: a kink exactly when its active set is nonempty; a
/// stable point has a negative definite tangent Hessian, and a stable kink a slack above
/// `tolerance`.
inline void expect_certified_points(const analysis::CertifiedSearch& s, double tolerance) {
  for (const analysis::CertifiedPoint& p : s.points) {
    EXPECT_EQ(p.kind == analysis::PointKind::kink, p.active_set_size > 0);
    if (p.stable) {
      EXPECT_LT(p.max_tangent_hessian_eigenvalue, 0.0);
      if (p.kind == analysis::PointKind::kink) {
        EXPECT_GT(p.slack, tolerance);
      }
    }
  }
}

/// fn() run with one OpenMP thread, then with two (the previous maximum restored after).
template <class Fn>
auto at_one_and_two_threads(Fn&& fn) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  auto one = fn();
  omp_set_num_threads(2);
  auto two = fn();
  omp_set_num_threads(saved);
  return std::pair{std::move(one), std::move(two)};
}

}  // namespace cldyn::test
