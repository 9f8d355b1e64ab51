// Two-layer class model (theory §5): patterns, exact joint support, sampling, argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "cldyn/data/class_model.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

data::ClassModelOptions small_options() {
  data::ClassModelOptions o;
  o.field_sizes = {3, 4, 2};
  o.p1 = 0.3;
  o.q0 = 0.2;
  o.q1 = 0.7;
  o.sigma = 0.25;
  return o;
}

TEST(ClassModel, PatternsAreOrthonormalInsideTheirFields) {
  const data::ClassModel m(small_options(), 4);
  EXPECT_EQ(m.dim(), 9);
  EXPECT_EQ(m.num_fields(), 3);
  for (Eigen::Index k = 0; k < 3; ++k) {
    const Eigen::VectorXd u = m.discriminative(k), v = m.nondiscriminative(k);
    EXPECT_NEAR(u.norm(), 1.0, 1e-14);  // rounding of a Householder QR
    EXPECT_NEAR(v.norm(), 1.0, 1e-14);
    EXPECT_NEAR(u.dot(v), 0.0, 1e-14);
    // Embedded columns are zero outside RF k.
    EXPECT_DOUBLE_EQ(m.discriminative().col(k).norm(), u.norm());
    EXPECT_DOUBLE_EQ(m.nondiscriminative().col(k).norm(), v.norm());
  }
  EXPECT_EQ(data::ClassModel(small_options(), 4).discriminative(), m.discriminative());
}

TEST(ClassModel, SupportHasTheStatedMarginals) {
  const data::ClassModel m(small_options(), 5);
  const auto support = m.support();
  ASSERT_EQ(support.size(), m.support_size());
  EXPECT_EQ(support.size(), 128u);  // 2·4^3
  double total = 0.0, pz1 = 0.0;
  Eigen::VectorXd pu = Eigen::VectorXd::Zero(3), pv = Eigen::VectorXd::Zero(3), pu1 = Eigen::VectorXd::Zero(3);
  for (const auto& pt : support) {
    total += pt.probability;
    if (pt.z == 1) pz1 += pt.probability;
    for (Eigen::Index k = 0; k < 3; ++k) {
      // Presence of a pattern: its coefficient in x0 is 1 (orthonormal patterns).
      const bool u = pt.x0.dot(m.discriminative().col(k)) > 0.5, v = pt.x0.dot(m.nondiscriminative().col(k)) > 0.5;
      pu(k) += u ? pt.probability : 0.0;
      pv(k) += v ? pt.probability : 0.0;
      if (pt.z == 1 && u) pu1(k) += pt.probability;
    }
  }
  const double qbar = 0.7 * 0.2 + 0.3 * 0.7;
  EXPECT_NEAR(total, 1.0, 1e-14);  // sum of 128 products: rounding
  EXPECT_NEAR(pz1, 0.3, 1e-14);
  for (Eigen::Index k = 0; k < 3; ++k) {
    EXPECT_NEAR(pu(k), qbar, 1e-14);          // u_k has the same marginal as v_k …
    EXPECT_NEAR(pv(k), qbar, 1e-14);
    EXPECT_NEAR(pu1(k) / pz1, 0.7, 1e-13);    // … but depends on z
  }
}

TEST(ClassModel, SamplesFollowTheModel) {
  const data::ClassModel m(small_options(), 6);
  Rng rng(7);
  const int n = 20000;
  const data::ClassSample s = m.sample_with_classes(n, rng);
  ASSERT_EQ(s.batch.x.rows(), n);
  ASSERT_EQ(s.batch.x.cols(), 9);
  const double frac = s.z.cast<double>().mean();
  // Binomial standard error sqrt(0.3·0.7/n) ≈ 0.0032; 5 standard errors.
  EXPECT_NEAR(frac, 0.3, 5 * std::sqrt(0.21 / n));
  // E[u_kᵀ x | z = 1] = q_1 (noise has mean 0): within 5 standard errors of ~0.5/sqrt(n·p1).
  double sum = 0.0;
  int count = 0;
  for (int i = 0; i < n; ++i)
    if (s.z(i) == 1) {
      sum += s.batch.x.row(i).dot(m.discriminative().col(0));
      ++count;
    }
  EXPECT_NEAR(sum / count, 0.7, 5 * 0.6 / std::sqrt(count));
  // Views share x0: x − x' = σ(ξ − ξ'), variance 2σ² per coordinate.
  const double var = (s.batch.x - s.batch.x_prime).array().square().mean();
  EXPECT_NEAR(var, 2 * 0.25 * 0.25, 0.05 * 2 * 0.25 * 0.25);  // 9·20000 draws: ~0.3% sd, 5% band
}

TEST(ClassModel, RejectsBadArguments) {
  using test::invalid_argument_message;
  auto with = [](auto edit) {
    data::ClassModelOptions o = small_options();
    edit(o);
    return invalid_argument_message([&] { data::ClassModel m(o, 1); });
  };
  EXPECT_THAT(with([](auto& o) { o.field_sizes = {}; }), HasSubstr("K (number of receptive fields) = 0"));
  EXPECT_THAT(with([](auto& o) { o.field_sizes = {3, 1}; }), HasSubstr("d_1 (receptive field size) = 1 violates d_k >= 2"));
  EXPECT_THAT(with([](auto& o) { o.p1 = 1.5; }), HasSubstr("p1 = 1.5 violates 0 <= value <= 1"));
  EXPECT_THAT(with([](auto& o) { o.q0 = -0.1; }), HasSubstr("q0 = -0.1 violates 0 <= value <= 1"));
  EXPECT_THAT(with([](auto& o) { o.q1 = std::nan(""); }), HasSubstr("q1 = nan"));
  EXPECT_THAT(with([](auto& o) { o.sigma = 0.0; }), HasSubstr("sigma = 0 violates sigma > 0"));
  data::ClassModelOptions big;
  big.field_sizes.assign(10, 2);
  const data::ClassModel m(big, 1);
  EXPECT_THAT(invalid_argument_message([&] { m.support(); }), HasSubstr("2*4^K <= 2^20 (K <= 9)"));
  Rng rng(1);
  EXPECT_THAT(invalid_argument_message([&] { m.sample(0, rng); }), HasSubstr("N = 0 violates N >= 1"));
}

}  // namespace
}  // namespace cldyn
