// The latent data model of theory §4: patterns, exact support, sampling, validation.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "cldyn/core/rng.hpp"
#include "cldyn/data/latent_model.hpp"
#include "support/population_support.hpp"

namespace cldyn {
namespace {

using data::LatentMode;
using data::LatentModel;
using data::LatentModelOptions;

// QR of a well-conditioned Gaussian matrix gives columns orthonormal to a few ulps·√d; 1e-12
// is far above that and far below anything a wrong construction would give.
constexpr double kOrthonormalTolerance = 1e-12;
// Sums of L (or 2^L) products of probabilities: exact to ~2^L·ε ≈ 1e-14 for L ≤ 6.
constexpr double kProbabilitySumTolerance = 1e-13;
// Statistical bound for every comparison of a frequency or a mean with its exact value: 5
// standard errors (two-sided normal tail 5.7e-7 per comparison; a few hundred comparisons in
// this file keep the family-wise false-alarm rate below 1e-3 for any seed).
constexpr double kStandardErrors = 5.0;

LatentModelOptions reference_options(LatentMode mode) {
  LatentModelOptions o;
  o.d = 20;
  o.L = 5;
  o.sigma = 0.2;
  o.mode = mode;
  o.probabilities = mode == LatentMode::mixture
                        ? data::normalise_probabilities({0.2, 0.3, 0.4, 0.5, 0.6})
                        : std::vector<double>{0.2, 0.3, 0.4, 0.5, 0.6};
  o.amplitudes = {1.0, 1.5, 0.5, 2.0, 1.0};
  return o;
}

TEST(LatentModel, RandomPatternsAreOrthonormalAndSeeded) {
  for (const auto& [d, l] : std::vector<std::pair<Eigen::Index, Eigen::Index>>{{20, 5}, {7, 7}, {3, 1}}) {
    LatentModelOptions o;
    o.d = d;
    o.L = l;
    const LatentModel model(o, std::uint64_t{11});
    ASSERT_EQ(model.patterns().rows(), d);
    ASSERT_EQ(model.patterns().cols(), l);
    const Eigen::MatrixXd gram = model.patterns().transpose() * model.patterns();
    EXPECT_LE((gram - Eigen::MatrixXd::Identity(l, l)).cwiseAbs().maxCoeff(), kOrthonormalTolerance)
        << "d = " << d << ", L = " << l;
  }
  LatentModelOptions o;
  Rng rng(11);
  const LatentModel from_rng(o, rng), from_seed(o, std::uint64_t{11}), other(o, std::uint64_t{12});
  EXPECT_EQ(from_rng.patterns(), from_seed.patterns());  // same seed: bit-identical
  EXPECT_GT((other.patterns() - from_seed.patterns()).norm(), 0.1);
  // Defaults resolved: p_l = 1/L, a_l = 1.
  ASSERT_EQ(from_seed.options().probabilities.size(), 5U);
  EXPECT_DOUBLE_EQ(from_seed.options().probabilities[3], 0.2);
  EXPECT_DOUBLE_EQ(from_seed.options().amplitudes[4], 1.0);
}

TEST(LatentModel, UserPatternsAreKept) {
  LatentModelOptions o;
  o.d = 3;
  o.L = 4;  // overcomplete user patterns are allowed
  o.mode = LatentMode::summation;
  Eigen::MatrixXd p(3, 4);
  p << 1, 0, 0, 1,  //
      0, 1, 0, 1,   //
      0, 0, 1, 1;
  const LatentModel model(o, p);
  EXPECT_EQ(model.patterns(), p);
  EXPECT_EQ(model.support_size(), 16U);
  // Support point 0b1011 = u_0 + u_1 + u_3 (amplitudes 1), probability 1/4^3·3/4.
  const auto support = model.support();
  EXPECT_EQ(support[0b1011].x0, Eigen::Vector3d(2, 2, 1));
  EXPECT_DOUBLE_EQ(support[0b1011].probability, 0.25 * 0.25 * 0.75 * 0.25);
}

TEST(LatentModel, SupportIsExactAndSumsToOne) {
  for (const LatentMode mode : {LatentMode::mixture, LatentMode::summation}) {
    const LatentModelOptions o = reference_options(mode);
    const LatentModel model(o, std::uint64_t{3});
    const auto support = model.support();
    const std::size_t expected = mode == LatentMode::mixture ? 5U : 32U;
    ASSERT_EQ(support.size(), expected);
    ASSERT_EQ(model.support_size(), expected);
    double total = 0.0;
    for (const auto& point : support) {
      EXPECT_EQ(point.x0.size(), 20);
      EXPECT_GE(point.probability, 0.0);
      total += point.probability;
    }
    EXPECT_NEAR(total, 1.0, kProbabilitySumTolerance) << data::to_string(mode);
    if (mode == LatentMode::mixture) {
      for (Eigen::Index l = 0; l < 5; ++l) {
        const auto ul = static_cast<std::size_t>(l);
        EXPECT_EQ(support[ul].x0, o.amplitudes[ul] * model.patterns().col(l));
        EXPECT_EQ(support[ul].probability, o.probabilities[ul]);
      }
    } else {
      // The all-zero latent is point 0 with probability Π(1 − p_l); the all-one latent is last.
      EXPECT_EQ(support[0].x0, Eigen::VectorXd::Zero(20));
      EXPECT_NEAR(support[0].probability, 0.8 * 0.7 * 0.6 * 0.5 * 0.4, 1e-16);
      Eigen::VectorXd all = Eigen::VectorXd::Zero(20);
      for (Eigen::Index l = 0; l < 5; ++l) all += o.amplitudes[static_cast<std::size_t>(l)] * model.patterns().col(l);
      EXPECT_LE((support[31].x0 - all).norm(), 1e-14);  // a sum of 5 unit-scale vectors
      EXPECT_NEAR(support[31].probability, 0.2 * 0.3 * 0.4 * 0.5 * 0.6, 1e-16);
    }
  }
}

TEST(LatentModel, SampleFrequenciesAndNoiseMatchTheModel) {
  for (const LatentMode mode : {LatentMode::mixture, LatentMode::summation}) {
    const LatentModelOptions o = reference_options(mode);
    const LatentModel model(o, std::uint64_t{5});
    const auto support = model.support();
    const Eigen::Index n = 100000;
    Rng rng(6);
    const data::LatentSample s = model.sample_with_latents(n, rng);
    ASSERT_EQ(s.batch.x.rows(), n);
    ASSERT_EQ(s.batch.x.cols(), 20);
    ASSERT_EQ(s.support_index.size(), static_cast<std::size_t>(n));

    // Frequencies of the support points: binomial, standard error sqrt(p(1 − p)/n).
    std::vector<double> count(support.size(), 0.0);
    double max_x0_error = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) {
      const std::size_t k = s.support_index[static_cast<std::size_t>(i)];
      ASSERT_LT(k, support.size());
      count[k] += 1.0;
      max_x0_error = std::max(max_x0_error, (s.x0.row(i).transpose() - support[k].x0).norm());
      // z agrees with the support index.
      for (Eigen::Index l = 0; l < 5; ++l) {
        const int bit = mode == LatentMode::mixture ? static_cast<int>(k == static_cast<std::size_t>(l))
                                                    : static_cast<int>((k >> l) & 1U);
        ASSERT_EQ(s.z(i, l), bit);
      }
    }
    // x0 is formed by a GEMM (z·(P diag(a))ᵀ), the support by a loop: equal to rounding.
    EXPECT_LE(max_x0_error, 1e-14);
    for (std::size_t k = 0; k < support.size(); ++k) {
      const double p = support[k].probability;
      const double se = std::sqrt(p * (1.0 - p) / static_cast<double>(n));
      EXPECT_LE(std::abs(count[k] / static_cast<double>(n) - p), kStandardErrors * se)
          << data::to_string(mode) << " support point " << k;
    }

    // Noise x − x0 and x' − x0: mean 0, variance σ² per entry (n·d i.i.d. N(0, σ²) entries).
    for (const Eigen::MatrixXd* view : {&s.batch.x, &s.batch.x_prime}) {
      const Eigen::ArrayXXd noise = (*view - s.x0).array();
      const double entries = static_cast<double>(noise.size());
      const double mean = noise.mean();
      const double var = noise.square().mean();
      EXPECT_LE(std::abs(mean), kStandardErrors * o.sigma / std::sqrt(entries));
      // Var of a squared N(0, σ²) is 2σ⁴.
      EXPECT_LE(std::abs(var - o.sigma * o.sigma),
                kStandardErrors * std::sqrt(2.0) * o.sigma * o.sigma / std::sqrt(entries));
    }
    // The two views' noises are independent: their correlation is within 5/√(n·d) of 0.
    const Eigen::ArrayXXd e1 = (s.batch.x - s.x0).array(), e2 = (s.batch.x_prime - s.x0).array();
    const double corr = (e1 * e2).mean() / (o.sigma * o.sigma);
    EXPECT_LE(std::abs(corr), kStandardErrors / std::sqrt(static_cast<double>(e1.size())));
  }
}

TEST(LatentModel, SampleIsDeterministicAndMatchesSampleWithLatents) {
  const LatentModel model(reference_options(LatentMode::mixture), std::uint64_t{1});
  Rng a(9), b(9);
  const TwoViewBatch x = model.sample(64, a);
  const data::LatentSample y = model.sample_with_latents(64, b);
  EXPECT_EQ(x.x, y.batch.x);
  EXPECT_EQ(x.x_prime, y.batch.x_prime);
}

TEST(LatentModel, SummationWithMoreThanTwentyPatternsHasNoEnumeratedSupport) {
  LatentModelOptions o;
  o.d = 25;
  o.L = 21;
  o.mode = LatentMode::summation;
  const LatentModel model(o, std::uint64_t{2});
  test::expect_invalid_argument([&] { (void)model.support(); }, {"L = 21", "20", "2^L"});
  test::expect_invalid_argument([&] { (void)model.support_size(); }, {"L = 21", "20", "2^L"});
  // Sampling does not need the support.
  Rng rng(3);
  const data::LatentSample s = model.sample_with_latents(10, rng);
  EXPECT_EQ(s.z.cols(), 21);
  EXPECT_TRUE(s.support_index.empty());
  // L = 20 is the largest enumerable summation support; the mixture is never limited.
  o.L = 20;
  EXPECT_EQ(LatentModel(o, std::uint64_t{2}).support_size(), std::size_t{1} << 20);
  o.L = 25;
  o.mode = LatentMode::mixture;
  EXPECT_EQ(LatentModel(o, std::uint64_t{2}).support().size(), 25U);
}

TEST(LatentModel, BadOptionsThrowNamingTheParameter) {
  const auto build = [](LatentModelOptions o) { return [o] { LatentModel m(o, std::uint64_t{1}); }; };
  LatentModelOptions o;
  o.d = 0;
  test::expect_invalid_argument(build(o), {"d = 0", "d >= 1"});
  o = {};
  o.L = 0;
  test::expect_invalid_argument(build(o), {"L = 0", "L >= 1"});
  o = {};
  o.d = 3;
  o.L = 4;
  test::expect_invalid_argument(build(o), {"L = 4", "L <= d = 3"});
  o = {};
  o.probabilities = {0.5, 0.5};
  test::expect_invalid_argument(build(o), {"size of probabilities = 2", "L = 5"});
  o.mode = LatentMode::summation;
  o.probabilities = {0.5, 0.5, 1.5, 0.1, 0.1};
  test::expect_invalid_argument(build(o), {"probabilities[2] = 1.5", "0 <= p_l <= 1"});
  o.probabilities = {0.5, 0.5, NAN, 0.1, 0.1};
  test::expect_invalid_argument(build(o), {"probabilities[2]"});
  o.mode = LatentMode::mixture;
  o.probabilities = {0.2, 0.3, 0.4, 0.5, 0.6};  // not normalised
  test::expect_invalid_argument(build(o), {"sum of probabilities = 2", "normalise_probabilities"});
  o = {};
  o.sigma = 0.0;
  test::expect_invalid_argument(build(o), {"sigma = 0", "sigma > 0"});
  o.sigma = INFINITY;
  test::expect_invalid_argument(build(o), {"sigma = inf"});
  o = {};
  o.amplitudes = {1.0};
  test::expect_invalid_argument(build(o), {"size of amplitudes = 1"});
  o.amplitudes = {1.0, 1.0, 1.0, 1.0, NAN};
  test::expect_invalid_argument(build(o), {"amplitudes[4]", "finite"});

  o = {};
  o.d = 3;
  o.L = 2;
  test::expect_invalid_argument([&] { LatentModel m(o, Eigen::MatrixXd::Ones(3, 3)); },
                                {"patterns", "3x3", "3x2"});
  Eigen::MatrixXd bad = Eigen::MatrixXd::Ones(3, 2);
  bad(1, 1) = NAN;
  test::expect_invalid_argument([&] { LatentModel m(o, bad); }, {"patterns(1,1)", "finite"});

  const LatentModel model(o, std::uint64_t{1});
  Rng rng(1);
  test::expect_invalid_argument([&] { (void)model.sample(0, rng); }, {"n = 0", "n >= 1"});
}

TEST(LatentModel, NormaliseProbabilities) {
  const std::vector<double> p = data::normalise_probabilities({0.2, 0.3, 0.4, 0.5, 0.6});
  EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, kProbabilitySumTolerance);
  EXPECT_DOUBLE_EQ(p[4], 0.6 / 2.0);
  test::expect_invalid_argument([] { (void)data::normalise_probabilities({}); }, {"size of weights"});
  test::expect_invalid_argument([] { (void)data::normalise_probabilities({1.0, -1.0}); },
                                {"weights[1] = -1"});
  test::expect_invalid_argument([] { (void)data::normalise_probabilities({0.0, 0.0}); },
                                {"sum of weights = 0"});
}

}  // namespace
}  // namespace cldyn
