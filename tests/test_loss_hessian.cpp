// analysis::loss_hessian and analysis::frozen_alpha_jacobian (theory §3, "Stability").
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <string>
#include <vector>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/models/one_layer.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

/// Central differences of column k of OneLayerNetwork::loss_gradient in w_k: the Hessian of L
/// in w_k with every other quantity (α included) recomputed at each perturbed W.
Eigen::MatrixXd fd_hessian(const OneLayerNetwork& net, const TwoViewBatch& batch,
                           const Loss& loss, Eigen::Index k, double h) {
  const Eigen::Index d = net.input_dim();
  Eigen::MatrixXd out(d, d);
  OneLayerNetwork probe = net;
  for (Eigen::Index i = 0; i < d; ++i) {
    Eigen::MatrixXd w = net.weights();
    w(i, k) += h;
    probe.set_weights(w);
    // Central differences assume the gates do not change inside [w − h, w + h].
    EXPECT_EQ(probe.gates(batch.x), net.gates(batch.x));
    EXPECT_EQ(probe.gates(batch.x_prime), net.gates(batch.x_prime));
    const Eigen::VectorXd plus = probe.loss_gradient(batch, loss).col(k);
    w(i, k) -= 2.0 * h;
    probe.set_weights(w);
    EXPECT_EQ(probe.gates(batch.x), net.gates(batch.x));
    EXPECT_EQ(probe.gates(batch.x_prime), net.gates(batch.x_prime));
    const Eigen::VectorXd minus = probe.loss_gradient(batch, loss).col(k);
    out.col(i) = (plus - minus) / (2.0 * h);
  }
  return out;
}

std::vector<test::NamedLoss> losses() {
  return {{"quadratic", Loss::quadratic()},
          {"infonce(0.5,1)", Loss::infonce(0.5, 1.0)},
          {"infonce(0.1,0)", Loss::infonce(0.1, 0.0)}};
}

TEST(LossHessian, MatchesFiniteDifferencesOfTheLossGradient) {
  const Eigen::Index n = 10, d = 5, kk = 3;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 11);
  Rng rng(12);
  for (const Activation act : {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.2)}) {
    // Weights of norm ~0.7 keep the InfoNCE logits (distances/τ) of order one even at τ = 0.1,
    // so the softmax is neither uniform nor one-hot and the 1/τ term matters.
    const OneLayerNetwork net(0.7 * rng.normal_matrix(d, kk) / std::sqrt(static_cast<double>(d)), act);
    // Gate flips would make the Hessian (gates constant) and the differences disagree; with
    // steps of 1e-5 (|Δ xᵀw| ≤ 1e-5·‖x‖) and ‖w_k‖ ≈ 0.7 a relative margin of 1e-4 rules them
    // out (and fd_hessian checks the gates at every perturbed W).
    ASSERT_GT(test::gate_margin(batch, net.weights()), 1e-4) << act.name();
    for (const test::NamedLoss& c : losses()) {
      for (Eigen::Index k = 0; k < kk; ++k) {
        const Eigen::MatrixXd analytic = analysis::loss_hessian(net, batch, c.loss, k);
        // Step 1e-5 ≈ ε^{1/3}·|w|: truncation O(h²·‖∇³L‖) and rounding O(ε·‖∇L‖/h) both stay
        // near 1e-10 relative, far inside the 1e-6 requirement (which leaves room for data
        // with larger third derivatives, e.g. τ = 0.1).
        const Eigen::MatrixXd numeric = fd_hessian(net, batch, c.loss, k, 1e-5);
        EXPECT_LE(test::relative_error(analytic, numeric), 1e-6)
            << act.name() << " " << c.name << " k=" << k;
        // Symmetric bit for bit (it is symmetrised), and the differences agree it should be.
        EXPECT_EQ(analytic, analytic.transpose());
      }
    }
  }
}

TEST(LossHessian, QuadraticLossIsMinus2NSquaredTimesTheGatedCovariance) {
  // For uniform α the loss is a quadratic form in the outputs and α does not move, so the full
  // Hessian is −2N²·A(w_k) exactly (Identity A differentiated once more).
  const Eigen::Index n = 12, d = 4;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.4, 21);
  Rng rng(22);
  const OneLayerNetwork net(rng.normal_matrix(d, 2), Activation::relu());
  const PairwiseImportance alpha = PairwiseImportance::uniform(n);
  for (Eigen::Index k = 0; k < 2; ++k) {
    const Eigen::MatrixXd a = analysis::frozen_alpha_jacobian(net, batch, alpha, k);
    // Two summation orders of the same O(N·d²) products: agreement to a few ulps of ‖A‖.
    EXPECT_LE(test::relative_error(analysis::loss_hessian(net, batch, Loss::quadratic(), k),
                                   -2.0 * n * n * a),
              1e-12);
  }
}

