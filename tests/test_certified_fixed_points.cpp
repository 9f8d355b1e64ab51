// Certified fixed-point search (analysis/certified_fixed_points.hpp; issue 15, "--find-fixed-points").
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <Eigen/QR>
#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/analysis/certified_fixed_points.hpp"
#include "fixed_point_report.hpp"
#include "support/landscapes.hpp"
#include "support/problems.hpp"

namespace cldyn::analysis {
namespace {

using ::testing::HasSubstr;
using test::face_tangents;
using test::random_tangent;

data::LatentModel mixture_model() { return test::reference_mixture(); }

/// Search options with `random_starts` random starts drawn from `seed` (the rest the defaults).
CertifiedSearchOptions search_starts(Eigen::Index random_starts, std::uint64_t seed = 0) {
  CertifiedSearchOptions o;
  o.random_starts = random_starts;
  o.seed = seed;
  return o;
}

SampleLandscape sample_landscape(const data::LatentModel& model, Eigen::Index n, Activation act, Loss loss) {
  Rng rng(5, 11);
  return SampleLandscape(model.sample(n, rng), act, loss);
}

/// Every reported point is certified, and the counts add up: no unconverged start becomes a point.
void expect_consistent(const CertifiedSearch& s, const CertifiedSearchOptions& o) {
  EXPECT_EQ(s.converged + s.unconverged, s.starts);
  ASSERT_EQ(static_cast<Eigen::Index>(s.assignment.size()), s.starts);
  Eigen::Index assigned = 0;
  for (Eigen::Index i = 0; i < s.starts; ++i) {
    const auto k = static_cast<std::size_t>(i);
    if (s.assignment[k] >= 0) {
      ++assigned;
      EXPECT_LE(s.start_residuals[k], o.tolerance) << "start " << i;
    } else {
      EXPECT_GT(s.start_residuals[k], o.tolerance) << "start " << i;
    }
  }
  EXPECT_EQ(assigned, s.converged);
  Eigen::Index members = 0;
  for (const CertifiedPoint& p : s.points) {
    EXPECT_LE(p.residual, o.tolerance);
    EXPECT_NEAR(p.w.norm(), 1.0, 1e-12);  // unit by construction (normalised in double)
    members += static_cast<Eigen::Index>(p.starts.size());
  }
  EXPECT_EQ(members, s.converged);
}

TEST(CertifiedFixedPoints, ReluPopulationHasOneStablePointPerPatternAndUserStartsLandOnIt) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::relu());
  const CertifiedSearchOptions o = search_starts(24, 4);
  // User starts: each pattern tilted by a random tangent perturbation of size 0.3.
  Rng rng(8);
  Eigen::MatrixXd user = model.patterns() + 0.3 * rng.normal_matrix(20, 5) / std::sqrt(20.0);
  const CertifiedSearch s = certified_fixed_points(land, user, o);
  expect_consistent(s, o);
  std::printf("[ population ReLU ] %ld/%ld starts converged, %zu points\n", static_cast<long>(s.converged),
              static_cast<long>(s.starts), s.points.size());
  for (Eigen::Index l = 0; l < 5; ++l) {
    int near = 0;
    for (const CertifiedPoint& p : s.points)
      if (p.stable && model.patterns().col(l).dot(p.w) >= 0.95) ++near;  // Claim 2's cosine
    EXPECT_EQ(near, 1) << "pattern " << l;
    const Eigen::Index at = s.assignment[static_cast<std::size_t>(l)];
    ASSERT_GE(at, 0) << "user start " << l;
    EXPECT_GE(model.patterns().col(l).dot(s.points[static_cast<std::size_t>(at)].w), 0.95) << "user start " << l;
  }
  Eigen::Index random_members = 0;
  for (const CertifiedPoint& p : s.points) {
    random_members += p.basin_count;
    if (p.stable) {
      EXPECT_LT(p.max_tangent_hessian_eigenvalue, 0.0);
    }
  }
  // basin_count counts random starts only: the user starts (indices 0..4) are not in it.
  Eigen::Index random_converged = 0;
  for (Eigen::Index i = 5; i < s.starts; ++i) random_converged += s.assignment[static_cast<std::size_t>(i)] >= 0;
  EXPECT_EQ(random_members, random_converged);
}

