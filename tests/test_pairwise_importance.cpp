// PairwiseImportance: uniform vs general storage, sums, Laplacian, argument checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "cldyn/core/pairwise_importance.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

// Two exact formulas of L_α·B that round differently (O(N) vs O(N²) sums of O(1) terms):
// agreement to a few hundred ulps of the result.
constexpr double kRounding = 1e-13;

TEST(PairwiseImportance, UniformMatchesGeneralStorageOfTheSameMatrix) {
  constexpr Eigen::Index n = 9;
  const PairwiseImportance u = PairwiseImportance::uniform(n, 0.7);
  const PairwiseImportance g = PairwiseImportance::from_matrix(u.matrix());
  EXPECT_TRUE(u.is_uniform());
  EXPECT_FALSE(g.is_uniform());
  EXPECT_EQ(u.size(), n);
  EXPECT_EQ(g.size(), n);
  EXPECT_EQ(u.uniform_value(), 0.7);
  for (Eigen::Index i = 0; i < n; ++i) {
    EXPECT_EQ(u(i, i), 0.0);
    for (Eigen::Index j = 0; j < n; ++j) EXPECT_EQ(u(i, j), g(i, j));
  }
  Rng rng(3);
  const Eigen::MatrixXd b = rng.normal_matrix(n, 4);
  EXPECT_LE(test::relative_error(u.apply_laplacian(b), g.apply_laplacian(b)), kRounding);
  EXPECT_LE(test::relative_error(u.row_sums(), g.row_sums()), kRounding);
  EXPECT_LE(test::relative_error(u.col_sums(), g.col_sums()), kRounding);
}

TEST(PairwiseImportance, RowAndColumnSumsAndLaplacianOfGeneralAlpha) {
  constexpr Eigen::Index n = 6;
  const PairwiseImportance a = test::random_alpha(n, 21);
  const Eigen::MatrixXd m = a.matrix();
  EXPECT_EQ(m.diagonal().cwiseAbs().maxCoeff(), 0.0);
  EXPECT_GT((m - m.transpose()).norm(), 0.1);  // really non-symmetric
  EXPECT_LE(test::relative_error(a.row_sums(), m.rowwise().sum()), kRounding);
  EXPECT_LE(test::relative_error(a.col_sums(), m.colwise().sum().transpose()), kRounding);

  // L_α = diag(r + c) − α − αᵀ formed explicitly.
  Eigen::MatrixXd lap = -m - m.transpose();
  lap.diagonal() += a.row_sums() + a.col_sums();
  Rng rng(4);
  const Eigen::MatrixXd b = rng.normal_matrix(n, 3);
  EXPECT_LE(test::relative_error(a.apply_laplacian(b), lap * b), kRounding);
  // L_α annihilates constants (every row of L sums to zero).
  EXPECT_LE(a.apply_laplacian(Eigen::MatrixXd::Ones(n, 1)).norm(), kRounding * lap.norm());
}

TEST(PairwiseImportance, UniformSums) {
  const PairwiseImportance u = PairwiseImportance::uniform(5, 2.0);
  EXPECT_EQ(u.row_sums(), Eigen::VectorXd::Constant(5, 8.0));
  EXPECT_EQ(u.col_sums(), Eigen::VectorXd::Constant(5, 8.0));
  EXPECT_EQ(PairwiseImportance::uniform(4).uniform_value(), 1.0);
}

TEST(PairwiseImportance, BadInputThrowsNamingTheParameter) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message(
                  [] { PairwiseImportance::from_matrix(Eigen::MatrixXd::Zero(3, 4)); }),
              HasSubstr("alpha shape = 3x4"));
  EXPECT_THAT(test::invalid_argument_message(
                  [] { PairwiseImportance::from_matrix(Eigen::MatrixXd::Zero(1, 1)); }),
              HasSubstr("N = 1"));
  Eigen::MatrixXd neg = Eigen::MatrixXd::Ones(3, 3);
  neg.diagonal().setZero();
  neg(2, 0) = -0.5;
  EXPECT_THAT(test::invalid_argument_message([&] { PairwiseImportance::from_matrix(neg); }),
              HasSubstr("alpha(2,0) = -0.5"));
  Eigen::MatrixXd diag = Eigen::MatrixXd::Ones(3, 3);
  diag.diagonal().setZero();
  diag(1, 1) = 0.25;
  EXPECT_THAT(test::invalid_argument_message([&] { PairwiseImportance::from_matrix(diag); }),
              HasSubstr("alpha(1,1) = 0.25"));
  Eigen::MatrixXd with_nan = Eigen::MatrixXd::Ones(3, 3);
  with_nan.diagonal().setZero();
  with_nan(0, 2) = nan;
  EXPECT_THAT(test::invalid_argument_message([&] { PairwiseImportance::from_matrix(with_nan); }),
              HasSubstr("alpha(0,2)"));
  EXPECT_THAT(test::invalid_argument_message([] { PairwiseImportance::uniform(1); }),
              HasSubstr("N = 1"));
  EXPECT_THAT(test::invalid_argument_message([] { PairwiseImportance::uniform(4, -1.0); }),
              HasSubstr("value = -1"));
  EXPECT_THAT(test::invalid_argument_message([&] { PairwiseImportance::uniform(4, nan); }),
              HasSubstr("value"));
  const PairwiseImportance u = PairwiseImportance::uniform(4);
  EXPECT_THAT(
      test::invalid_argument_message([&] { (void)u.apply_laplacian(Eigen::MatrixXd::Ones(3, 2)); }),
      HasSubstr("rows of B"));
}

}  // namespace
}  // namespace cldyn
