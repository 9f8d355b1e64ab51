// TwoLayerNetwork (theory §5): forward pass, Identity C (back-propagated gradient vs the explicit
// sum of contrastive covariances), finite differences, Identity A, argument checks, training.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/models/two_layer.hpp"
#include "cldyn/train/trainer.hpp"
#include "support/problems.hpp"
#include "support/training.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

const Activation kActivations[] = {Activation::linear(), Activation::relu(),
                                   Activation::leaky_relu(0.1)};
const std::vector<Eigen::Index> kSizes = {3, 2, 4};  // d = 9, K = 3

/// Identity C by brute force: ∇_{w_a} E = Σ_b (VᵀV)_{ab} C_α[x̃_a, x̃_b] w_b, ∇_V E = V C_α[f_1],
/// every per-pair covariance formed with contrastive_covariance.
TwoLayerGradient identity_c(const TwoLayerNetwork& net, const TwoViewBatch& b, const PairwiseImportance& alpha) {
  const Eigen::Index k_count = net.num_fields(), m_count = net.nodes_per_field();
  const Eigen::MatrixXd vtv = net.top().transpose() * net.top();
  TwoLayerGradient g;
  for (Eigen::Index k = 0; k < k_count; ++k) {
    Eigen::MatrixXd gk = Eigen::MatrixXd::Zero(net.field_size(k), m_count);
    for (Eigen::Index m = 0; m < m_count; ++m) {
      const Eigen::MatrixXd xa = net.gated_input(b.x, k, m), xa_p = net.gated_input(b.x_prime, k, m);
      for (Eigen::Index l = 0; l < k_count; ++l)
        for (Eigen::Index n = 0; n < m_count; ++n) {
          const Eigen::MatrixXd c = contrastive_covariance(alpha, xa, xa_p, net.gated_input(b.x, l, n),
                                                           net.gated_input(b.x_prime, l, n));
          gk.col(m) += vtv(net.hidden_index(k, m), net.hidden_index(l, n)) * c * net.filters(l).col(n);
        }
    }
    g.filters.push_back(gk);
  }
  g.top = net.top() * contrastive_covariance(alpha, net.hidden(b.x), net.hidden(b.x_prime));
  return g;
}

double gradient_error(const TwoLayerGradient& a, const TwoLayerGradient& b, double factor = 1.0) {
  double num = (a.top - factor * b.top).squaredNorm(), den = (factor * b.top).squaredNorm();
  for (std::size_t k = 0; k < a.filters.size(); ++k) {
    num += (a.filters[k] - factor * b.filters[k]).squaredNorm();
    den += (factor * b.filters[k]).squaredNorm();
  }
  return std::sqrt(num / den);
}

/// min over views, samples and hidden nodes of |x_kᵀw| / (‖x_k‖‖w‖): distance from every gate
/// boundary (see test_one_layer.cpp for why finite differences need it).
double gate_margin(const TwoLayerNetwork& net, const TwoViewBatch& b) {
  double worst = std::numeric_limits<double>::infinity();
  for (const Eigen::MatrixXd* x : {&b.x, &b.x_prime})
    for (Eigen::Index k = 0; k < net.num_fields(); ++k) {
      const auto xk = x->middleCols(net.field_offset(k), net.field_size(k));
      for (Eigen::Index m = 0; m < net.nodes_per_field(); ++m) {
        const Eigen::VectorXd w = net.filters(k).col(m);
        for (Eigen::Index i = 0; i < xk.rows(); ++i)
          worst = std::min(worst, std::abs(xk.row(i).dot(w)) / (xk.row(i).norm() * w.norm()));
      }
    }
  return worst;
}