TEST(CertifiedFixedPoints, LinearSampleHasOneStableDirectionTheTopEigenvectorOfCx) {
  const data::LatentModel model = mixture_model();
  const SampleLandscape land = sample_landscape(model, 500, Activation::linear(), Loss::quadratic());
  const CertifiedSearchOptions o = search_starts(8);
  const CertifiedSearch s = certified_fixed_points(land, Eigen::MatrixXd::Ones(20, 1), o);
  expect_consistent(s, o);
  EXPECT_EQ(s.converged, s.starts);  // E = ½wᵀC[x]w is smooth: every start converges
  ASSERT_EQ(s.points.size(), 1u);    // ± one direction (|cos| dedup)
  // Linear, uniform α: A(w) = C_α[x] for every w (Claim 1).
  const EigenResult top = top_eigenpairs(land.gated_covariance(Eigen::VectorXd::Ones(20)), 2);
  const CertifiedPoint& p = s.points[0];
  // Residual 1e-8 bounds sin∠(w, v₁) by ~1e-8·λ₁/(λ₁ − λ₂) (gap ≈ 0.03 here, λ₁ ≈ 0.25): 1e-6.
  EXPECT_GE(std::abs(top.vectors.col(0).dot(p.w)), 1.0 - 1e-6);
  EXPECT_TRUE(p.stable);
  EXPECT_TRUE(p.eigen_criterion);
  EXPECT_NEAR(p.eigengap, top.values(0) - top.values(1), 1e-9 * top.values(0));  // same matrix, rounding
}

/// Prints what a search found (the measurements the header comment quotes).
void print_search(const char* label, const CertifiedSearch& s) {
  std::printf("[ %s ] %ld/%ld starts converged, %zu points\n", label, static_cast<long>(s.converged),
              static_cast<long>(s.starts), s.points.size());
  for (const CertifiedPoint& p : s.points)
    std::printf("    %-6s |S| = %ld, stable %d, residual %.1e, slack %.2e, face/tangent Hessian max %.2e, "
                "margin %.1e, basin %ld\n",
                std::string(to_string(p.kind)).c_str(), static_cast<long>(p.active_set_size), p.stable ? 1 : 0,
                p.residual, p.slack, p.max_tangent_hessian_eigenvalue, p.gate_margin,
                static_cast<long>(p.basin_count));
}

/// User starts: each pattern tilted by a random perturbation of size 0.3.
Eigen::MatrixXd near_patterns(const data::LatentModel& model) {
  Rng rng(8);
  return model.patterns() + 0.3 * rng.normal_matrix(20, 5) / std::sqrt(20.0);
}

const data::LatentModel& reference_model() {
  static const data::LatentModel model = mixture_model();
  return model;
}
const SampleLandscape& relu_sample() {
  static const SampleLandscape land =
      sample_landscape(reference_model(), 1000, Activation::relu(), Loss::quadratic());
  return land;
}

/// The search on the N = 1000 ReLU quadratic sample used by the kink tests below (at N = 200–300
/// the pattern with p = 0.1 has no stable point at cos ≥ 0.95 on this sample: cos 0.948 at 200).
const CertifiedSearch& relu_sample_search() {
  static const CertifiedSearch s =
      certified_fixed_points(relu_sample(), near_patterns(reference_model()), search_starts(24, 4));
  return s;
}

/// The first stable kink point of the N = 1000 search.
const CertifiedPoint& first_stable_kink() {
  const CertifiedSearch& s = relu_sample_search();
  for (const CertifiedPoint& p : s.points)
    if (p.stable && p.kind == PointKind::kink) return p;
  throw std::runtime_error("no stable kink point in the N = 1000 search");
}

