// The kink certificate on InfoNCE samples (analysis/certified_fixed_points.hpp, "InfoNCE"; issue 14,
// item 1): the active-set solver with the face Newton certifies strict local maxima on gate
// kinks of a finite ReLU sample, and the certificate agrees with finite differences of E.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/analysis/certified_fixed_points.hpp"
#include "support/landscapes.hpp"
#include "support/problems.hpp"

namespace cldyn::analysis {
namespace {

using ::testing::HasSubstr;
using test::face_tangents;
using test::random_tangent;

// d = 20, L = 5 orthonormal patterns, σ = 0.2, p = 0.2 … 0.6 normalised (theory §4 reference),
// one batch of N = 64 (check_infonce_optima's --smoke size), ReLU, InfoNCE τ = 0.1.
const data::LatentModel& model() {
  static const data::LatentModel m = test::reference_mixture();
  return m;
}

SampleLandscape nce_sample(double tau, Activation act = Activation::relu()) {
  Rng rng(5, 11);
  return SampleLandscape(model().sample(64, rng), act, Loss::infonce(tau));
}

const SampleLandscape& relu_nce() {
  static const SampleLandscape land = nce_sample(0.1);
  return land;
}

CertifiedSearchOptions search_options() {
  CertifiedSearchOptions o;
  o.random_starts = 12;
  o.seed = 4;
  o.infonce_kinks = true;
  o.ascent.stall_window = 300;
  o.ascent.max_iterations = 3000;
  return o;
}

const CertifiedSearch& relu_nce_search() {
  static const CertifiedSearch s = certified_fixed_points(relu_nce(), Eigen::MatrixXd(20, 0), search_options());
  return s;
}

std::vector<const CertifiedPoint*> stable_kinks(const CertifiedSearch& s) {
  std::vector<const CertifiedPoint*> out;
  for (const CertifiedPoint& p : s.points)
    if (p.stable && p.kind == PointKind::kink) out.push_back(&p);
  return out;
}

TEST(CertifiedInfoNCE, KinkSolverCertifiesStartsAndNoUnconvergedStartCounts) {
  const CertifiedSearch& s = relu_nce_search();
  const CertifiedSearchOptions o = search_options();
  std::printf("[ InfoNCE tau=0.1 N=64 ] %ld/%ld starts converged, %zu points, %zu stable kinks\n",
              static_cast<long>(s.converged), static_cast<long>(s.starts), s.points.size(),
              stable_kinks(s).size());
  EXPECT_EQ(s.converged + s.unconverged, s.starts);
  Eigen::Index by_kink = 0;
  for (std::size_t i = 0; i < s.polished_by.size(); ++i) {
    if (s.polished_by[i] == 4) ++by_kink;
    if (s.assignment[i] >= 0) {
      EXPECT_LE(s.start_residuals[i], o.tolerance) << "start " << i;
    }
  }
  // Measured: 12/12 starts certify, 6 of them by the active-set solver (the other 6 by the ascent).
  EXPECT_GE(by_kink, 1);
  EXPECT_GE(2 * s.converged, s.starts);
  ASSERT_FALSE(stable_kinks(s).empty());
  for (const CertifiedPoint& p : s.points) EXPECT_LE(p.residual, o.tolerance);
  test::expect_certified_points(s, o.tolerance);
}

TEST(CertifiedInfoNCE, KinkCertificateMatchesOneSidedDerivativesAndIsAStrictLocalMaximum) {
  const SampleLandscape& land = relu_nce();
  for (const CertifiedPoint* p : stable_kinks(relu_nce_search())) {
    const KinkCertificate c = certify_kink(land, p->w);
    ASSERT_TRUE(c.stable);
    EXPECT_EQ(c.active, p->active_set);
    const double e0 = land.energy(p->w);
    const double reach = c.outside_relative_margin;  // steps below it keep every gate outside S
    ASSERT_GT(reach, 0.0);
    const double h_norm = land.hessian(p->w).norm();  // Frobenius ≥ ‖∇²E‖₂ in the cells around
    Rng rng(21);
    // (1) D(v) = G_0ᵀv + Σ ĉ max(0, nᵀv) against a forward difference of E: E is smooth in each
    // orthant, so the difference is D(v) + O(ε‖∇²E‖) (with a margin of 2 for the neighbouring
    // cells' Hessians), plus the rounding of E amplified by 1/ε.
    const double eps = 1e-3 * reach;
    for (int trial = 0; trial < 50; ++trial) {
      const Eigen::VectorXd v = random_tangent(p->w, rng);
      double d = c.closed_gradient.dot(v);
      for (Eigen::Index j = 0; j < c.normals.cols(); ++j) d += c.jumps(j) * std::max(0.0, c.normals.col(j).dot(v));
      const double fd = (land.energy(p->w + eps * v) - e0) / eps;
      EXPECT_NEAR(fd, d, 2.0 * eps * h_norm + 1e-13 * std::abs(e0) / eps) << "trial " << trial;
      EXPECT_LT(d, 0.0) << "trial " << trial;  // off the face every direction descends at first order
    }
    // (2) The face Hessian Qᵀ(H_0 − λI)Q against central second differences of E along the face
    // (retracted to the sphere; the gradient term cancels): its largest eigenvalue agrees.
    const Eigen::MatrixXd q = face_tangents(c.normals, p->w);
    if (q.cols() > 0) {
      const double h = 1e-2 * reach;
      auto second = [&](const Eigen::VectorXd& v) {
        return (land.energy((p->w + h * v).normalized()) + land.energy((p->w - h * v).normalized()) - 2.0 * e0) /
               (h * h);
      };
      const Eigen::Index k = q.cols();
      Eigen::MatrixXd m(k, k);
      for (Eigen::Index i = 0; i < k; ++i)
        for (Eigen::Index j = 0; j <= i; ++j)
          m(i, j) = m(j, i) = i == j ? second(q.col(i)) : 0.25 * (second(q.col(i) + q.col(j)) - second(q.col(i) - q.col(j)));
      const double fd_max = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(m, Eigen::EigenvaluesOnly).eigenvalues().maxCoeff();
      std::printf("    kink |S| = %zu: face Hessian max %.6e, central differences %.6e, slack %.2e, reach %.2e\n",
                  c.active.size(), c.face_hessian_max, fd_max, c.slack, reach);
      // Second differences are exact to O(h²) on the face (E smooth there); rounding of E
      // (≲ 1e-14 relative at N = 64) is amplified by 1/h². Measured agreement: ≤ 5e-5 relative.
      EXPECT_NEAR(fd_max, c.face_hessian_max, 1e-3 * std::abs(c.face_hessian_max) + 1e-14 * std::abs(e0) / (h * h));
      EXPECT_LT(fd_max, 0.0);
    }
    // (3) Strict local maximum: retracted tangent perturbations lower E, off and along the face.
    int higher = 0;
    for (int trial = 0; trial < 200; ++trial) {
      const double delta = (trial % 2 == 0 ? 0.5 : 0.05) * reach;
      Eigen::VectorXd v = random_tangent(p->w, rng);
      if (trial % 4 >= 2 && q.cols() > 0) v = (q * rng.normal_matrix(q.cols(), 1).col(0)).normalized();
      if (land.energy((p->w + delta * v).normalized()) >= e0) ++higher;
    }
    EXPECT_EQ(higher, 0);
  }
}

TEST(CertifiedInfoNCE, LeakyReluKinksCertifyToo) {
  const SampleLandscape land = nce_sample(0.1, Activation::leaky_relu(0.1));
  const CertifiedSearch s = certified_fixed_points(land, Eigen::MatrixXd(20, 0), search_options());
  std::printf("[ InfoNCE leaky ReLU ] %ld/%ld starts converged, %zu points\n", static_cast<long>(s.converged),
              static_cast<long>(s.starts), s.points.size());
  EXPECT_GE(2 * s.converged, s.starts);
  for (const CertifiedPoint& p : s.points) {
    EXPECT_LE(p.residual, 1e-8);
    if (p.stable && p.kind == PointKind::kink) {
      const KinkCertificate c = certify_kink(land, p.w);
      EXPECT_TRUE(c.stable);
      EXPECT_GT(c.slack, 1e-8);
    }
  }
}

TEST(CertifiedInfoNCE, SameResultAtOneAndTwoThreads) {
  const auto [one, two] = test::at_one_and_two_threads(
      [] { return certified_fixed_points(relu_nce(), Eigen::MatrixXd(20, 0), search_options()); });
  EXPECT_EQ(one.polished_by, two.polished_by);
  EXPECT_EQ(one.assignment, two.assignment);
  ASSERT_EQ(one.points.size(), two.points.size());
  for (std::size_t i = 0; i < one.points.size(); ++i) EXPECT_EQ(one.points[i].w, two.points[i].w);
}

TEST(CertifiedInfoNCE, OptInOnlyAndNotForLinear) {
  // Without infonce_kinks the search keeps the smooth certificate on InfoNCE.
  CertifiedSearchOptions o = search_options();
  o.infonce_kinks = false;
  o.random_starts = 3;
  const CertifiedSearch s = certified_fixed_points(relu_nce(), Eigen::MatrixXd(20, 0), o);
  for (const int by : s.polished_by) EXPECT_NE(by, 4);
  EXPECT_TRUE(supports_infonce_kinks(relu_nce()));
  EXPECT_FALSE(supports_kinks(relu_nce()));
  const SampleLandscape linear = nce_sample(0.1, Activation::linear());
  EXPECT_FALSE(supports_infonce_kinks(linear));
  EXPECT_THAT(test::invalid_argument_message([&] { certify_kink(linear, model().patterns().col(0)); }),
              HasSubstr("landscape"));
}

}  // namespace
}  // namespace cldyn::analysis
