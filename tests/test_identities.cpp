// Identity A (α-CL), Identity B (dynamics) and fast vs naive contrastive covariance.
#include <gtest/gtest.h>

#include <limits>

#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/core.hpp"
#include "cldyn/core/reference.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

// Fast and naive forms sum the same terms in a different order: agreement to a few hundred
// ulps of the result's scale; 1e-12 is the contract of theory §7.
constexpr double kExactTolerance = 1e-12;

TEST(ContrastiveCovariance, FastMatchesNaiveForUniformAndInfoNce) {
  const TwoViewBatch b = test::gaussian_batch(17, 5, 0.3, 1);
  Rng rng(2);
  const Eigen::MatrixXd bb = rng.normal_matrix(17, 3), bb_prime = rng.normal_matrix(17, 3);
  const Loss nce = Loss::infonce(0.7, 1.0);
  for (const PairwiseImportance& alpha :
       {PairwiseImportance::uniform(17), nce.pairwise_importance(b.x, b.x_prime)}) {
    const Eigen::MatrixXd fast = contrastive_covariance(alpha, b.x, b.x_prime, bb, bb_prime);
    const Eigen::MatrixXd naive =
        reference::naive_contrastive_covariance(alpha, b.x, b.x_prime, bb, bb_prime);
    EXPECT_LE(test::relative_error(fast, naive), kExactTolerance);
    const Eigen::MatrixXd sym = contrastive_covariance(alpha, b.x, b.x_prime);
    const Eigen::MatrixXd sym_naive =
        reference::naive_contrastive_covariance(alpha, b.x, b.x_prime, b.x, b.x_prime);
    EXPECT_LE(test::relative_error(sym, sym_naive), kExactTolerance);
  }
}

TEST(IdentityA, InfoNceGradientIsMinusTwoNSquaredEnergyGradient) {
  const TwoViewBatch b = test::gaussian_batch(12, 6, 0.2, 3);
  Rng rng(4);
  for (const Activation act :
       {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.1)}) {
    const OneLayerNetwork net = OneLayerNetwork::random(6, 3, act, rng);
    for (const Loss loss : {Loss::quadratic(), Loss::infonce(0.5, 1.0), Loss::infonce(0.05, 0.0)}) {
      const Eigen::MatrixXd f = net.forward(b.x), fp = net.forward(b.x_prime);
      const PairwiseImportance alpha = loss.pairwise_importance(f, fp);
      const double n = static_cast<double>(b.size());
      const Eigen::MatrixXd via_energy = -2.0 * n * n * net.energy_gradient(b, alpha);
      const Eigen::MatrixXd direct = net.loss_gradient(b, loss);
      EXPECT_LE(test::relative_error(via_energy, direct), 1e-10) << act.name() << " " << loss.name();
    }
  }
}

TEST(IdentityB, EnergyGradientIsGatedCovarianceTimesW) {
  const TwoViewBatch b = test::gaussian_batch(20, 4, 0.5, 5);
  Rng rng(6);
  const OneLayerNetwork net = OneLayerNetwork::random(4, 3, Activation::relu(), rng);
  const Loss loss = Loss::infonce(1.0);
  const PairwiseImportance alpha =
      loss.pairwise_importance(net.forward(b.x), net.forward(b.x_prime));
  const Eigen::MatrixXd g = net.energy_gradient(b, alpha);
  for (Eigen::Index k = 0; k < 3; ++k) {
    const Eigen::MatrixXd a =
        analysis::gated_covariance(b, alpha, net.weights().col(k), net.activation());
    EXPECT_LE(test::relative_error(a * net.weights().col(k), g.col(k)), kExactTolerance);
  }
  EXPECT_NEAR(net.energy(b, alpha),
              reference::naive_energy(alpha, net.forward(b.x), net.forward(b.x_prime)),
              kExactTolerance * std::abs(net.energy(b, alpha)));
}

}  // namespace
}  // namespace cldyn

namespace cldyn {
namespace {

TEST(EnergyOutputGradient, MatchesCentralDifferencesOfTheEnergy) {
  Rng rng(31);
  const Eigen::MatrixXd f = rng.normal_matrix(9, 3), f_prime = rng.normal_matrix(9, 3);
  const PairwiseImportance alpha = Loss::infonce(0.7).pairwise_importance(f, f_prime);
  const auto [d_f, d_f_prime] = energy_output_gradient(alpha, f, f_prime);
  // E is quadratic in (F, F') for a frozen α: central differences are exact up to rounding,
  // O(ε·|E|/h) ≈ 1e-10 relative with the default step.
  const auto df_numeric = analysis::central_difference_gradient(
      [&](const Eigen::MatrixXd& x) { return contrastive_energy(alpha, x, f_prime); }, f);
  const auto dfp_numeric = analysis::central_difference_gradient(
      [&](const Eigen::MatrixXd& x) { return contrastive_energy(alpha, f, x); }, f_prime);
  EXPECT_LE(test::relative_error(df_numeric, d_f), 1e-8);
  EXPECT_LE(test::relative_error(dfp_numeric, d_f_prime), 1e-8);
}

}  // namespace
}  // namespace cldyn
