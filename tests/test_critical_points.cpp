// Critical points predicted without training, basins and the predicted coverage curve
// (analysis/cldyn/analysis/critical_points.hpp; issue 14, Claim 5 independent of training).
#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>
#include <cmath>
#include <stdexcept>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/analysis/critical_points.hpp"
#include "support/landscapes.hpp"

namespace cldyn::analysis {
namespace {

data::LatentModel mixture_model() { return test::reference_mixture(); }

PredictionOptions prediction_options() {
  PredictionOptions o;
  o.random_directions = 8;
  o.seed = 7;
  return o;
}

TEST(PredictCriticalPoints, ReluFindsOneStablePointPerPatternAndTheSaddlesBetweenThem) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::relu());
  const PredictionOptions o = prediction_options();
  const CriticalPointPrediction p = predict_critical_points(land, model.patterns(), o);
  // 5 patterns + 10 pairs + 10 triples + 8 random directions.
  ASSERT_EQ(p.seeds.cols(), 33);
  EXPECT_EQ(p.seed_kinds.front(), SeedKind::pattern);
  EXPECT_EQ(p.seed_kinds.back(), SeedKind::random);
  std::vector<int> stable_per_pattern(5, 0);
  Eigen::Index index_one = 0;
  for (const PredictedPoint& pt : p.points) {
    // Certified: the relative tangent residual, recomputed here, is below the tolerance. Where
    // ∇E = 0 (measured: a few random directions reach a flat region of E = 0, every atom that
    // reaches the node orthogonal to it) the point is degenerate, never stable or a saddle.
    const Eigen::VectorXd g = land.gradient(pt.point.w);
    if (g.norm() == 0.0) {
      EXPECT_EQ(pt.stability.verdict, Verdict::degenerate);
      EXPECT_EQ(pt.point.energy, 0.0);
      continue;
    }
    const Eigen::VectorXd tangent = g - pt.point.w.dot(g) * pt.point.w;
    EXPECT_LE(tangent.norm() / g.norm(), o.certified.tolerance);
    EXPECT_EQ(pt.index == 0 && pt.stability.verdict != Verdict::degenerate,
              pt.stability.verdict == Verdict::stable);
    if (pt.stability.verdict == Verdict::stable) {
      Eigen::Index best = 0;
      const double c = (model.patterns().transpose() * pt.point.w).maxCoeff(&best);
      EXPECT_GE(c, 0.98);
      ++stable_per_pattern[static_cast<std::size_t>(best)];
    }
    if (pt.stability.verdict == Verdict::saddle) {
      EXPECT_GE(pt.index, 1);
      index_one += pt.index == 1 ? 1 : 0;
    }
  }
  for (int n : stable_per_pattern) EXPECT_EQ(n, 1);
  EXPECT_EQ(p.stable, 5);
  // The pair midpoints lead Newton to the index-1 saddles between two patterns' basins.
  EXPECT_EQ(index_one, 10);
  // The same seed gives the same prediction.
  const CriticalPointPrediction again = predict_critical_points(land, model.patterns(), o);
  ASSERT_EQ(again.points.size(), p.points.size());
  for (std::size_t i = 0; i < p.points.size(); ++i) EXPECT_EQ(again.points[i].point.w, p.points[i].point.w);
}

TEST(PredictCriticalPoints, LinearPointsAreEigenvectorsWithTheirMorseIndex) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::linear());
  const CriticalPointPrediction p = predict_critical_points(land, model.patterns(), prediction_options());
  const Eigen::MatrixXd a = land.gated_covariance(Eigen::VectorXd::Ones(model.dim()));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(a);
  const Eigen::VectorXd ev = eig.eigenvalues();  // ascending
  Eigen::Index stable = 0, saddles = 0;
  for (const PredictedPoint& pt : p.points) {
    const double lambda = pt.point.w.dot(a * pt.point.w);
    EXPECT_LE((a * pt.point.w - lambda * pt.point.w).norm(), 1e-7 * ev.maxCoeff());
    if (pt.stability.verdict == Verdict::degenerate) continue;  // the repeated noise eigenvalue σ²
    // Morse index = eigenvalues of A above λ (E = ½wᵀAw on the sphere).
    const Eigen::Index above = (ev.array() > lambda + 1e-9 * ev.maxCoeff()).count();
    EXPECT_EQ(pt.index, above);
    if (pt.stability.verdict == Verdict::stable) {
      ++stable;
      EXPECT_NEAR(std::abs(pt.point.w.dot(eig.eigenvectors().col(model.dim() - 1))), 1.0, 1e-9);
    }
    saddles += pt.stability.verdict == Verdict::saddle ? 1 : 0;
  }
  EXPECT_EQ(stable, 1);
  EXPECT_EQ(saddles, 3);  // V[x0] has rank L − 1 = 4 in the pattern span: 4 simple eigenvalues above σ²
}