TEST(TwoLayerNetwork, RandomShapesAndUnitNorms) {
  Rng a(3), b(3);
  const TwoLayerNetwork n1 = TwoLayerNetwork::random(kSizes, 4, 2, Activation::relu(), a);
  const TwoLayerNetwork n2 = TwoLayerNetwork::random(kSizes, 4, 2, Activation::relu(), b);
  EXPECT_EQ(n1.input_dim(), 9);
  EXPECT_EQ(n1.num_fields(), 3);
  EXPECT_EQ(n1.nodes_per_field(), 4);
  EXPECT_EQ(n1.hidden_dim(), 12);
  EXPECT_EQ(n1.output_dim(), 2);
  EXPECT_EQ(n1.field_offset(2), 5);
  EXPECT_EQ(n1.field_size(1), 2);
  EXPECT_EQ(n1.top(), n2.top());
  for (Eigen::Index k = 0; k < 3; ++k) {
    EXPECT_EQ(n1.filters(k), n2.filters(k));
    for (Eigen::Index m = 0; m < 4; ++m) EXPECT_NEAR(n1.filters(k).col(m).norm(), 1.0, 1e-15);  // ulps
  }
  for (Eigen::Index i = 0; i < 2; ++i) EXPECT_NEAR(n1.top().row(i).norm(), 1.0, 1e-15);  // ulps
}

TEST(TwoLayerNetwork, ForwardMatchesAnExplicitLoop) {
  const TwoViewBatch b = test::gaussian_batch(7, 9, 0.3, 1);
  Rng rng(2);
  for (const Activation act : kActivations) {
    const TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 3, 2, act, rng);
    const Eigen::MatrixXd f = net.forward(b.x);
    const Eigen::MatrixXd f1 = net.hidden(b.x);
    ASSERT_EQ(f.rows(), 7);
    ASSERT_EQ(f.cols(), 2);
    for (Eigen::Index i = 0; i < 7; ++i) {
      Eigen::VectorXd h(9);
      for (Eigen::Index k = 0; k < 3; ++k)
        for (Eigen::Index m = 0; m < 3; ++m) {
          const double u = b.x.row(i).segment(net.field_offset(k), net.field_size(k)).dot(net.filters(k).col(m));
          h(k * 3 + m) = act.value(u);
          // Homogeneity: f_a = w_aᵀ x̃_a.
          EXPECT_NEAR(net.gated_input(b.x, k, m).row(i).dot(net.filters(k).col(m)), h(k * 3 + m), 1e-14);  // rounding
        }
      EXPECT_LE((f1.row(i).transpose() - h).norm(), 1e-14 * (1.0 + h.norm()));  // rounding
      EXPECT_LE((f.row(i).transpose() - net.top() * h).norm(), 1e-14 * (1.0 + h.norm()));  // rounding
    }
  }
}

TEST(TwoLayerNetwork, EnergyGradientIsIdentityC) {
  const TwoViewBatch b = test::gaussian_batch(11, 9, 0.4, 5);
  Rng rng(6);
  for (const Activation act : kActivations)
    for (const Eigen::Index p : {1, 3}) {
      const TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 3, p, act, rng);
      for (const PairwiseImportance& alpha : {PairwiseImportance::uniform(11), test::random_alpha(11, 7)}) {
        const TwoLayerGradient fast = net.energy_gradient(b, alpha);
        const TwoLayerGradient slow = identity_c(net, b, alpha);
        // Same sums in a different order (N, d, KM ≤ 12): rounding only.
        EXPECT_LE(gradient_error(fast, slow), 1e-12) << act.name() << " p=" << p;
        // Energy: ½ tr C_α[f] = ½ tr(V C_α[f_1] Vᵀ).
        const Eigen::MatrixXd c1 = contrastive_covariance(alpha, net.hidden(b.x), net.hidden(b.x_prime));
        const double e = 0.5 * (net.top() * c1 * net.top().transpose()).trace();
        // E = 1/(2N²) Σ α_ij (d²_ij − d²_i) cancels: |E| can be far below its terms (8.9e-5 against
        // terms of ~1e-2 in one case, where an -O1 sanitizer build differed by 3e-13·|E|). The
        // rounding bound scales with the terms, Σ α_ij (d²_ij + d²_i) / (2N²), not with |E|.
        const Eigen::MatrixXd f = net.forward(b.x), fp = net.forward(b.x_prime);
        const Eigen::MatrixXd a = alpha.matrix();
        double scale = 0.0;
        for (Eigen::Index i = 0; i < 11; ++i)
          for (Eigen::Index j = 0; j < 11; ++j)
            scale += a(i, j) * 0.5 * ((f.row(i) - f.row(j)).squaredNorm() + (f.row(i) - fp.row(i)).squaredNorm());
        scale /= 2.0 * 11 * 11;
        EXPECT_NEAR(net.energy(b, alpha), e, 1e-13 * scale);  // rounding of O(scale) sums
      }
    }
}