TEST(CertifiedFixedPoints, ReluSampleHasOneCertifiedStablePointPerPattern) {
  const data::LatentModel& model = reference_model();
  const CertifiedSearch& s = relu_sample_search();
  CertifiedSearchOptions o;
  expect_consistent(s, o);
  print_search("sample ReLU quadratic N=1000", s);
  for (const CertifiedPoint& p : s.points) {
    const Eigen::VectorXd cosines = model.patterns().transpose() * p.w;
    std::printf("    cos to patterns: %.4f %.4f %.4f %.4f %.4f\n", cosines(0), cosines(1), cosines(2), cosines(3), cosines(4));
  }
  for (Eigen::Index l = 0; l < 5; ++l) {
    int near = 0;
    Eigen::Index near_index = -1;
    for (std::size_t p = 0; p < s.points.size(); ++p)
      if (s.points[p].stable && model.patterns().col(l).dot(s.points[p].w) >= 0.95) {  // Claim 2's cosine
        ++near;
        near_index = static_cast<Eigen::Index>(p);
      }
    EXPECT_EQ(near, 1) << "pattern " << l;
    // The user start tilted from pattern l is assigned to that pattern's point.
    EXPECT_EQ(s.assignment[static_cast<std::size_t>(l)], near_index) << "user start " << l;
  }
  // Most starts converge (measured: see the printout); an unconverged start is never a point.
  EXPECT_GE(2 * s.converged, s.starts);
  for (const CertifiedPoint& p : s.points)
    EXPECT_EQ(p.active_set_size, static_cast<Eigen::Index>(p.active_set.size()));
  test::expect_certified_points(s, o.tolerance);
}

TEST(CertifiedFixedPoints, KinkCertificateMatchesOneSidedDerivativesAndIsAStrictLocalMaximum) {
  const SampleLandscape& land = relu_sample();
  const CertifiedPoint& p = first_stable_kink();
  const KinkCertificate c = certify_kink(land, p.w);
  ASSERT_TRUE(c.stable);
  ASSERT_FALSE(c.active.empty());
  EXPECT_EQ(c.active, p.active_set);
  const double e0 = land.energy(p.w);
  const double g0 = c.closed_gradient.norm();
  const double a_norm = land.gated_covariance(p.w).norm();  // Frobenius ≥ ‖A_σ‖₂ up to the S rows
  // Steps below the smallest relative margin outside S keep every other gate (|Δ(x_rᵀw)|/‖x_r‖ ≤ ‖Δw‖).
  const double reach = c.outside_relative_margin;
  ASSERT_GT(reach, 0.0);
  Rng rng(21);
  // (1) One-sided derivative D(v) = G_0ᵀv + Σ ĉ max(0, nᵀv) against a forward difference of the
  // landscape's own energy: E is quadratic in each orthant, so the difference is D(v) + ½ε vᵀA_σ v.
  const double eps = 1e-3 * reach;
  for (int trial = 0; trial < 50; ++trial) {
    const Eigen::VectorXd v = random_tangent(p.w, rng);
    double d = c.closed_gradient.dot(v);
    for (Eigen::Index j = 0; j < c.normals.cols(); ++j) d += c.jumps(j) * std::max(0.0, c.normals.col(j).dot(v));
    const double fd = (land.energy(p.w + eps * v) - e0) / eps;
    // ½ε|vᵀA_σv| ≤ ε‖A‖_F (A_σ differs from A(w*) by the O(1/N) rows of S), plus the rounding
    // of E (a sum over 2N rows: ≲ N·1e-16 relative, 1e-13 at N = 1000) amplified by 1/ε.
    EXPECT_NEAR(fd, d, eps * a_norm + 1e-13 * std::abs(e0) / eps) << "trial " << trial;
  }
  // (2) Strict local maximum: every retracted tangent perturbation lowers E, off the face (first
  // order, slope ≤ −slack·‖G_0‖) and along it (second order, the face Hessian).
  const Eigen::MatrixXd on_face = face_tangents(c.normals, p.w);
  int higher = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const double delta = (trial % 2 == 0 ? 0.5 : 0.05) * reach;
    Eigen::VectorXd v = random_tangent(p.w, rng);
    if (trial % 4 >= 2 && on_face.cols() > 0) {
      v = on_face * rng.normal_matrix(on_face.cols(), 1).col(0);
      v.normalize();
    }
    if (land.energy((p.w + delta * v).normalized()) >= e0) ++higher;
  }
  EXPECT_EQ(higher, 0);
  EXPECT_GT(g0, 0.0);
}

