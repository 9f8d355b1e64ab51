// Numerical extremes (issue 8): tiny temperatures and huge distances in InfoNCE, near-duplicate
// samples, tied eigenvalues, dead ReLU nodes (every gate closed), a diverging learning rate.
// The contract: results are finite and certified, or carry a Status; never a silent NaN.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/core.hpp"
#include "cldyn/core/reference.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

/// Outputs whose pairwise distances span 1e-3 … 1e4: N points on a line at geometric spacing,
/// plus a second view shifted by `shift` per row.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> spread_outputs(Eigen::Index n, double shift) {
  Eigen::MatrixXd f(n, 2), fp(n, 2);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t =
        i == 0 ? 0.0 : 1e-3 * std::pow(1e7, static_cast<double>(i) / static_cast<double>(n - 1));
    f(i, 0) = t;
    f(i, 1) = -0.5 * t;
    fp(i, 0) = t + shift;
    fp(i, 1) = -0.5 * t;
  }
  return {f, fp};
}

TEST(Extremes, InfoNceAlphaAtTinyTauAndHugeDistancesIsFiniteAndRowsSumToOne) {
  for (const double tau : {1e-4, 1e-2, 1.0}) {
    for (const double eps : {0.0, 1.0}) {
      for (const double shift : {0.0, 1e-3, 1e4}) {
        const auto [f, fp] = spread_outputs(8, shift);
        const InfoNceSoftmax sm = infonce_softmax(f, fp, tau, eps);
        ASSERT_TRUE(sm.p.allFinite()) << tau << " " << eps << " " << shift;
        ASSERT_TRUE(sm.p_pos.allFinite());
        ASSERT_TRUE(sm.log_z.allFinite());
        EXPECT_GE(sm.p.minCoeff(), 0.0);
        EXPECT_TRUE((sm.p.diagonal().array() == 0.0).all());
        // Each softmax row sums to 1 up to N roundings of terms ≤ 1.
        const Eigen::VectorXd sums = sm.p.rowwise().sum() + sm.p_pos;
        EXPECT_LE((sums.array() - 1.0).abs().maxCoeff(),
                  8 * 4 * std::numeric_limits<double>::epsilon())
            << "tau=" << tau << " eps=" << eps << " shift=" << shift;
        if (eps == 0.0) {
          EXPECT_TRUE((sm.p_pos.array() == 0.0).all());
        }

        const Loss loss = Loss::infonce(tau, eps);
        const LossEvaluation ev = loss.evaluate(f, fp);
        EXPECT_TRUE(std::isfinite(ev.value));
        EXPECT_TRUE(ev.alpha.matrix().allFinite());
        EXPECT_TRUE(ev.alpha.row_sums().allFinite());
        EXPECT_LE((ev.alpha.row_sums() - sm.p.rowwise().sum()).cwiseAbs().maxCoeff(), 1e-15);
        const auto [gf, gfp] = loss.output_gradient(f, fp);
        EXPECT_TRUE(gf.allFinite());
        EXPECT_TRUE(gfp.allFinite());
        // Identity A on the outputs at the extremes: ∂L/∂F = −2N²·∂E/∂F with α frozen.
        const auto [ef, efp] = energy_output_gradient(ev.alpha, f, fp);
        EXPECT_LE(test::relative_error(gf, -2.0 * 64.0 * ef), 1e-10)
            << tau << " " << eps << " " << shift;
        EXPECT_LE(test::relative_error(gfp, -2.0 * 64.0 * efp), 1e-10);
      }
    }
  }
}

