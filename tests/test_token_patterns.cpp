// The token-pattern experiment (theory §6): generator invariants, batch normalisation and the
// network's loss against a direct implementation and central differences, SGD order, guard,
// locality metric, and bad configurations.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/math/distributions/chi_squared.hpp>
#include <cmath>
#include <set>

#include "cldyn/data/token_patterns.hpp"
#include "cldyn/models/token_network.hpp"
#include "cldyn/train/token_experiment.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using data::TokenPatternOptions;
using data::TokenPatterns;
using ::testing::HasSubstr;

TokenPatterns reference_patterns(std::uint64_t seed = 3) {
  Rng rng(seed, 1);
  return TokenPatterns(TokenPatternOptions{}, rng);
}

TEST(TokenPatterns, AllowedSetsAndPatternsRespectTheStructure) {
  const TokenPatterns tp = reference_patterns();
  const auto& o = tp.options();
  ASSERT_EQ(tp.allowed().size(), static_cast<std::size_t>(o.num_positions));
  for (const auto& set : tp.allowed()) {
    EXPECT_EQ(std::set<int>(set.begin(), set.end()).size(), static_cast<std::size_t>(o.allowed_per_position));
    for (int t : set) EXPECT_TRUE(t >= 0 && t < o.num_tokens);
  }
  ASSERT_EQ(tp.patterns().size(), static_cast<std::size_t>(o.num_patterns));
  for (const auto& pattern : tp.patterns()) {
    int fixed = 0;
    for (int k = 0; k < o.num_positions; ++k) {
      const int t = pattern[static_cast<std::size_t>(k)];
      if (t < 0) continue;
      ++fixed;
      const auto& set = tp.allowed()[static_cast<std::size_t>(k)];
      EXPECT_TRUE(std::find(set.begin(), set.end(), t) != set.end()) << "position " << k;
      const auto& used = tp.pattern_tokens()[static_cast<std::size_t>(k)];
      EXPECT_TRUE(std::find(used.begin(), used.end(), t) != used.end());
    }
    EXPECT_EQ(fixed, o.pattern_len);
  }
  EXPECT_TRUE(tp.identity_embedding());
}

TEST(TokenPatterns, PatternPositionsIdenticalAcrossViewsAndOnlyWildcardsRedrawn) {
  const TokenPatterns tp = reference_patterns();
  const auto& o = tp.options();
  Rng rng(5, 3);
  const data::TokenBatch b = tp.sample(500, rng);
  for (int i = 0; i < b.size; ++i) {
    const auto& pattern = tp.patterns()[static_cast<std::size_t>(b.pattern[static_cast<std::size_t>(i)])];
    int changed = 0;
    for (int k = 0; k < o.num_positions; ++k) {
      const int fixed = pattern[static_cast<std::size_t>(k)];
      if (fixed >= 0) {
        EXPECT_EQ(b.token(0, i, k), fixed);
        EXPECT_EQ(b.token(1, i, k), fixed);
      } else if (b.token(0, i, k) != b.token(1, i, k)) {
        ++changed;
      }
    }
    EXPECT_LE(changed, o.aug_degree);
  }
}

// Chi-square goodness of fit of token counts against uniform over all T tokens, at a false-alarm
// probability of 1e-6 (the test is deterministic for its seed; the level only bounds how unusual
// a correct generator's counts may look).
void expect_uniform(const std::vector<long>& counts) {
  long n = 0;
  for (long c : counts) n += c;
  const double expected = static_cast<double>(n) / static_cast<double>(counts.size());
  double chi2 = 0.0;
  for (long c : counts) chi2 += (c - expected) * (c - expected) / expected;
  const boost::math::chi_squared dist(static_cast<double>(counts.size() - 1));
  EXPECT_LT(chi2, boost::math::quantile(boost::math::complement(dist, 1e-6)));
}