TEST(TwoLayerNetwork, EnergyGradientMatchesCentralDifferences) {
  const TwoViewBatch b = test::gaussian_batch(10, 9, 0.3, 9);
  const PairwiseImportance alpha = test::random_alpha(10, 3);
  for (const Activation act : kActivations) {
    // Pick a seed whose network keeps every sample ≥ 1e-3 away from a gate boundary, so no gate
    // flips under steps of h = 1e-6 (100× margin, as in test_one_layer.cpp).
    TwoLayerNetwork net = [&] {
      for (std::uint64_t seed = 1;; ++seed) {
        Rng rng(seed);
        TwoLayerNetwork n = TwoLayerNetwork::random(kSizes, 2, 2, act, rng);
        if (act.is_linear() || gate_margin(n, b) >= 1e-3) return n;
      }
    }();
    const TwoLayerGradient g = net.energy_gradient(b, alpha);
    constexpr double h = 1e-6;
    // Central differences of a smooth O(1) function: truncation O(h²) ≈ 1e-12 plus rounding
    // ε/h ≈ 1e-10 per entry; 1e-7 relative to the gradient norm leaves a wide margin.
    double err = 0.0;
    for (Eigen::Index k = 0; k < net.num_fields(); ++k) {
      for (Eigen::Index i = 0; i < net.filters(k).size(); ++i) {
        TwoLayerNetwork plus = net, minus = net;
        Eigen::MatrixXd w = net.filters(k);
        w(i) += h;
        plus.set_filters(k, w);
        w(i) -= 2 * h;
        minus.set_filters(k, w);
        const double fd = (plus.energy(b, alpha) - minus.energy(b, alpha)) / (2 * h);
        err = std::max(err, std::abs(fd - g.filters[static_cast<std::size_t>(k)](i)));
      }
    }
    for (Eigen::Index i = 0; i < net.top().size(); ++i) {
      TwoLayerNetwork plus = net, minus = net;
      Eigen::MatrixXd v = net.top();
      v(i) += h;
      plus.set_top(v);
      v(i) -= 2 * h;
      minus.set_top(v);
      const double fd = (plus.energy(b, alpha) - minus.energy(b, alpha)) / (2 * h);
      err = std::max(err, std::abs(fd - g.top(i)));
    }
    double scale = g.top.norm();
    for (const auto& gk : g.filters) scale = std::max(scale, gk.norm());
    EXPECT_LE(err, 1e-7 * scale) << act.name();
  }
}

TEST(TwoLayerNetwork, LossGradientIsIdentityA) {
  const TwoViewBatch b = test::gaussian_batch(9, 9, 0.3, 12);
  Rng rng(13);
  const double n = 9.0;
  for (const Activation act : kActivations)
    for (const Loss& loss : {Loss::quadratic(), Loss::infonce(0.5), Loss::infonce(2.0, 0.0)}) {
      const TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 2, 3, act, rng);
      const PairwiseImportance alpha = loss.pairwise_importance(net.forward(b.x), net.forward(b.x_prime));
      // Claim A (theory §7): ≤ 1e-10 relative.
      EXPECT_LE(gradient_error(net.loss_gradient(b, loss), net.energy_gradient(b, alpha), -2.0 * n * n), 1e-10)
          << act.name() << " " << loss.name();
    }
}