TEST(Extremes, InfoNceAtTinyTauIsOneHotOnTheNearestCandidate) {
  // τ = 1e-4 with squared distances that differ by far more than τ: each softmax row is, to
  // double precision, one-hot on its nearest candidate (a negative, or the positive pair).
  for (const double shift : {3.0, 1e4}) {  // positive nearest for some rows, never for others
    const auto [f, fp] = spread_outputs(6, shift);
    const double tau = 1e-4;
    const InfoNceSoftmax sm = infonce_softmax(f, fp, tau, 1.0);
    const Eigen::MatrixXd d2 = pairwise_squared_distances(f);
    const Eigen::VectorXd d2_pos = positive_squared_distances(f, fp);
    for (Eigen::Index i = 0; i < 6; ++i) {
      // Candidates: j ≠ i (index j) and the positive (index 6); the nearest one and the gap of
      // its logit to the next, which must exceed 40 (e^{-40} < 1e-17) for one-hotness.
      Eigen::VectorXd cand(7);
      cand.head(6) = d2.row(i).transpose();
      cand(i) = std::numeric_limits<double>::infinity();
      cand(6) = d2_pos(i);
      Eigen::Index best = 0;
      const double nearest = cand.minCoeff(&best);
      cand(best) = std::numeric_limits<double>::infinity();
      ASSERT_GT((cand.minCoeff() - nearest) / tau, 40.0)
          << "row " << i << ": test data not separated";
      const double p_best = best == 6 ? sm.p_pos(i) : sm.p(i, best);
      EXPECT_GE(p_best, 1.0 - 1e-15) << "row " << i << " shift " << shift;
      EXPECT_LE(sm.p.row(i).sum() + sm.p_pos(i) - p_best, 1e-15) << "row " << i;
    }
  }
}

TEST(Extremes, NearDuplicateSamplesGiveFiniteCertifiedCovariance) {
  TwoViewBatch b = test::gaussian_batch(8, 3, 0.3, 401);
  // Rows 1..7 are copies of row 0 perturbed at the 1e-13 level: almost every pairwise
  // difference is rounding noise. Fast and naive C_α must still agree and be finite.
  for (Eigen::Index i = 1; i < 8; ++i) {
    b.x.row(i) = b.x.row(0) + 1e-13 * b.x.row(i);
    b.x_prime.row(i) = b.x_prime.row(0) + 1e-13 * b.x_prime.row(i);
  }
  // A dynamic-size weight vector: converting a fixed-size Vector3d to MatrixXd here trips
  // GCC 12's false -Warray-bounds on Eigen's AVX packet loads (native build, -Werror).
  Eigen::VectorXd w(3);
  w << 0.3, -0.2, 0.9;
  for (const Loss& loss : {Loss::quadratic(), Loss::infonce(1e-4), Loss::infonce(0.5, 0.0)}) {
    const OneLayerNetwork net(w, Activation::relu());
    const Eigen::MatrixXd f = net.forward(b.x), fp = net.forward(b.x_prime);
    const LossEvaluation ev = loss.evaluate(f, fp);
    ASSERT_TRUE(std::isfinite(ev.value)) << loss.name();
    ASSERT_TRUE(ev.alpha.matrix().allFinite());
    const Eigen::MatrixXd c = contrastive_covariance(ev.alpha, b.x, b.x_prime);
    const Eigen::MatrixXd naive =
        reference::naive_contrastive_covariance(ev.alpha, b.x, b.x_prime, b.x, b.x_prime);
    ASSERT_TRUE(c.allFinite());
    // Both sum O(N²) terms of size ‖x‖²; the difference is rounding, bounded by N²·ε·‖x‖².
    EXPECT_LE((c - naive).norm(), 64 * 1e-15 * (1.0 + b.x.squaredNorm() + b.x_prime.squaredNorm()))
        << loss.name();
    const analysis::EigenResult eig = analysis::top_eigenpairs(0.5 * (c + c.transpose()), 3);
    EXPECT_EQ(eig.status, Status::success);
    EXPECT_TRUE(eig.values.allFinite());
    EXPECT_LE(eig.residual, 1e-12);
  }
  // Exact duplicates with InfoNCE: every distance is 0, α_ij = 1/(ε + N − 1).
  TwoViewBatch dup{Eigen::MatrixXd::Ones(5, 2), Eigen::MatrixXd::Ones(5, 2)};
  const LossEvaluation ev = Loss::infonce(1e-4, 1.0).evaluate(dup.x, dup.x_prime);
  const Eigen::MatrixXd expected =
      (Eigen::MatrixXd::Ones(5, 5) - Eigen::MatrixXd::Identity(5, 5)) / 5.0;
  EXPECT_LE((ev.alpha.matrix() - expected).cwiseAbs().maxCoeff(), 1e-16);
  EXPECT_TRUE(std::isfinite(ev.value));
}