TEST(TokenPatterns, WildcardsAndRedrawsUniformOverAllTokens) {
  const TokenPatterns tp = reference_patterns();
  const auto& o = tp.options();
  Rng rng(9, 3);
  std::vector<long> wild(static_cast<std::size_t>(o.num_tokens), 0);
  std::vector<long> redrawn(static_cast<std::size_t>(o.num_tokens), 0);
  long redraw_positions = 0, samples = 0;
  for (int rep = 0; rep < 40; ++rep) {
    const data::TokenBatch b = tp.sample(500, rng);
    for (int i = 0; i < b.size; ++i, ++samples) {
      const auto& pattern = tp.patterns()[static_cast<std::size_t>(b.pattern[static_cast<std::size_t>(i)])];
      for (int k = 0; k < o.num_positions; ++k) {
        if (pattern[static_cast<std::size_t>(k)] >= 0) continue;
        ++wild[static_cast<std::size_t>(b.token(0, i, k))];
        if (b.token(0, i, k) != b.token(1, i, k)) {
          ++redrawn[static_cast<std::size_t>(b.token(1, i, k))];
          ++redraw_positions;
        }
      }
    }
  }
  expect_uniform(wild);
  // A changed token is uniform over the T − 1 tokens other than the old one: overall uniform.
  expect_uniform(redrawn);
  // aug_degree = 5 re-draws per sample, each changes the token with probability (T−1)/T.
  const double expected = samples * o.aug_degree * (o.num_tokens - 1.0) / o.num_tokens;
  EXPECT_NEAR(static_cast<double>(redraw_positions), expected, 6.0 * std::sqrt(expected));
}

TEST(TokenPatterns, StructureSeedIsSeparateFromBatches) {
  const TokenPatterns a = reference_patterns(3), b = reference_patterns(3), c = reference_patterns(4);
  EXPECT_EQ(a.patterns(), b.patterns());
  EXPECT_NE(a.patterns(), c.patterns());
  Rng r1(1, 3), r2(2, 3);
  EXPECT_NE(a.sample(8, r1).view1, a.sample(8, r2).view1);
}

TEST(TokenPatterns, RandomEmbeddingsUnitNormWithMagnitudeSplit) {
  TokenPatternOptions o;
  o.embedding_dim = 16;
  o.magnitude_split = 3.0;
  Rng rng(1, 1);
  const TokenPatterns tp(o, rng);
  EXPECT_FALSE(tp.identity_embedding());
  for (int t = 0; t < o.num_tokens; ++t)
    EXPECT_NEAR(tp.embedding().col(t).norm(), t < o.num_tokens / 2 ? 1.0 : 3.0, 1e-12);
}

TEST(TokenPatterns, BadConfigurationsAreClearErrors) {
  auto message = [](TokenPatternOptions o) {
    return test::invalid_argument_message([&] { o.validate(); });
  };
  TokenPatternOptions o;
  o.allowed_per_position = 21;
  EXPECT_THAT(message(o), HasSubstr("allowed_per_position (P) = 21 violates P <= T = 20"));
  o = {};
  o.pattern_len = 11;
  EXPECT_THAT(message(o), HasSubstr("pattern_len = 11 violates pattern_len <= K = 10"));
  o = {};
  o.aug_degree = 6;
  EXPECT_THAT(message(o), HasSubstr("aug_degree = 6 violates aug_degree <= K - pattern_len = 5"));
  o = {};
  o.magnitude_split = 0.0;
  EXPECT_THAT(message(o), HasSubstr("magnitude_split"));
  TokenRunOptions r;
  r.batch_size = 1;
  EXPECT_THAT(test::invalid_argument_message([&] { r.validate(); }), HasSubstr("batch_size = 1"));
  r = {};
  r.momentum = 1.0;
  EXPECT_THAT(test::invalid_argument_message([&] { r.validate(); }), HasSubstr("momentum = 1"));
}

// ---- batch normalisation -------------------------------------------------------------------------

Eigen::MatrixXd bn(const Eigen::MatrixXd& h, double eps = 1e-5) {
  Eigen::MatrixXd out(h.rows(), h.cols());
  Eigen::VectorXd inv(h.rows());
  batch_norm_forward<double>(h, eps, out, inv);
  return out;
}

TEST(BatchNorm, ForwardNormalisesEachUnit) {
  Rng rng(1);
  const Eigen::MatrixXd h = 3.0 * rng.normal_matrix(4, 9).array() + 2.0;
  const Eigen::MatrixXd out = bn(h);
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(out.row(j).mean(), 0.0, 1e-14);
    const double var = (h.row(j).array() - h.row(j).mean()).square().mean();
    EXPECT_NEAR(out.row(j).squaredNorm() / 9.0, var / (var + 1e-5), 1e-13);
  }
}