TEST(LossHessian, InfoNceAddsAPositiveSemidefiniteTermToTheFrozenAlphaJacobian) {
  // ∇²L_nce = −2N²·A(w_k) + (1/τ)·Σ_i Cov_{p_i}[g_i]: the α-derivative term is PSD.
  const Eigen::Index n = 9, d = 6;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 31);
  Rng rng(32);
  const OneLayerNetwork net(0.5 * rng.normal_matrix(d, 3), Activation::relu());
  for (const double tau : {0.1, 0.5, 2.0}) {
    const Loss loss = Loss::infonce(tau, 1.0);
    const PairwiseImportance alpha =
        loss.pairwise_importance(net.forward(batch.x), net.forward(batch.x_prime));
    for (Eigen::Index k = 0; k < 3; ++k) {
      const Eigen::MatrixXd extra = analysis::loss_hessian(net, batch, loss, k) +
                                    2.0 * n * n * analysis::frozen_alpha_jacobian(net, batch, alpha, k);
      const Eigen::VectorXd ev = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(extra).eigenvalues();
      // PSD up to rounding of the O(N)-term sums that formed both matrices.
      EXPECT_GE(ev.minCoeff(), -1e-12 * ev.cwiseAbs().maxCoeff()) << "tau=" << tau << " k=" << k;
      EXPECT_GT(ev.maxCoeff(), 0.0);  // and it is not zero: α does depend on w_k
    }
  }
}

TEST(LossHessian, FrozenAlphaJacobianIsTheGatedCovariance) {
  const TwoViewBatch batch = test::gaussian_batch(8, 3, 0.3, 41);
  Rng rng(42);
  const OneLayerNetwork net(rng.normal_matrix(3, 2), Activation::leaky_relu(0.1));
  const PairwiseImportance alpha = test::random_alpha(8, 43);
  for (Eigen::Index k = 0; k < 2; ++k)
    EXPECT_EQ(analysis::frozen_alpha_jacobian(net, batch, alpha, k),
              analysis::gated_covariance(batch, alpha, net.weights().col(k), net.activation()));
}

TEST(LossHessian, RejectsBadArguments) {
  const TwoViewBatch batch = test::gaussian_batch(6, 3, 0.3, 51);
  Rng rng(52);
  const OneLayerNetwork net(rng.normal_matrix(3, 2), Activation::relu());
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { analysis::loss_hessian(net, batch, Loss::quadratic(), 2); }),
              HasSubstr("k = 2"));
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { analysis::loss_hessian(net, batch, Loss::quadratic(), -1); }),
              HasSubstr("k = -1"));
  const TwoViewBatch wrong_d = test::gaussian_batch(6, 4, 0.3, 53);
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { analysis::loss_hessian(net, wrong_d, Loss::infonce(0.5), 0); }),
              HasSubstr("d of the batch = 4"));
  EXPECT_THAT(test::invalid_argument_message([&] {
                analysis::frozen_alpha_jacobian(net, batch, PairwiseImportance::uniform(6), 5);
              }),
              HasSubstr("k = 5"));
}

TEST(LossHessian, InfoNceSoftmaxRowsSumToOneAndGiveAlpha) {
  const TwoViewBatch batch = test::gaussian_batch(7, 3, 0.3, 61);
  Rng rng(62);
  const OneLayerNetwork net(rng.normal_matrix(3, 2), Activation::linear());
  const Eigen::MatrixXd f = net.forward(batch.x), fp = net.forward(batch.x_prime);
  for (const double eps : {0.0, 1.0}) {
    // τ = 1e-3 makes the logits large: the log-sum-exp shift must keep everything finite.
    for (const double tau : {1e-3, 0.5}) {
      const InfoNceSoftmax sm = infonce_softmax(f, fp, tau, eps);
      ASSERT_TRUE(sm.p.allFinite() && sm.p_pos.allFinite() && sm.log_z.allFinite());
      const Eigen::VectorXd total = sm.p.rowwise().sum() + sm.p_pos;
      EXPECT_LE((total.array() - 1.0).abs().maxCoeff(), 1e-15 * 7);  // N roundings of ≤ 1
      EXPECT_EQ(sm.p, Loss::infonce(tau, eps).pairwise_importance(f, fp).matrix());
      if (eps == 0.0) {
        EXPECT_EQ(sm.p_pos.squaredNorm(), 0.0);
      }
    }
  }
  EXPECT_THAT(test::invalid_argument_message([&] { infonce_softmax(f, fp, 0.0, 1.0); }),
              HasSubstr("tau = 0"));
  EXPECT_THAT(test::invalid_argument_message([&] { infonce_softmax(f, fp, 1.0, -1.0); }),
              HasSubstr("eps = -1"));
}

}  // namespace
}  // namespace cldyn