/// A dense matrix in Spectra's operator shape.
struct Dense {
  using Scalar = double;
  const Eigen::MatrixXd* m;
  Eigen::Index rows() const { return m->rows(); }
  Eigen::Index cols() const { return m->cols(); }
  void perform_op(const double* x, double* y) const {
    Eigen::Map<Eigen::VectorXd>(y, m->rows()) =
        *m * Eigen::Map<const Eigen::VectorXd>(x, m->cols());
  }
};

TEST(Extremes, TiedEigenvaluesGiveZeroEigengapNotNaN) {
  // A spectrum with the top eigenvalue tripled and the rest tied too.
  const Eigen::MatrixXd a = test::prescribed_spectrum(
      Eigen::VectorXd::Map(std::vector<double>{3, 3, 3, 1, 1}.data(), 5), 402);
  const analysis::EigenResult dense = analysis::top_eigenpairs(a, 5);
  ASSERT_EQ(dense.status, Status::success);
  EXPECT_LE(dense.residual, 1e-14);
  // Rounding separates tied eigenvalues by a few ulps of ‖A‖ at most.
  EXPECT_LE(std::abs(dense.values(0) - dense.values(1)), 1e-14 * 3.0);
  EXPECT_LE(std::abs(dense.values(3) - dense.values(4)), 1e-14 * 3.0);
  // The identity: every eigenvalue tied exactly, eigengap exactly 0.
  const analysis::EigenResult id = analysis::top_eigenpairs(Eigen::MatrixXd::Identity(4, 4), 2);
  ASSERT_EQ(id.status, Status::success);
  EXPECT_EQ(id.values(0) - id.values(1), 0.0);
  EXPECT_EQ(id.residual, 0.0);

  // Matrix-free Lanczos on the tied spectrum: either certified eigenvalues that equal the dense
  // ones (the tie found in full), or a non-success status; never a success with a wrong value.
  const Eigen::MatrixXd big =
      test::prescribed_spectrum((Eigen::VectorXd(30) << Eigen::VectorXd::Constant(3, 5.0),
                                 Eigen::VectorXd::LinSpaced(27, 1.0, 2.0))
                                    .finished(),
                                403);
  const analysis::EigenResult mf = analysis::top_eigenpairs_matrix_free(Dense{&big}, 3);
  if (mf.status == Status::success) {
    EXPECT_LE(mf.residual, 1e-10);
    for (Eigen::Index i = 0; i < 3; ++i) EXPECT_NEAR(mf.values(i), 5.0, 1e-10) << i;
  } else {
    EXPECT_FALSE(mf.message.empty());
  }

  // Stability analysis at a point whose A(w*) has a tied top eigenvalue: a linear node on a
  // batch symmetric under swapping the two coordinates and flipping signs, so C_α[x] = c·I.
  Eigen::MatrixXd x(4, 2), xp(4, 2);
  x << 1, 0, -1, 0, 0, 1, 0, -1;
  xp = 0.9 * x;
  const analysis::SampleLandscape land(TwoViewBatch{x, xp}, Activation::linear(),
                                       Loss::quadratic());
  const analysis::StabilityResult st = analysis::analyze_stability(land, Eigen::VectorXd::Unit(2, 0));
  EXPECT_EQ(st.status, Status::success);
  EXPECT_EQ(st.eigengap, 0.0);
  EXPECT_TRUE(std::isfinite(st.lambda));
  EXPECT_TRUE(st.tangent_eigenvalues.allFinite());
  EXPECT_EQ(st.verdict, analysis::Verdict::degenerate);  // a flat direction along the tie
  EXPECT_TRUE(st.is_top);
  EXPECT_GE(st.fd_relative_error, 0.0);
  EXPECT_LE(st.fd_relative_error, 1e-8);
}