TEST(CertifiedFixedPoints, BreakingConditionOneOrTwoFailsTheCertificate) {
  const SampleLandscape& land = relu_sample();
  const CertifiedPoint& p = first_stable_kink();
  const TwoViewBatch& b = land.batch();
  const Eigen::Index n = b.size();
  Eigen::VectorXd margin(2 * n);
  margin.head(n) = (b.x * p.w).cwiseQuotient(b.x.rowwise().norm());
  margin.tail(n) = (b.x_prime * p.w).cwiseQuotient(b.x_prime.rowwise().norm());
  // The open row (margin > 0) and the closed row (< 0) nearest their boundaries, outside S.
  Eigen::Index open_row = -1, closed_row = -1;
  for (Eigen::Index r = 0; r < 2 * n; ++r) {
    if (std::find(p.active_set.begin(), p.active_set.end(), r) != p.active_set.end()) continue;
    Eigen::Index& best = margin(r) > 0.0 ? open_row : closed_row;
    if (best < 0 || std::abs(margin(r)) < std::abs(margin(best))) best = r;
  }
  ASSERT_GE(open_row, 0);
  ASSERT_GE(closed_row, 0);
  for (const Eigen::Index k : {open_row, closed_row}) {
    const bool open = margin(k) > 0.0;
    // Pin row k to its boundary too: the face maximum of S ∪ {k} is face-stationary but pulled
    // off the true maximum p.w, which lies on k's own side.
    std::vector<Eigen::Index> active = p.active_set;
    active.push_back(k);
    std::sort(active.begin(), active.end());
    const Eigen::VectorXd wk = face_critical_point(land, active, p.w);
    ASSERT_EQ(wk.size(), p.w.size());
    const KinkCertificate c = certify_kink(land, wk);
    ASSERT_EQ(c.active, active) << "row " << k;
    EXPECT_LE(c.residual, 1e-8) << "row " << k;  // a face critical point, by construction
    EXPECT_FALSE(c.first_order) << "row " << k;
    EXPECT_FALSE(c.stable) << "row " << k;
    // The boundary of row k: (ii) fails for an open row, (i) for a closed row.
    Eigen::Index j = -1;
    for (std::size_t q = 0; q < c.boundary_rows.size(); ++q)
      if (std::find(c.boundary_rows[q].begin(), c.boundary_rows[q].end(), k) != c.boundary_rows[q].end())
        j = static_cast<Eigen::Index>(q);
    ASSERT_GE(j, 0);
    if (open) {
      EXPECT_GE(c.multipliers(j) + c.jumps(j), 0.0) << "(ii) at open row " << k;
    } else {
      EXPECT_LE(c.multipliers(j), 0.0) << "(i) at closed row " << k;
    }
    // Independently: a small step from wk towards p.w (onto k's side) raises E.
    const double step = 1e-3 * std::abs(margin(k));
    EXPECT_GT(land.energy((wk + step * (p.w - wk).normalized()).normalized()), land.energy(wk)) << "row " << k;
  }
}

TEST(CertifiedFixedPoints, ReluSampleSameResultAtOneAndTwoThreads) {
  const SampleLandscape& land = relu_sample();
  const CertifiedSearchOptions o = search_starts(6, 2);
  const auto [one, two] =
      test::at_one_and_two_threads([&] { return certified_fixed_points(land, reference_model().patterns(), o); });
  EXPECT_EQ(one.assignment, two.assignment);
  EXPECT_EQ(one.start_residuals, two.start_residuals);
  EXPECT_EQ(one.polished_by, two.polished_by);
  ASSERT_EQ(one.points.size(), two.points.size());
  for (std::size_t i = 0; i < one.points.size(); ++i) {
    EXPECT_EQ(one.points[i].w, two.points[i].w);
    EXPECT_EQ(one.points[i].active_set, two.points[i].active_set);
  }
}

TEST(CertifiedFixedPoints, KinkCertificateAppliesOnlyToPiecewiseQuadraticSamples) {
  const data::LatentModel& model = reference_model();
  EXPECT_TRUE(supports_kinks(relu_sample()));
  const SampleLandscape leaky = sample_landscape(model, 50, Activation::leaky_relu(0.1), Loss::quadratic());
  EXPECT_TRUE(supports_kinks(leaky));
  const SampleLandscape nce = sample_landscape(model, 50, Activation::relu(), Loss::infonce(0.5));
  EXPECT_FALSE(supports_kinks(nce));
  EXPECT_FALSE(supports_kinks(sample_landscape(model, 50, Activation::linear(), Loss::quadratic())));
  EXPECT_FALSE(supports_kinks(PopulationLandscape(DiscretePopulation::from_model(model), Activation::relu())));
  // certify_kink accepts InfoNCE too (tests/test_certified_infonce.cpp); the search uses it only
  // with infonce_kinks. By default InfoNCE keeps the smooth certificate: no start is certified
  // by the active-set solver.
  const CertifiedSearchOptions o = search_starts(2);
  const CertifiedSearch s = certified_fixed_points(nce, model.patterns().leftCols(2), o);
  expect_consistent(s, o);
  for (const int by : s.polished_by) EXPECT_NE(by, 4);
  for (const CertifiedPoint& p : s.points) EXPECT_EQ(p.kind, PointKind::smooth);
}