TEST(PredictCriticalPoints, RefusesPatternsOfTheWrongDimension) {
  const PopulationLandscape land(DiscretePopulation::from_model(mixture_model()), Activation::relu());
  EXPECT_THROW(predict_critical_points(land, Eigen::MatrixXd::Identity(3, 2), prediction_options()),
               std::invalid_argument);
  EXPECT_THROW(predict_critical_points(land, Eigen::MatrixXd(20, 0), prediction_options()), std::invalid_argument);
}

TEST(PredictBasins, FractionsAddUpAndTheIntervalsHoldThem) {
  const data::LatentModel model = mixture_model();
  const PopulationLandscape land(DiscretePopulation::from_model(model), Activation::relu());
  BasinOptions o;
  o.starts = 60;
  o.seed = 3;
  const BasinPrediction b = predict_basins(land, model.patterns(), o);
  EXPECT_EQ(b.starts, 60);
  EXPECT_EQ(b.converged + b.unconverged, b.starts);
  Eigen::Index total = b.other + b.unconverged;
  for (std::size_t l = 0; l < b.counts.size(); ++l) {
    total += b.counts[l];
    EXPECT_LE(b.low[l], b.fraction[l]);
    EXPECT_GE(b.high[l], b.fraction[l]);
    const BinomialInterval cp = clopper_pearson(b.counts[l], b.starts, 1.0 - 0.05 / 5.0);
    EXPECT_DOUBLE_EQ(b.low[l], cp.low);  // Bonferroni over the 5 patterns
  }
  EXPECT_EQ(total, b.starts);
  EXPECT_DOUBLE_EQ(b.pattern_confidence, 0.99);
  // The most probable pattern (p = 0.3, u4) has the largest basin, the least probable the smallest.
  EXPECT_GT(b.counts[4], b.counts[0]);
}

BasinPrediction two_halves(Eigen::Index starts) {
  BasinPrediction b;
  b.starts = b.converged = starts;
  b.counts = {starts / 2, starts / 2};
  b.fraction = {0.5, 0.5};
  b.low = {0.5, 0.5};
  b.high = {0.5, 0.5};
  return b;
}

TEST(PredictedCoverage, MatchesTheExactDistributionOfTwoEqualBasins) {
  // Two nodes, two basins of 1/2: R = 1 or 2 with probability 1/2 each.
  const CoveragePrediction c = predicted_coverage(two_halves(100), 2);
  EXPECT_DOUBLE_EQ(c.mean, 1.5);
  EXPECT_NEAR(c.sd, 0.5, 1e-15);
  // One node always recovers exactly one pattern when the basins cover the sphere.
  const CoveragePrediction one = predicted_coverage(two_halves(100), 1);
  EXPECT_DOUBLE_EQ(one.mean, 1.0);
  EXPECT_NEAR(one.sd, 0.0, 1e-15);
  EXPECT_THROW(predicted_coverage(two_halves(100), -1), std::invalid_argument);
}

TEST(SimulateCoverageMeans, BandsHoldTheExactMeanAndNarrowWithRuns) {
  const BasinPrediction b = two_halves(4000);
  const std::vector<CoverageBand> one_run = simulate_coverage_means(b, {1, 2}, 1, 0.95, 400, 5);
  ASSERT_EQ(one_run.size(), 2u);
  EXPECT_DOUBLE_EQ(one_run[0].low, 1.0);  // K = 1: always one pattern
  EXPECT_DOUBLE_EQ(one_run[0].high, 1.0);
  EXPECT_DOUBLE_EQ(one_run[1].low, 1.0);  // K = 2, one run: 1 or 2
  EXPECT_DOUBLE_EQ(one_run[1].high, 2.0);
  // 400 runs: the mean is 1.5 ± 1.96·0.5/20 ≈ ± 0.05, plus the basins' resampling (± 0.016).
  const std::vector<CoverageBand> many = simulate_coverage_means(b, {2}, 400, 0.95, 400, 5);
  EXPECT_LT(many[0].low, 1.5);
  EXPECT_GT(many[0].high, 1.5);
  EXPECT_GT(many[0].low, 1.42);
  EXPECT_LT(many[0].high, 1.58);
  const std::vector<CoverageBand> again = simulate_coverage_means(b, {2}, 400, 0.95, 400, 5);
  EXPECT_EQ(again[0].low, many[0].low);
  EXPECT_EQ(again[0].high, many[0].high);
  EXPECT_THROW(simulate_coverage_means(b, {2}, 0, 0.95, 400, 5), std::invalid_argument);
}

}  // namespace
}  // namespace cldyn::analysis