/// A batch with every entry of both views > 0 and w < 0 entrywise: every ReLU gate closed.
TwoViewBatch positive_batch() {
  TwoViewBatch b = test::gaussian_batch(10, 3, 0.3, 404);
  b.x = b.x.cwiseAbs().array() + 0.1;
  b.x_prime = b.x_prime.cwiseAbs().array() + 0.1;
  return b;
}

TEST(Extremes, DeadReluNodeGivesZeroCovarianceAndStatusesNotNaN) {
  const TwoViewBatch b = positive_batch();
  Eigen::VectorXd w(3);  // dynamic size: see NearDuplicateSamples (GCC 12 -Warray-bounds)
  w << -1.0, -0.5, -2.0;
  for (const Loss& loss : {Loss::quadratic(), Loss::infonce(0.1)}) {
    const OneLayerNetwork net(w, Activation::relu());
    const LossEvaluation ev = loss.evaluate(net.forward(b.x), net.forward(b.x_prime));
    ASSERT_TRUE(std::isfinite(ev.value));
    const Eigen::MatrixXd a = analysis::gated_covariance(b, ev.alpha, w, Activation::relu());
    EXPECT_EQ(a, Eigen::MatrixXd::Zero(3, 3)) << loss.name();
    EXPECT_EQ(net.energy_gradient(b, ev.alpha), Eigen::MatrixXd::Zero(3, 1));

    const analysis::EigenResult eig = analysis::top_eigenpairs(a, 3);
    EXPECT_EQ(eig.status, Status::success);
    EXPECT_EQ(eig.values, Eigen::VectorXd::Zero(3));
    EXPECT_EQ(eig.residual, 0.0);

    const analysis::SampleLandscape land(b, Activation::relu(), loss);
    const analysis::FixedPoint ascent = analysis::find_fixed_point(land, w);
    EXPECT_EQ(ascent.status, Status::not_converged) << ascent.message;
    EXPECT_THAT(ascent.message, HasSubstr("every gate closed"));
    EXPECT_TRUE(ascent.w.allFinite());
    EXPECT_TRUE(std::isfinite(ascent.energy));
    EXPECT_TRUE(std::isfinite(ascent.residual));

    // Newton must not call the dead point a converged critical point either.
    const analysis::FixedPoint newton = analysis::newton_fixed_point(land, w);
    EXPECT_EQ(newton.status, Status::not_converged) << newton.message;
    EXPECT_THAT(newton.message, HasSubstr("every gate closed"));
    EXPECT_TRUE(newton.w.allFinite());
    EXPECT_TRUE(std::isfinite(newton.energy));

    const analysis::StabilityResult st = analysis::analyze_stability(land, w);
    EXPECT_EQ(st.status, Status::success);
    EXPECT_EQ(st.verdict, analysis::Verdict::degenerate);
    EXPECT_THAT(st.message, HasSubstr("every gate closed"));
    EXPECT_EQ(st.eigengap, 0.0);
    EXPECT_EQ(st.hessian_norm, 0.0);
    EXPECT_TRUE(st.tangent_eigenvalues.allFinite());
    EXPECT_TRUE(std::isfinite(st.fd_relative_error));
    EXPECT_TRUE(std::isfinite(st.remainder_norm));
  }
}

TEST(Extremes, DeadReluNodeInTrainingStaysPutWithFiniteResult) {
  const TwoViewBatch b = positive_batch();
  Eigen::VectorXd w0(3);  // dynamic size: see NearDuplicateSamples (GCC 12 -Warray-bounds)
  w0 << -1.0, -0.5, -2.0;
  OneLayerNetwork net(w0.normalized(), Activation::relu());
  const Eigen::MatrixXd before = net.weights();
  TrainerOptions opt;
  opt.max_steps = 50;
  const TrainResult r = train(net, Loss::infonce(0.5), b, opt);
  // ∇E = 0 exactly: the residual is 0, which the trainer counts as converged.
  EXPECT_EQ(r.status, Status::success) << r.message;
  EXPECT_EQ(net.weights(), before);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  EXPECT_EQ(r.final_energy, 0.0);
  EXPECT_EQ(r.final_residual, 0.0);
}