TEST(CertifiedFixedPoints, LeakyReluKinkHasTheOneSidedJumpScaledByOneMinusGamma) {
  const data::LatentModel& model = reference_model();
  const double gamma = 0.1;
  const SampleLandscape land = sample_landscape(model, 300, Activation::leaky_relu(gamma), Loss::quadratic());
  const CertifiedSearchOptions o = search_starts(0);
  const CertifiedSearch s = certified_fixed_points(land, near_patterns(model), o);
  expect_consistent(s, o);
  print_search("sample leaky ReLU 0.1 quadratic N=300", s);
  int checked = 0;
  Rng rng(23);
  for (const CertifiedPoint& p : s.points) {
    if (p.kind != PointKind::kink) continue;
    const KinkCertificate c = certify_kink(land, p.w);
    const double e0 = land.energy(p.w);
    const double eps = 1e-3 * c.outside_relative_margin;
    const double a_norm = land.gated_covariance(p.w).norm();
    for (int trial = 0; trial < 20; ++trial) {
      const Eigen::VectorXd v = random_tangent(p.w, rng);
      double d = c.closed_gradient.dot(v);
      for (Eigen::Index j = 0; j < c.normals.cols(); ++j) d += c.jumps(j) * std::max(0.0, c.normals.col(j).dot(v));
      // As in the ReLU test: second-order term ε‖A‖_F, rounding of E over ε.
      EXPECT_NEAR((land.energy(p.w + eps * v) - e0) / eps, d, eps * a_norm + 1e-13 * std::abs(e0) / eps);
    }
    ++checked;
  }
  EXPECT_GE(checked, 1);  // at least one kink point to check the (1 − γ) jump on
}

TEST(CertifiedFixedPoints, InfoNceSampleIsReportedHonestly) {
  const data::LatentModel model = mixture_model();
  const SampleLandscape land = sample_landscape(model, 100, Activation::linear(), Loss::infonce(0.5));
  const CertifiedSearchOptions o = search_starts(6);
  const CertifiedSearch s = certified_fixed_points(land, Eigen::MatrixXd(20, 0), o);
  expect_consistent(s, o);
  std::printf("[ sample linear InfoNCE tau=0.5 N=100 ] %ld/%ld starts converged, %zu points\n",
              static_cast<long>(s.converged), static_cast<long>(s.starts), s.points.size());
}

TEST(CertifiedFixedPoints, SameResultAtOneAndTwoThreads) {
  const PopulationLandscape land(DiscretePopulation::from_model(mixture_model()), Activation::relu());
  const CertifiedSearchOptions o = search_starts(10, 9);
  const auto [one, two] = test::at_one_and_two_threads([&] { return certified_fixed_points(land, Eigen::MatrixXd(20, 0), o); });
  EXPECT_EQ(one.assignment, two.assignment);
  EXPECT_EQ(one.start_residuals, two.start_residuals);
  ASSERT_EQ(one.points.size(), two.points.size());
  for (std::size_t i = 0; i < one.points.size(); ++i) EXPECT_EQ(one.points[i].w, two.points[i].w);
}