// Backward against central differences of R ⊙ BN(H), where "no gradient through μ (σ²)" is the
// derivative with μ (σ²) frozen at the point of differentiation.
TEST(BatchNorm, BackwardMatchesFiniteDifferencesForEverySwitch) {
  Rng rng(2);
  const Eigen::MatrixXd h0 = rng.normal_matrix(3, 7);
  const Eigen::MatrixXd r = rng.normal_matrix(3, 7);
  const Eigen::VectorXd mu0 = h0.rowwise().mean();
  Eigen::MatrixXd out0(3, 7);
  Eigen::VectorXd inv0(3);
  batch_norm_forward<double>(h0, 1e-5, out0, inv0);
  for (const bool grad_mean : {false, true})
    for (const bool grad_var : {false, true}) {
      auto f = [&](const Eigen::MatrixXd& h) {
        const Eigen::VectorXd mu = grad_mean ? Eigen::VectorXd(h.rowwise().mean()) : mu0;
        const Eigen::MatrixXd c = h.colwise() - Eigen::VectorXd(h.rowwise().mean());
        const Eigen::VectorXd inv =
            grad_var ? Eigen::VectorXd(((c.array().square().rowwise().sum() / 7.0) + 1e-5).rsqrt())
                     : inv0;
        return (r.array() * (inv.asDiagonal() * (h.colwise() - mu)).array()).sum();
      };
      Eigen::MatrixXd dh(3, 7);
      batch_norm_backward<double>(r, out0, inv0, grad_mean, grad_var, dh);
      const double step = 1e-6;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 7; ++j) {
          Eigen::MatrixXd hp = h0, hm = h0;
          hp(i, j) += step;
          hm(i, j) -= step;
          EXPECT_NEAR(dh(i, j), (f(hp) - f(hm)) / (2 * step), 1e-7)
              << "grad_mean " << grad_mean << " grad_var " << grad_var;
        }
    }
}

// ---- the network's loss ------------------------------------------------------------------------

/// Direct implementation of theory §6 from the formulas (dense one-hot inputs, no workspace).
double direct_loss(const TokenNetworkOptions& o, const TokenParameters<double>& p,
                   const Eigen::MatrixXd& embedding, const data::TokenBatch& b,
                   const TokenLossOptions& lo) {
  const int K = o.num_positions, M = o.hidden_per_position, B = b.size;
  std::vector<Eigen::MatrixXd> z(2);
  for (int v = 0; v < 2; ++v) {
    Eigen::MatrixXd h(K * M, B);
    for (int i = 0; i < B; ++i)
      for (int k = 0; k < K; ++k) {
        Eigen::VectorXd u = p.W.middleRows(k * M, M) * embedding.col(b.token(v, i, k));
        if (o.bias) u += p.b.segment(k * M, M);
        for (int m = 0; m < M; ++m) h(k * M + m, i) = o.activation.value(u(m));
      }
    if (o.batch_norm) h = bn(h, o.bn_epsilon);
    Eigen::MatrixXd out = p.V * h;
    if (o.output_activation) out = o.activation.value(out);
    for (int i = 0; i < B; ++i) out.col(i) /= std::max(out.col(i).norm(), 1e-12);
    z[static_cast<std::size_t>(v)] = out;
  }
  double total = 0.0;
  for (int i = 0; i < B; ++i) {
    Eigen::VectorXd s(B);
    for (int j = 0; j < B; ++j) s(j) = j == i ? z[0].col(i).dot(z[1].col(i)) : z[0].col(i).dot(z[0].col(j));
    s /= lo.tau;
    if (lo.kind == TokenLoss::infonce) {
      total += std::log((s.array() - s.maxCoeff()).exp().sum()) + s.maxCoeff() - s(i);
    } else {
      total += (s.sum() - s(i)) / (B - 1) - s(i);
    }
  }
  return total / B;
}

struct NetCase {
  const char* name;
  const char* activation;
  bool batch_norm, grad_mean, grad_var, bias, output_activation;
  int embedding_dim;
  TokenLoss loss;
};

class TokenNetworkGradient : public ::testing::TestWithParam<NetCase> {};