TEST(TwoLayerNetwork, RejectsBadArguments) {
  using test::invalid_argument_message;
  const Activation relu = Activation::relu();
  Rng rng(1);
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork::random({3, 0}, 2, 1, relu, rng); }),
              HasSubstr("d_1 (receptive field size) = 0 violates d_k >= 1"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork::random({}, 2, 1, relu, rng); }),
              HasSubstr("K (number of receptive fields) = 0"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork::random({3, 2}, 0, 1, relu, rng); }),
              HasSubstr("M (nodes per field) = 0 violates M >= 1"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork::random({3, 2}, 2, 0, relu, rng); }),
              HasSubstr("p (output dimension) = 0 violates p >= 1"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork::validate_rf_sizes({3, 2}, 6, "split"); }),
              HasSubstr("split: sum of receptive field sizes = 5 violates sum_k d_k == d = 6"));
  EXPECT_EQ(invalid_argument_message([&] { TwoLayerNetwork::validate_rf_sizes({3, 3}, 6, "split"); }),
            "<no exception thrown>");
  const Eigen::MatrixXd w3 = Eigen::MatrixXd::Ones(3, 2), w2 = Eigen::MatrixXd::Ones(2, 2);
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({w3, Eigen::MatrixXd::Ones(2, 3)}, Eigen::MatrixXd::Ones(1, 4), relu); }),
              HasSubstr("columns of W_1 = 3 violates == M = 2"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({Eigen::MatrixXd(3, 0)}, Eigen::MatrixXd(1, 0), relu); }),
              HasSubstr("M (columns of W_0) = 0 violates M >= 1"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({w3, w2}, Eigen::MatrixXd::Ones(1, 5), relu); }),
              HasSubstr("columns of V = 5 violates == K*M = 4"));
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({w3, w2}, Eigen::MatrixXd(0, 4), relu); }),
              HasSubstr("p (rows of V) = 0"));
  Eigen::MatrixXd bad = w2;
  bad(1, 0) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({w3, bad}, Eigen::MatrixXd::Ones(1, 4), relu); }),
              HasSubstr("W_1(1,0) = nan violates the constraint that every entry is finite"));
  Eigen::MatrixXd bad_v = Eigen::MatrixXd::Ones(1, 4);
  bad_v(0, 2) = std::numeric_limits<double>::infinity();
  EXPECT_THAT(invalid_argument_message([&] { TwoLayerNetwork({w3, w2}, bad_v, relu); }),
              HasSubstr("V(0,2) = inf"));

  TwoLayerNetwork net({w3, w2}, Eigen::MatrixXd::Ones(2, 4), relu);
  EXPECT_THAT(invalid_argument_message([&] { net.set_top(Eigen::MatrixXd::Ones(1, 4)); }),
              HasSubstr("V has shape 1x4, violates the required shape 2x4"));
  EXPECT_THAT(invalid_argument_message([&] { net.set_filters(1, w3); }),
              HasSubstr("W_1 has shape 3x2, violates the required shape 2x2"));
  EXPECT_THAT(invalid_argument_message([&] { net.set_filters(2, w2); }), HasSubstr("k = 2 violates 0 <= k < K = 2"));
  EXPECT_THAT(invalid_argument_message([&] { net.forward(Eigen::MatrixXd::Ones(3, 4)); }),
              HasSubstr("columns of X = 4 violates == d = 5"));
  EXPECT_THAT(invalid_argument_message([&] { net.gated_input(Eigen::MatrixXd::Ones(3, 5), 0, 2); }),
              HasSubstr("m = 2 violates 0 <= m < M = 2"));
  TwoViewBatch one;
  one.x = Eigen::MatrixXd::Ones(1, 5);
  one.x_prime = one.x;
  EXPECT_THAT(invalid_argument_message([&] { net.energy_gradient(one, PairwiseImportance::uniform(2)); }),
              HasSubstr("N (rows of X) = 1 violates N >= 2"));
  const TwoViewBatch b = test::gaussian_batch(4, 5, 0.3, 1);
  EXPECT_THAT(invalid_argument_message([&] { net.energy_gradient(b, PairwiseImportance::uniform(3)); }),
              HasSubstr("size of alpha = 3 violates == N = 4"));
  TwoViewBatch nan_batch = b;
  nan_batch.x_prime(2, 3) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(invalid_argument_message([&] { net.energy(nan_batch, PairwiseImportance::uniform(4)); }),
              HasSubstr("X'(2,3) = nan"));
  const TwoViewBatch wrong_d = test::gaussian_batch(4, 6, 0.3, 1);
  EXPECT_THAT(invalid_argument_message([&] { net.loss_gradient(wrong_d, Loss::quadratic()); }),
              HasSubstr("d of the batch = 6"));
  EXPECT_THAT(invalid_argument_message([&] { net.backpropagate(b, Eigen::MatrixXd::Ones(4, 1), Eigen::MatrixXd::Ones(4, 2)); }),
              HasSubstr("dF has shape 4x1, violates the required shape 4x2"));
}

