// analysis::top_eigenpairs (dense) and top_eigenpairs_matrix_free (Spectra Lanczos).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

TEST(TopEigenpairs, RecoversAPrescribedSpectrum) {
  // The most negative eigenvalue has the largest magnitude: "top" means largest algebraic.
  const Eigen::VectorXd values =
      (Eigen::VectorXd(8) << 5.0, 3.0, 2.0, 1.0, 0.5, 0.0, -1.0, -9.0).finished();
  Eigen::MatrixXd basis;
  const Eigen::MatrixXd a = test::prescribed_spectrum(values, 1, &basis);
  const analysis::EigenResult r = analysis::top_eigenpairs(a, 3);
  ASSERT_EQ(r.status, Status::success) << r.message;
  ASSERT_EQ(r.values.size(), 3);
  ASSERT_EQ(r.vectors.rows(), 8);
  ASSERT_EQ(r.vectors.cols(), 3);
  for (Eigen::Index i = 0; i < 3; ++i) {
    // Backward-stable dense solver: eigenvalue errors O(ε·‖A‖) ≈ 1e-15·10.
    EXPECT_NEAR(r.values(i), values(i), 1e-13 * values.cwiseAbs().maxCoeff()) << i;
    EXPECT_NEAR(r.vectors.col(i).norm(), 1.0, 1e-14);  // unit vectors to rounding
    // Gaps ≥ 1 relative to ‖A‖ ≈ 10: vector errors O(ε·‖A‖/gap) ≈ 1e-14.
    EXPECT_GE(test::abs_cos(r.vectors.col(i), basis.col(i)), 1.0 - 1e-12) << i;
  }
  EXPECT_LE(r.residual, 1e-12);
  EXPECT_GE(r.residual, 0.0);
  // k = d returns the whole spectrum in decreasing order.
  const analysis::EigenResult all = analysis::top_eigenpairs(a, 8);
  EXPECT_LE((all.values - values).cwiseAbs().maxCoeff(), 1e-13 * 9.0);
}

TEST(TopEigenpairs, ZeroMatrixHasZeroResidual) {
  const analysis::EigenResult r = analysis::top_eigenpairs(Eigen::MatrixXd::Zero(4, 4), 2);
  EXPECT_EQ(r.status, Status::success);
  EXPECT_EQ(r.values, Eigen::VectorXd::Zero(2));
  EXPECT_EQ(r.residual, 0.0);
}

TEST(TopEigenpairs, BadInputThrowsNamingTheParameter) {
  const Eigen::MatrixXd a = test::prescribed_spectrum(Eigen::VectorXd::LinSpaced(5, 1.0, 5.0), 2);
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs(a, 0); }),
              HasSubstr("k = 0"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs(a, 6); }),
              HasSubstr("k = 6"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::top_eigenpairs(Eigen::MatrixXd::Ones(3, 4), 1); }),
              HasSubstr("A shape = 3x4"));
  Eigen::MatrixXd asym = a;
  asym(0, 1) += 1e-3;
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs(asym, 1); }),
              HasSubstr("symmetry"));
  Eigen::MatrixXd with_nan = a;
  with_nan(2, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs(with_nan, 1); }),
              HasSubstr("A(2,2)"));
}

TEST(TopEigenpairsMatrixFree, AgreesWithDenseOnAGatedCovarianceOperator) {
  constexpr Eigen::Index n = 60, d = 30;
  const TwoViewBatch b = test::gaussian_batch(n, d, 0.2, 3);
  Rng rng(4);
  const Eigen::VectorXd w = rng.normal_matrix(d, 1);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(n), test::random_alpha(n, 5)}) {
    const Eigen::MatrixXd dense_a = analysis::gated_covariance(b, alpha, w, Activation::relu());
    const analysis::EigenResult dense = analysis::top_eigenpairs(dense_a, 4);
    ASSERT_EQ(dense.status, Status::success);
    // The comparison of vectors needs simple eigenvalues: assert the gaps this seed gives.
    for (Eigen::Index i = 0; i + 1 < 4; ++i)
      ASSERT_GT(dense.values(i) - dense.values(i + 1), 1e-3 * dense.values(0)) << i;
    const ContrastiveCovarianceOperator op =
        analysis::gated_covariance_operator(b, alpha, w, Activation::relu());
    const analysis::EigenResult lanczos = analysis::top_eigenpairs_matrix_free(op, 3);
    ASSERT_EQ(lanczos.status, Status::success) << lanczos.message;
    ASSERT_EQ(lanczos.values.size(), 3);
    for (Eigen::Index i = 0; i < 3; ++i) {
      // Both solvers are accurate to O(ε·‖A‖); 1e-10 relative is the project's agreement level.
      EXPECT_NEAR(lanczos.values(i), dense.values(i), 1e-10 * std::abs(dense.values(0))) << i;
      // Vector error O(ε·‖A‖/gap) with gap ≥ 1e-3·λ₁: |cos| ≥ 1 − 1e-8 leaves margin.
      EXPECT_GE(test::abs_cos(lanczos.vectors.col(i), dense.vectors.col(i)), 1.0 - 1e-8) << i;
    }
    // Spectra's tolerance is 1e-12 relative; the fresh residual must reflect it.
    EXPECT_LE(lanczos.residual, 1e-10);
  }
}

TEST(TopEigenpairsMatrixFree, BadKThrows) {
  const TwoViewBatch b = test::gaussian_batch(10, 5, 0.2, 6);
  const ContrastiveCovarianceOperator op(PairwiseImportance::uniform(10), b.x, b.x_prime);
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs_matrix_free(op, 0); }),
              HasSubstr("k = 0"));
  EXPECT_THAT(test::invalid_argument_message([&] { (void)analysis::top_eigenpairs_matrix_free(op, 5); }),
              HasSubstr("k = 5"));
  analysis::LanczosOptions bad_ncv;
  bad_ncv.ncv = 2;
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { (void)analysis::top_eigenpairs_matrix_free(op, 2, bad_ncv); }),
              HasSubstr("ncv = 2"));
}

}  // namespace
}  // namespace cldyn