TEST(Extremes, DivergingLearningRateStopsNonFiniteAndKeepsLastFiniteWeights) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 405);
  // Unnormalised linear nodes under the quadratic loss grow like (1 + ηλ₁)^t: with η = 1 the
  // weights overflow after a few hundred steps (a realistic divergence, not an immediate one).
  struct Case {
    const char* name;
    Loss loss;
    double momentum;
    bool fresh;
  };
  for (const Case& c : {Case{"quadratic", Loss::quadratic(), 0.0, false},
                        Case{"quadratic momentum", Loss::quadratic(), 0.9, false},
                        Case{"quadratic fresh batches", Loss::quadratic(), 0.0, true}}) {
    Rng rng(406);
    OneLayerNetwork net = OneLayerNetwork::random(4, 2, Activation::linear(), rng);
    TrainerOptions opt;
    opt.learning_rate = 1.0;
    opt.momentum = c.momentum;
    opt.normalization = Normalization::none;
    opt.max_steps = 100000;
    Eigen::MatrixXd last_seen;
    Eigen::Index last_step = -1;
    const TrainCallback watch = [&](const StepInfo& info) {
      last_seen = info.weights;
      last_step = info.step;
      return true;
    };
    Rng batch_rng(407);
    const TrainResult r = c.fresh
                              ? train(net, c.loss, [&](Rng&) { return b; }, batch_rng, opt, {watch})
                              : train(net, c.loss, b, opt, {watch});
    EXPECT_EQ(r.status, Status::non_finite) << c.name << ": " << r.message;
    EXPECT_GT(r.steps, 5) << c.name;
    EXPECT_LT(r.steps, opt.max_steps) << c.name;
    EXPECT_TRUE(net.weights().allFinite()) << c.name;
    EXPECT_TRUE(std::isfinite(r.final_energy)) << c.name;
    EXPECT_TRUE(std::isfinite(r.final_loss)) << c.name;
    EXPECT_TRUE(std::isfinite(r.final_residual)) << c.name;
    for (const TrajectoryPoint& p : r.trajectory) {
      EXPECT_TRUE(std::isfinite(p.energy) && std::isfinite(p.loss) && std::isfinite(p.residual))
          << c.name;
    }
    // The weights kept are the last ones a callback saw (the last state with finite outputs).
    EXPECT_EQ(last_step, r.steps) << c.name;
    EXPECT_EQ(net.weights(), last_seen) << c.name;
    EXPECT_GT(net.weights().norm(), 1e100) << c.name << ": it did diverge";
  }
}

TEST(Extremes, DivergingTwoLayerTrainingAlsoStopsNonFinite) {
  const TwoViewBatch b = test::gaussian_batch(10, 4, 0.3, 408);
  Rng rng(409);
  // Two receptive fields of size 2, 2 filters each, 1 output.
  TwoLayerNetwork net = TwoLayerNetwork::random({2, 2}, 2, 1, Activation::linear(), rng);
  TrainerOptions opt;
  opt.learning_rate = 1e3;
  opt.normalization = Normalization::none;
  opt.max_steps = 100000;
  const TrainResult r = train(net, Loss::quadratic(), b, opt);
  EXPECT_EQ(r.status, Status::non_finite) << r.message;
  EXPECT_LT(r.steps, opt.max_steps);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  EXPECT_TRUE(net.top().allFinite());
  for (const Eigen::MatrixXd& wk : net.filters()) EXPECT_TRUE(wk.allFinite());
}

TEST(Extremes, PairwiseImportanceWhoseRowSumsOverflowIsRejected) {
  // Every entry finite, but a row sum overflows to +inf: L_α would be non-finite downstream.
  Eigen::MatrixXd alpha = Eigen::MatrixXd::Constant(3, 3, 1e308);
  alpha.diagonal().setZero();
  EXPECT_THAT(test::invalid_argument_message([&] { PairwiseImportance::from_matrix(alpha); }),
              HasSubstr("row sum"));
  EXPECT_THAT(test::invalid_argument_message([] { PairwiseImportance::uniform(3, 1e308); }),
              HasSubstr("finite row sum"));
}

}  // namespace
}  // namespace cldyn
