// Co-linearity analysis (theory §5, Claim 6): gradient matrices per receptive field, numerical
// rank, pairwise |cos|, filter diversity (mean |cos|, effective rank).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/analysis/colinearity.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

const std::vector<Eigen::Index> kSizes = {5, 6, 4};  // d = 15, K = 3

TEST(Colinearity, ColumnCosinesKnownAnswer) {
  Eigen::MatrixXd m(2, 4);
  m << 1.0, -2.0, 0.0, 0.0,  //
      0.0, 0.0, 3.0, 0.0;
  const analysis::ColumnCosines c = analysis::column_cosines(m);
  EXPECT_EQ(c.zero_columns, 1);
  EXPECT_EQ(c.pairs, 3);
  EXPECT_DOUBLE_EQ(c.abs_cos(0, 1), 1.0);
  EXPECT_DOUBLE_EQ(c.abs_cos(0, 2), 0.0);
  EXPECT_TRUE(std::isnan(c.abs_cos(0, 3)));
  EXPECT_DOUBLE_EQ(c.min_abs_cos, 0.0);
  EXPECT_DOUBLE_EQ(c.mean_abs_cos, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(c.max_one_minus_abs_cos, 1.0);
}

TEST(Colinearity, RankAndEffectiveRankKnownAnswers) {
  // Rank 2 by construction: columns are combinations of two vectors.
  Rng rng(1);
  const Eigen::MatrixXd basis = rng.normal_matrix(6, 2);
  const Eigen::MatrixXd g = basis * rng.normal_matrix(2, 5);
  const analysis::GradientColinearity c = analysis::gradient_colinearity(g);
  EXPECT_EQ(c.rank, 2);
  EXPECT_EQ(c.singular_values.size(), 5);
  EXPECT_LE(c.singular_values(2), 1e-13 * c.singular_values(0));  // rounding of an exact rank 2
  EXPECT_EQ(analysis::gradient_colinearity(Eigen::MatrixXd::Zero(3, 2)).rank, 0);
  // Effective rank: equal singular values give their number; one nonzero gives 1.
  EXPECT_NEAR(analysis::effective_rank(Eigen::Vector3d(2.0, 2.0, 2.0)), 3.0, 1e-14);  // ulps
  EXPECT_NEAR(analysis::effective_rank(Eigen::Vector3d(2.0, 0.0, 0.0)), 1.0, 1e-15);  // ulps
  // Duplicated filters (up to sign): |cos| 1, effective rank 1.
  Eigen::MatrixXd dup(3, 3);
  dup << 1, -2, 0.5, 2, -4, 1, 0, 0, 0;
  const analysis::FilterDiversity d = analysis::filter_diversity(dup);
  EXPECT_NEAR(d.mean_abs_cos, 1.0, 1e-15);     // ulps
  EXPECT_NEAR(d.effective_rank, 1.0, 1e-7);   // σ_2 ≈ 1e-16 enters as −q log q ≈ 4e-15
  // Orthonormal filters: |cos| 0, effective rank M.
  const analysis::FilterDiversity o = analysis::filter_diversity(Eigen::MatrixXd::Identity(4, 3));
  EXPECT_DOUBLE_EQ(o.mean_abs_cos, 0.0);
  EXPECT_NEAR(o.effective_rank, 3.0, 1e-14);  // ulps
}

TEST(Colinearity, LinearGradientsAreCoLinearForP1AndRankAtMostP) {
  const TwoViewBatch b = test::gaussian_batch(40, 15, 0.3, 2);
  for (const PairwiseImportance& alpha : {PairwiseImportance::uniform(40), test::random_alpha(40, 3)})
    for (const Eigen::Index p : {1, 2, 3}) {
      Rng rng(static_cast<std::uint64_t>(10 + p));
      const TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 6, p, Activation::linear(), rng);
      const auto col = analysis::field_gradient_colinearity(net, b, alpha);
      ASSERT_EQ(col.size(), 3u);
      for (const auto& c : col) {
        EXPECT_LE(c.rank, p);
        EXPECT_EQ(c.rank, p);  // generic V: the bound is attained
        // Claim 6 criterion (theory §7): 1 − |cos| ≤ 1e-12 for every pair when p = 1.
        if (p == 1) {
          EXPECT_LE(c.cosines.max_one_minus_abs_cos, 1e-12);
        }
      }
    }
}

TEST(Colinearity, ReluGradientsAreNotCoLinear) {
  const TwoViewBatch b = test::gaussian_batch(40, 15, 0.3, 2);
  for (const Eigen::Index p : {1, 3}) {
    Rng rng(static_cast<std::uint64_t>(20 + p));
    const TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 6, p, Activation::relu(), rng);
    for (const auto& c : analysis::field_gradient_colinearity(net, b, PairwiseImportance::uniform(40))) {
      EXPECT_GT(c.rank, p);
      // Different gates give visibly different directions, far beyond rounding.
      EXPECT_GT(c.cosines.max_one_minus_abs_cos, 1e-3);
    }
  }
}

TEST(Colinearity, RejectsBadArguments) {
  using test::invalid_argument_message;
  EXPECT_THAT(invalid_argument_message([] { analysis::column_cosines(Eigen::MatrixXd(3, 0)); }),
              HasSubstr("M (columns) = 0 violates M >= 1"));
  Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(2, 2);
  nan(0, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(invalid_argument_message([&] { analysis::gradient_colinearity(nan); }), HasSubstr("matrix(0,1) = nan"));
  EXPECT_THAT(invalid_argument_message([] { analysis::gradient_colinearity(Eigen::MatrixXd::Ones(2, 2), 0.0); }),
              HasSubstr("rank_tolerance = 0 violates 0 < rank_tolerance < 1"));
  EXPECT_THAT(invalid_argument_message([] { analysis::filter_diversity(Eigen::MatrixXd::Zero(2, 2)); }),
              HasSubstr("number of zero columns = 2"));
  EXPECT_THAT(invalid_argument_message([] { analysis::effective_rank(Eigen::Vector2d(-1.0, 2.0)); }),
              HasSubstr("smallest singular value = -1"));
  EXPECT_THAT(invalid_argument_message([] { analysis::effective_rank(Eigen::Vector2d(0.0, 0.0)); }),
              HasSubstr("sum of singular values = 0"));
}

}  // namespace
}  // namespace cldyn