// ---- training --------------------------------------------------------------------------------

TEST(TwoLayerTrainer, UpdateRuleWithMomentumAndCoupledWeightDecay) {
  // Two unnormalised steps recomputed by hand on every block: g_t = ∇E(θ_t) − wd·θ_t, v_0 = g_0,
  // v_1 = μ v_0 + g_1, θ_{t+1} = θ_t + η v_t.
  const TwoViewBatch b = test::gaussian_batch(10, 9, 0.3, 3);
  Rng rng(4);
  const TwoLayerNetwork start = TwoLayerNetwork::random(kSizes, 2, 2, Activation::relu(), rng);
  const Loss loss = Loss::infonce(0.5);
  const TrainerOptions opt = test::two_momentum_steps();
  auto grad = [&](const TwoLayerNetwork& n) {
    const PairwiseImportance a = loss.pairwise_importance(n.forward(b.x), n.forward(b.x_prime));
    TwoLayerGradient g = n.energy_gradient(b, a);
    for (std::size_t k = 0; k < g.filters.size(); ++k) g.filters[k] -= opt.weight_decay * n.filters()[k];
    g.top -= opt.weight_decay * n.top();
    return g;
  };
  auto apply = [&](TwoLayerNetwork& n, const TwoLayerGradient& v) {
    std::vector<Eigen::MatrixXd> w = n.filters();
    for (std::size_t k = 0; k < w.size(); ++k) w[k] += opt.learning_rate * v.filters[k];
    n.set_filters(w);
    n.set_top(n.top() + opt.learning_rate * v.top);
  };
  TwoLayerNetwork manual = start;
  const TwoLayerGradient v0 = grad(manual);
  apply(manual, v0);
  TwoLayerGradient v1 = grad(manual);
  for (std::size_t k = 0; k < v1.filters.size(); ++k) v1.filters[k] += opt.momentum * v0.filters[k];
  v1.top += opt.momentum * v0.top;
  apply(manual, v1);

  TwoLayerNetwork trained = start;
  const TrainResult r = train(trained, loss, b, opt);
  EXPECT_EQ(r.status, Status::max_steps);
  EXPECT_EQ(r.steps, 2);
  // Same operations up to the order of two additions: rounding of O(1) updates.
  for (Eigen::Index k = 0; k < 3; ++k)
    EXPECT_LE(test::relative_error(trained.filters(k), manual.filters(k)), 1e-13);
  EXPECT_LE(test::relative_error(trained.top(), manual.top()), 1e-13);
}

TEST(TwoLayerTrainer, NormalisationKeepsFiltersAndTopOnTheirSpheres) {
  const TwoViewBatch b = test::gaussian_batch(20, 9, 0.3, 5);
  for (const Normalization norm : {Normalization::renormalize, Normalization::project})
    for (const TopNormalization top : {TopNormalization::rows, TopNormalization::whole}) {
      Rng rng(6);
      TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 3, 2, Activation::relu(), rng);
      TrainerOptions opt = test::fixed_steps(200);
      opt.learning_rate = 0.5;
      opt.normalization = norm;
      opt.top_normalization = top;
      long calls = 0;
      const TwoLayerTrainCallback cb = [&](const TwoLayerStepInfo& info) {
        ++calls;
        EXPECT_EQ(info.network.num_fields(), 3);
        return true;
      };
      const TrainResult r = train(net, Loss::quadratic(), b, opt, {cb});
      EXPECT_EQ(r.status, Status::max_steps) << r.message;
      EXPECT_EQ(calls, 201);
      EXPECT_GT(r.final_energy, r.initial_energy);  // ascent on E
      for (Eigen::Index k = 0; k < 3; ++k)
        for (Eigen::Index m = 0; m < 3; ++m) EXPECT_NEAR(net.filters(k).col(m).norm(), 1.0, 1e-12);  // rounding
      if (top == TopNormalization::rows) {
        for (Eigen::Index i = 0; i < 2; ++i) EXPECT_NEAR(net.top().row(i).norm(), 1.0, 1e-12);  // rounding
      } else {
        EXPECT_NEAR(net.top().norm(), 1.0, 1e-12);  // rounding
      }
    }
}

