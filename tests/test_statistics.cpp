// analysis::clopper_pearson (analysis/cldyn/analysis/statistics.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "cldyn/analysis/statistics.hpp"

namespace cldyn::analysis {
namespace {

TEST(ClopperPearson, MatchesTheClosedFormsAtTheEnds) {
  // k = 0: [0, 1 − (α/2)^{1/n}]; k = n: [(α/2)^{1/n}, 1] (the binomial CDF is a single power there).
  for (long n : {1L, 10L, 64L}) {
    const BinomialInterval zero = clopper_pearson(0, n, 0.95);
    EXPECT_EQ(zero.low, 0.0);
    // Boost's root finding is accurate to a few ulps of the bound.
    EXPECT_NEAR(zero.high, 1.0 - std::pow(0.025, 1.0 / static_cast<double>(n)), 1e-12) << n;
    const BinomialInterval all = clopper_pearson(n, n, 0.95);
    EXPECT_NEAR(all.low, std::pow(0.025, 1.0 / static_cast<double>(n)), 1e-12) << n;
    EXPECT_EQ(all.high, 1.0);
  }
}

TEST(ClopperPearson, ContainsTheFractionAndNarrowsWithN) {
  const BinomialInterval small = clopper_pearson(3, 10, 0.95), large = clopper_pearson(300, 1000, 0.95);
  EXPECT_LT(small.low, 0.3);
  EXPECT_GT(small.high, 0.3);
  EXPECT_LT(large.low, 0.3);
  EXPECT_GT(large.high, 0.3);
  EXPECT_LT(large.high - large.low, small.high - small.low);
  // A higher confidence gives a wider interval.
  const BinomialInterval wide = clopper_pearson(3, 10, 0.99);
  EXPECT_LT(wide.low, small.low);
  EXPECT_GT(wide.high, small.high);
}

TEST(ClopperPearson, BadArgumentsThrowNamingThem) {
  EXPECT_THROW(clopper_pearson(0, 0, 0.95), std::invalid_argument);
  EXPECT_THROW(clopper_pearson(5, 4, 0.95), std::invalid_argument);
  EXPECT_THROW(clopper_pearson(-1, 4, 0.95), std::invalid_argument);
  EXPECT_THROW(clopper_pearson(1, 4, 1.0), std::invalid_argument);
}

}  // namespace
}  // namespace cldyn::analysis
