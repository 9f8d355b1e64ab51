// Distinct directions, optimal assignment and predicted-vs-trained matching.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "cldyn/analysis/matching.hpp"
#include "cldyn/core/rng.hpp"
#include "support/problems.hpp"

namespace cldyn::analysis {
namespace {

using ::testing::HasSubstr;

/// Exhaustive maximum over all injective row → column maps (rows ≤ cols), the test oracle.
double brute_force_best(const Eigen::MatrixXd& score) {
  std::vector<Eigen::Index> cols(static_cast<std::size_t>(score.cols()));
  std::iota(cols.begin(), cols.end(), 0);
  double best = -1e300;
  do {
    double total = 0;
    for (Eigen::Index i = 0; i < score.rows(); ++i) total += score(i, cols[static_cast<std::size_t>(i)]);
    best = std::max(best, total);
  } while (std::next_permutation(cols.begin(), cols.end()));
  return best;
}

TEST(OptimalAssignment, MatchesExhaustiveSearchOnRandomMatrices) {
  Rng rng(5);
  for (int trial = 0; trial < 20; ++trial) {
    const Eigen::Index rows = 1 + static_cast<Eigen::Index>(rng.uniform_index(5));
    const Eigen::Index cols = rows + static_cast<Eigen::Index>(rng.uniform_index(3));
    const Eigen::MatrixXd score = rng.normal_matrix(rows, cols);
    const std::vector<Eigen::Index> a = optimal_assignment(score);
    double total = 0;
    std::vector<bool> used(static_cast<std::size_t>(cols), false);
    for (Eigen::Index i = 0; i < rows; ++i) {
      const Eigen::Index j = a[static_cast<std::size_t>(i)];
      ASSERT_GE(j, 0);
      ASSERT_FALSE(used[static_cast<std::size_t>(j)]);  // one-to-one
      used[static_cast<std::size_t>(j)] = true;
      total += score(i, j);
    }
    // Same sum of the same numbers up to ordering: rounding only.
    EXPECT_NEAR(total, brute_force_best(score), 1e-12);
    // More rows than columns: every column used once, the rest unassigned.
    const std::vector<Eigen::Index> t = optimal_assignment(score.transpose());
    EXPECT_EQ(std::count(t.begin(), t.end(), -1), cols - rows);
  }
}

TEST(MatchDirections, NearestAssignmentAndUnmatchedLists) {
  Eigen::MatrixXd predicted = Eigen::MatrixXd::Identity(3, 3);  // e1, e2, e3
  Eigen::MatrixXd trained(3, 4);
  trained.col(0) << 1, 0.01, 0;   // ≈ e1
  trained.col(1) << 0.99, 0, 0.1;  // ≈ e1 as well
  trained.col(2) << 0, -1, 0;     // −e2: matches only when sign-symmetric
  trained.col(3) << 1, 1, 1;      // between all: cos 0.577
  const DirectionMatching signed_match = match_directions(predicted, trained, 0.98, false);
  EXPECT_EQ(signed_match.nearest, (std::vector<Eigen::Index>{0, 0, -1, -1}));
  EXPECT_EQ(signed_match.unmatched_trained, (std::vector<Eigen::Index>{2, 3}));
  // One-to-one: only one of the two e1-like nodes gets e1 (the closer one, node 0).
  EXPECT_EQ(signed_match.assignment[0], 0);
  EXPECT_EQ(signed_match.assignment[1], -1);
  EXPECT_EQ(signed_match.unmatched_predicted, (std::vector<Eigen::Index>{1, 2}));
  const DirectionMatching sym = match_directions(predicted, trained, 0.98, true);
  EXPECT_EQ(sym.nearest[2], 1);
  EXPECT_EQ(sym.assignment[2], 1);
}

TEST(DistinctDirections, ClustersBySignedOrAbsoluteCosine) {
  Eigen::MatrixXd w(2, 4);
  w << 1, -2, 0, 1,
       0, 0, 1, 0.001;
  const DirectionClusters sym = distinct_directions(w, 0.99, true);  // w and −2w: one direction
  EXPECT_EQ(sym.size(), 2);
  EXPECT_EQ(sym.assignment, (std::vector<Eigen::Index>{0, 0, 1, 0}));
  EXPECT_EQ(sym.counts, (std::vector<Eigen::Index>{3, 1}));
  const DirectionClusters sgn = distinct_directions(w, 0.99, false);  // ReLU: −w differs
  EXPECT_EQ(sgn.size(), 3);
  EXPECT_THAT(test::invalid_argument_message([&] { distinct_directions(w, 0.0); }), HasSubstr("threshold"));
}

TEST(MatchDirections, BadInputThrowsNamingIt) {
  EXPECT_THAT(test::invalid_argument_message([] {
                match_directions(Eigen::MatrixXd::Identity(3, 2), Eigen::MatrixXd::Identity(4, 2), 0.9, true);
              }),
              HasSubstr("rows of predicted"));
  EXPECT_THAT(test::invalid_argument_message([] {
                match_directions(Eigen::MatrixXd::Zero(3, 1), Eigen::MatrixXd::Identity(3, 2), 0.9, true);
              }),
              HasSubstr("norm of column 0 of predicted"));
  EXPECT_THAT(test::invalid_argument_message([] {
                match_directions(Eigen::MatrixXd::Identity(3, 1), Eigen::MatrixXd::Identity(3, 2), 2.0, true);
              }),
              HasSubstr("threshold"));
}

}  // namespace
}  // namespace cldyn::analysis