// The loss equals the direct implementation, and its gradient equals central differences of
// the loss (BN variants whose switches make the backward pass the true derivative).
TEST_P(TokenNetworkGradient, LossMatchesDirectAndGradientMatchesCentralDifferences) {
  const NetCase c = GetParam();
  TokenPatternOptions d;
  d.num_tokens = 6;
  d.num_positions = 3;
  d.allowed_per_position = 3;
  d.num_patterns = 4;
  d.pattern_len = 2;
  d.aug_degree = 1;
  d.embedding_dim = c.embedding_dim;
  Rng srng(1, 1);
  const TokenPatterns tp(d, srng);
  TokenNetworkOptions o;
  o.num_positions = 3;
  o.hidden_per_position = 2;
  o.output_dim = 4;
  o.activation = Activation::parse(c.activation);
  o.batch_norm = c.batch_norm;
  o.bn_grad_mean = c.grad_mean;
  o.bn_grad_var = c.grad_var;
  o.bias = c.bias;
  o.output_activation = c.output_activation;
  Rng irng(2, 2), brng(3, 3);
  TokenNetwork<double> net(o, tp.embedding(), irng);
  const data::TokenBatch batch = tp.sample(6, brng);
  TokenLossOptions lo;
  lo.kind = c.loss;
  lo.tau = 0.5;

  TokenParameters<double> grad;
  const double value = net.loss(batch, lo, &grad);
  EXPECT_NEAR(value, direct_loss(o, net.parameters(), tp.embedding(), batch, lo), 1e-12);

  const double step = 1e-6;
  double max_err = 0.0, scale = 0.0;
  auto check_block = [&](Eigen::MatrixXd& param, const Eigen::MatrixXd& g) {
    for (Eigen::Index i = 0; i < param.size(); ++i) {
      const double keep = param(i);
      param(i) = keep + step;
      const double up = net.loss(batch, lo, nullptr);
      param(i) = keep - step;
      const double down = net.loss(batch, lo, nullptr);
      param(i) = keep;
      max_err = std::max(max_err, std::abs(g(i) - (up - down) / (2 * step)));
      scale = std::max(scale, std::abs(g(i)));
    }
  };
  check_block(net.parameters().W, grad.W);
  check_block(net.parameters().V, grad.V);
  if (c.bias) {
    Eigen::MatrixXd b = net.parameters().b;
    Eigen::MatrixXd gb = grad.b;
    for (Eigen::Index i = 0; i < b.size(); ++i) {
      const double keep = net.parameters().b(i);
      net.parameters().b(i) = keep + step;
      const double up = net.loss(batch, lo, nullptr);
      net.parameters().b(i) = keep - step;
      const double down = net.loss(batch, lo, nullptr);
      net.parameters().b(i) = keep;
      max_err = std::max(max_err, std::abs(gb(i) - (up - down) / (2 * step)));
    }
  }
  ASSERT_GT(scale, 1e-6) << "degenerate case: zero gradient";
  // Central differences in double with step 1e-6 are accurate to ~1e-9 relative; 1e-6 leaves
  // room for curvature near (but not across) ReLU kinks.
  EXPECT_LT(max_err / scale, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, TokenNetworkGradient,
    ::testing::Values(NetCase{"relu_nobn_infonce", "relu", false, true, true, false, false, 0, TokenLoss::infonce},
                      NetCase{"relu_bnfull_infonce", "relu", true, true, true, false, false, 0, TokenLoss::infonce},
                      NetCase{"linear_bnfull_infonce", "linear", true, true, true, false, false, 0, TokenLoss::infonce},
                      NetCase{"relu_bnfull_quadratic", "relu", true, true, true, false, false, 0, TokenLoss::quadratic},
                      NetCase{"leaky_bias_outact_embed", "leaky:0.2", false, true, true, true, true, 5, TokenLoss::infonce},
                      NetCase{"relu_bnfull_embed_bias", "relu", true, true, true, true, false, 7, TokenLoss::infonce}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TokenNetwork, FloatAgreesWithDouble) {
  const TokenPatterns tp = reference_patterns();
  TokenNetworkOptions o;
  Rng i1(2, 2), i2(2, 2), brng(3, 3);
  TokenNetwork<double> nd(o, tp.embedding(), i1);
  TokenNetwork<float> nf(o, tp.embedding(), i2);
  const data::TokenBatch batch = tp.sample(128, brng);
  TokenParameters<double> gd;
  TokenParameters<float> gf;
  const double ld = nd.loss(batch, {}, &gd);
  const double lf = nf.loss(batch, {}, &gf);
  // float carries ~7 digits; the loss is a mean of O(1) terms of sums over 128 entries.
  EXPECT_NEAR(lf, ld, 1e-4 * std::abs(ld));
  EXPECT_LT(test::relative_error(gf.V.cast<double>(), gd.V), 1e-3);
  EXPECT_LT(test::relative_error(gf.W.cast<double>(), gd.W), 1e-3);
}

// ---- training -------------------------------------------------------------------------------------

TokenRunOptions tiny_run() {
  TokenRunOptions o;
  o.data.num_tokens = 6;
  o.data.num_positions = 3;
  o.data.allowed_per_position = 3;
  o.data.num_patterns = 4;
  o.data.pattern_len = 2;
  o.data.aug_degree = 1;
  o.beta = 1.0;
  o.output_dim = 4;
  o.batch_size = 8;
  o.steps = 3;
  o.double_precision = true;
  return o;
}

// SGD in the order of §6: buf = g + wd·θ on the first step, then μ·buf + g + wd·θ; θ −= lr·buf.
TEST(TokenTraining, SgdFollowsTheReferenceUpdateOrder) {
  const TokenRunOptions o = tiny_run();
  Rng srng(o.seed, 1), irng(o.seed, 2), brng(o.seed, 3);
  const TokenPatterns tp(o.data, srng);
  TokenNetwork<double> net(o.network(), tp.embedding(), irng);
  TokenParameters<double> g;
  Eigen::MatrixXd bw, bv;
  for (int step = 0; step < o.steps; ++step) {
    net.loss(tp.sample(o.batch_size, brng), o.loss, &g);
    auto& p = net.parameters();
    const Eigen::MatrixXd dw = g.W + o.weight_decay * p.W, dv = g.V + o.weight_decay * p.V;
    bw = step == 0 ? dw : Eigen::MatrixXd(o.momentum * bw + dw);
    bv = step == 0 ? dv : Eigen::MatrixXd(o.momentum * bv + dv);
    p.W -= o.learning_rate * bw;
    p.V -= o.learning_rate * bv;
  }
  const TokenRunResult r = run_token_patterns(o);
  EXPECT_EQ(r.status, Status::success);
  EXPECT_EQ(r.steps_completed, o.steps);
  // Same arithmetic up to the association of the three-term sum (rounding only).
  EXPECT_LT(test::relative_error(r.effective_first_layer, net.parameters().W), 1e-12);
}

TEST(TokenTraining, DivergingLearningRateStopsAndKeepsFiniteWeights) {
  TokenRunOptions o = tiny_run();
  o.learning_rate = 1e300;
  o.steps = 50;
  const TokenRunResult r = run_token_patterns(o);
  EXPECT_EQ(r.status, Status::non_finite);
  EXPECT_LT(r.steps_completed, o.steps);
  EXPECT_TRUE(r.effective_first_layer.allFinite());
  EXPECT_TRUE(std::isfinite(r.locality.loc_all));
}

TEST(TokenTraining, SameOptionsGiveIdenticalRuns) {
  TokenRunOptions o = tiny_run();
  o.double_precision = false;
  o.steps = 20;
  const TokenRunResult a = run_token_patterns(o), b = run_token_patterns(o);
  EXPECT_EQ(a.final_loss, b.final_loss);
  EXPECT_TRUE(a.effective_first_layer == b.effective_first_layer);
  o.seed = 2;
  EXPECT_FALSE(run_token_patterns(o).effective_first_layer == a.effective_first_layer);
}

// ---- locality metric ------------------------------------------------------------------------------

TEST(TokenLocality, DetectorsScoreOneAndSpreadWeightsScoreLow) {
  // K = 2 positions, M = 2 units, T = 4 tokens. Position 0: unit 0 detects token 1 exactly;
  // position 1: both units spread evenly over all tokens.
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(4, 4);
  w(0, 1) = 2.0;
  w.row(2).setConstant(1.0);
  w.row(3).setConstant(1.0);
  const TokenLocality loc = token_locality(w, 2, {{1}, {0, 3}}, false);
  // score(t) = max_u w[u,t] / (‖w[u,:]‖ + max(max|w|/1000, 1e-6)).
  EXPECT_NEAR(*loc.loc[0], 2.0 / (2.0 + 2e-3), 1e-15);
  EXPECT_NEAR(*loc.loc_other[0], 0.0, 1e-15);
  EXPECT_NEAR(*loc.loc[1], 1.0 / (2.0 + 1e-3), 1e-15);
  EXPECT_NEAR(loc.loc_all, 0.5 * (*loc.loc[0] + *loc.loc[1]), 1e-15);
  ASSERT_EQ(loc.table.size(), 8u);
  EXPECT_TRUE(loc.table[1].in_pattern);
  EXPECT_EQ(loc.table[1].unit, 0);
  // Linear activation: negative detectors count by absolute value.
  w(0, 1) = -2.0;
  EXPECT_NEAR(*token_locality(w, 2, {{1}, {0, 3}}, true).loc[0], 2.0 / (2.0 + 2e-3), 1e-15);
  EXPECT_NEAR(*token_locality(w, 2, {{1}, {0, 3}}, false).loc[0], 0.0, 1e-15);
  // A position without pattern tokens is left out of loc_all, not counted as 0.
  const TokenLocality none = token_locality(w, 2, {{}, {0, 3}}, true);
  EXPECT_FALSE(none.loc[0].has_value());
  EXPECT_NEAR(none.loc_all, *none.loc[1], 1e-15);
}

}  // namespace
}  // namespace cldyn