TEST(CertifiedFixedPoints, BadArgumentsThrowNamingTheParameter) {
  const PopulationLandscape land(DiscretePopulation::from_model(mixture_model()), Activation::relu());
  const Eigen::MatrixXd none(20, 0);
  auto message = [&](CertifiedSearchOptions o, const Eigen::MatrixXd& user) {
    return test::invalid_argument_message([&] { certified_fixed_points(land, user, o); });
  };
  CertifiedSearchOptions o;
  o.tolerance = 0.0;
  EXPECT_THAT(message(o, none), HasSubstr("tolerance"));
  o = {};
  o.dedup_cosine = 0.0;
  EXPECT_THAT(message(o, none), HasSubstr("dedup_cosine"));
  o = {};
  o.random_starts = -1;
  EXPECT_THAT(message(o, none), HasSubstr("random_starts"));
  o = {};
  o.random_starts = 0;
  EXPECT_THAT(message(o, none), HasSubstr("random_starts"));
  o = {};
  o.ascent.step = 0.0;
  EXPECT_THAT(message(o, none), HasSubstr("step"));
  EXPECT_THAT(message({}, Eigen::MatrixXd::Ones(3, 2)), HasSubstr("rows of user_starts"));
  EXPECT_THAT(message({}, Eigen::MatrixXd::Zero(20, 1)), HasSubstr("norm of user_starts column 0"));
  o = {};
  o.kink_iterations = 0;
  EXPECT_THAT(message(o, none), HasSubstr("kink_iterations"));
  o = {};
  o.independence_floor = 0.0;
  EXPECT_THAT(message(o, none), HasSubstr("independence_floor"));
  const SampleLandscape& relu = relu_sample();
  KinkOptions k;
  k.iterations = 0;
  EXPECT_THAT(test::invalid_argument_message([&] { kink_fixed_point(relu, Eigen::VectorXd::Ones(20), k); }),
              HasSubstr("iterations"));
  EXPECT_THAT(test::invalid_argument_message([&] { certify_kink(relu, Eigen::VectorXd::Ones(3)); }),
              HasSubstr("size of w"));
  EXPECT_THAT(test::invalid_argument_message([&] { face_critical_point(relu, {2 * relu.batch().size()}, Eigen::VectorXd::Ones(20)); }),
              HasSubstr("active row"));
}

TEST(CertifiedFixedPoints, ReportFieldsAddUp) {
  const data::LatentModel& model = reference_model();
  const CertifiedSearch& s = relu_sample_search();
  const Eigen::MatrixXd user = near_patterns(model);
  const nlohmann::ordered_json j = tools::fixed_point_json(s, user);
  EXPECT_EQ(j["converged"].get<long>() + j["unconverged"].get<long>(), j["starts"].get<long>());
  EXPECT_EQ(j["user_starts"].get<long>() + j["random_starts"].get<long>(), j["starts"].get<long>());
  long by = 0;
  for (const auto& [name, count] : j["certified_by"].items()) by += count.get<long>();
  EXPECT_EQ(by, j["converged"].get<long>());
  EXPECT_GT(j["certified_by"]["active_set"].get<long>(), 0);
  ASSERT_EQ(j["points"].size(), s.points.size());
  long members = 0, basin = 0;
  bool saw_kink = false;
  for (const auto& p : j["points"]) {
    ASSERT_TRUE(p.contains("kind"));
    ASSERT_TRUE(p.contains("active_set_size"));
    const std::string kind = p["kind"].get<std::string>();
    EXPECT_TRUE(kind == "smooth" || kind == "kink") << kind;
    EXPECT_EQ(kind == "kink", p["active_set_size"].get<long>() > 0);
    EXPECT_EQ(p["active_set"].size(), p["active_set_size"].get<std::size_t>());
    EXPECT_EQ(p["slack"].is_null(), kind == "smooth");  // +∞ for smooth points is written as null
    saw_kink = saw_kink || kind == "kink";
    members += static_cast<long>(p["starts"].size());
    basin += p["basin_count"].get<long>();
    const double fraction = p["basin_fraction"].get<double>();
    EXPECT_DOUBLE_EQ(fraction, p["basin_count"].get<double>() / j["random_starts"].get<double>());
    EXPECT_LE(p["basin_fraction_interval"][0].get<double>(), fraction);
    EXPECT_GE(p["basin_fraction_interval"][1].get<double>(), fraction);
  }
  EXPECT_TRUE(saw_kink);
  EXPECT_EQ(members, j["converged"].get<long>());
  EXPECT_LE(basin, j["random_starts"].get<long>());
  ASSERT_EQ(j["user_nodes"].size(), 5u);
  for (const auto& node : j["user_nodes"]) EXPECT_FALSE(node["point"].is_null());  // all five assigned (test above)
  const std::string text = tools::fixed_point_summary(s, user);
  EXPECT_THAT(text, HasSubstr(std::to_string(s.points.size()) + " certified"));
  EXPECT_THAT(text, HasSubstr("kink ("));
  EXPECT_THAT(text, HasSubstr("node 4: its start converged to point"));
}

}  // namespace
}  // namespace cldyn::analysis