TEST(TwoLayerTrainer, LinearP1ConvergesAndFiltersAlign) {
  // Linear, p = 1, fixed batch: every filter of RF k moves along C_α[x_k, f] (Claim 6), so with
  // renormalised filters and V, training converges and the filters of an RF coincide up to sign.
  // The data share one dominant direction across all RFs (x0 = t·a + 0.3·g), so the top layer
  // reads every RF: a filter's alignment rate is ∝ |v_km|, and an RF the top layer ignores
  // would align arbitrarily slowly.
  Rng data(8);
  const Eigen::VectorXd a = data.normal_matrix(9, 1).col(0);
  const Eigen::MatrixXd x0 = data.normal_matrix(30, 1) * a.transpose() + 0.3 * data.normal_matrix(30, 9);
  TwoViewBatch b;
  b.x = x0 + 0.2 * data.normal_matrix(30, 9);
  b.x_prime = x0 + 0.2 * data.normal_matrix(30, 9);
  Rng rng(9);
  TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 3, 1, Activation::linear(), rng);
  TrainerOptions opt;
  opt.learning_rate = 0.5;
  opt.top_normalization = TopNormalization::rows;
  opt.max_steps = 20000;
  opt.tolerance = 1e-9;
  const TrainResult r = train(net, Loss::quadratic(), b, opt);
  ASSERT_EQ(r.status, Status::success) << r.message;
  for (Eigen::Index k = 0; k < 3; ++k)
    for (Eigen::Index m = 1; m < 3; ++m)
      // Residual 1e-9 bounds the angle to O(1e-9); 1e-6 leaves room for the eigengap.
      EXPECT_GE(test::abs_cos(net.filters(k).col(0), net.filters(k).col(m)), 1.0 - 1e-6) << k << "," << m;
}

TEST(TwoLayerTrainer, FreshBatchModeIsDeterministicAndRejectsEmptySampler) {
  auto run = [](std::uint64_t seed) {
    Rng init(1);
    TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 2, 2, Activation::relu(), init);
    TrainerOptions opt;
    opt.learning_rate = 0.2;
    opt.max_steps = 30;
    opt.top_normalization = TopNormalization::whole;
    Rng rng(seed);
    const BatchSampler sampler = test::noisy_views_sampler(8, 9, 0.2);
    train(net, Loss::infonce(0.5), sampler, rng, opt);
    return net;
  };
  const TwoLayerNetwork a = run(5), b = run(5), c = run(6);
  EXPECT_EQ(a.top(), b.top());
  EXPECT_EQ(a.filters(1), b.filters(1));
  EXPECT_NE(a.top(), c.top());
  Rng init(1), rng(1);
  TwoLayerNetwork net = TwoLayerNetwork::random(kSizes, 2, 2, Activation::relu(), init);
  EXPECT_THAT(test::invalid_argument_message([&] { train(net, Loss::quadratic(), BatchSampler{}, rng, TrainerOptions{}); }),
              HasSubstr("sampler = empty"));
  EXPECT_THAT(test::invalid_argument_message([&] { train(net, Loss::quadratic(), test::gaussian_batch(5, 4, 0.1, 1), TrainerOptions{}); }),
              HasSubstr("d of the batch = 4"));
}

}  // namespace
}  // namespace cldyn
