// Global modulation, Claim 7 linked to the library (theory §5): the population Identity-C field
// taken from TwoLayerNetwork::energy_gradient on the exact weighted batch
// (analysis::two_layer_population_field) against the independent support sums
// (analysis::generic_field) and Ã_k w_k; Ã_k(s) at an arbitrary top layer s
// (analysis::modulated_covariance); argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "cldyn/analysis/global_modulation.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

using test::random_filters;

data::ClassModel model(double sigma, std::uint64_t seed) {
  data::ClassModelOptions o;
  o.field_sizes = {4, 5, 3};
  o.p1 = 0.4;
  o.sigma = sigma;
  return data::ClassModel(o, seed);
}

// Both sides are exact population sums of O(1) terms over ≤ 2·4^3 support points (and ≤ 4
// atoms each), in different orders: rounding, far below the 1e-10 of theory §7.
constexpr double kExact = 1e-10;

TEST(GlobalModulationField, LibraryGradientEqualsTheSupportSumsAndTheModulatedCovariance) {
  for (const double sigma : {0.3, 1.0}) {
    const data::ClassModel m = model(sigma, 5);
    for (const Activation act : {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.2)}) {
      const std::vector<Eigen::VectorXd> w = random_filters(m, 6);
      const analysis::GlobalModulation g = analysis::global_modulation(m, w, act);
      ASSERT_EQ(g.status, Status::success) << g.message;
      const std::vector<Eigen::VectorXd> lib = analysis::two_layer_population_field(m, w, g.s, act);
      const std::vector<Eigen::VectorXd> sums = analysis::generic_field(m, w, g.s, act);
      ASSERT_EQ(lib.size(), 3u);
      for (std::size_t k = 0; k < 3; ++k) {
        EXPECT_GT(lib[k].norm(), 1e-6) << act.name();  // a nonzero field is compared
        EXPECT_LE(test::relative_error(lib[k], sums[k]), kExact) << act.name() << " sigma=" << sigma << " k=" << k;
        EXPECT_LE(test::relative_error(lib[k], g.modulated[k] * w[k]), kExact) << act.name() << " k=" << k;
      }
    }
  }
}

TEST(GlobalModulationField, SaturatedGatesGiveZeroWeightAtomsAndStayExact) {
  // σ = 0.005: |c_k| = |w_kᵀx0_k|/(σ‖w_k‖) is mostly > 40, so Φ(c_k) rounds to 0 or 1 and the
  // atoms on the empty side are dropped; x0 = 0 keeps c = 0 (Φ = 1/2).
  const data::ClassModel m = model(0.005, 7);
  const std::vector<Eigen::VectorXd> w = random_filters(m, 8);
  const Eigen::Vector3d s = Eigen::Vector3d(0.3, -0.5, 0.8).normalized();
  const std::vector<Eigen::VectorXd> lib = analysis::two_layer_population_field(m, w, s, Activation::relu());
  const std::vector<Eigen::VectorXd> sums = analysis::generic_field(m, w, s, Activation::relu());
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_TRUE(lib[k].allFinite());
    EXPECT_LE(test::relative_error(lib[k], sums[k]), kExact) << k;
  }
}

TEST(GlobalModulationField, ModulatedCovarianceAtAnyTopLayer) {
  const data::ClassModel m = model(0.3, 11);
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    const std::vector<Eigen::VectorXd> w = random_filters(m, 12);
    const analysis::GlobalModulation g = analysis::global_modulation(m, w, act);
    ASSERT_EQ(g.status, Status::success) << g.message;
    // At s = g.s it is Ã_k of the secular solution.
    for (Eigen::Index k = 0; k < 3; ++k)
      EXPECT_LE(test::relative_error(analysis::modulated_covariance(g, g.s, k), g.modulated[static_cast<std::size_t>(k)]),
                1e-12)
          << act.name();
    // At an arbitrary s, Ã_k(s) w_k is the library's field at VᵀV = s sᵀ; symmetric.
    Rng rng(13);
    for (int trial = 0; trial < 3; ++trial) {
      const Eigen::VectorXd s = rng.normal_matrix(3, 1).col(0).normalized();
      const std::vector<Eigen::VectorXd> lib = analysis::two_layer_population_field(m, w, s, act);
      for (Eigen::Index k = 0; k < 3; ++k) {
        const auto ks = static_cast<std::size_t>(k);
        const Eigen::MatrixXd a = analysis::modulated_covariance(g, s, k);
        EXPECT_LE((a - a.transpose()).norm(), 1e-15 * a.norm());
        EXPECT_LE(test::relative_error(a * w[ks], lib[ks]), kExact) << act.name() << " trial " << trial << " k=" << k;
      }
    }
  }
}

TEST(GlobalModulationField, RejectsBadArguments) {
  using test::invalid_argument_message;
  const data::ClassModel m = model(0.3, 1);
  const std::vector<Eigen::VectorXd> w = random_filters(m, 2);
  EXPECT_THAT(invalid_argument_message(
                  [&] { analysis::two_layer_population_field(m, w, Eigen::Vector2d::Ones(), Activation::relu()); }),
              HasSubstr("length of s = 2"));
  EXPECT_THAT(invalid_argument_message([&] {
                analysis::two_layer_population_field(m, w, Eigen::Vector3d(1.0, NAN, 0.0), Activation::relu());
              }),
              HasSubstr("s"));
  data::ClassModelOptions big;
  big.field_sizes.assign(7, 2);
  const data::ClassModel m7(big, 3);
  EXPECT_THAT(invalid_argument_message([&] {
                analysis::two_layer_population_field(m7, random_filters(m7, 4), Eigen::VectorXd::Ones(7), Activation::relu());
              }),
              HasSubstr("the exact batch is too large"));
  analysis::GlobalModulation g = analysis::global_modulation(m, w, Activation::relu());
  EXPECT_THAT(invalid_argument_message([&] { analysis::modulated_covariance(g, Eigen::Vector3d::Ones(), 3); }),
              HasSubstr("0 <= k < K = 3"));
  g.b(1) = 0.0;
  EXPECT_THAT(invalid_argument_message([&] { analysis::modulated_covariance(g, Eigen::Vector3d::Ones(), 1); }),
              HasSubstr("b_1 = 0 violates b_k != 0"));
}

}  // namespace
}  // namespace cldyn
