// Rng: reproducibility, stream independence, and the distributions it draws from.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "cldyn/core/rng.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

std::vector<std::uint64_t> draw(Rng rng, int count) {
  std::vector<std::uint64_t> out;
  for (int i = 0; i < count; ++i) out.push_back(rng.next_u64());
  return out;
}

TEST(Rng, SameSeedAndStreamGiveIdenticalSequences) {
  EXPECT_EQ(draw(Rng(42, 3), 1000), draw(Rng(42, 3), 1000));
  Rng a(7), b(7);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.uniform(), b.uniform());
    EXPECT_EQ(a.normal(), b.normal());
  }
  EXPECT_EQ(Rng(42, 3).seed(), 42u);
  EXPECT_EQ(Rng(42, 3).stream(), 3u);
}

TEST(Rng, DifferentStreamsAndSeedsDiffer) {
  const auto base = draw(Rng(42, 0), 64);
  const auto other_stream = draw(Rng(42, 1), 64);
  const auto other_seed = draw(Rng(43, 0), 64);
  // Distinct streams of xoshiro256** agree at a position with probability 2^-64: any equal
  // position means the streams are not independent.
  for (std::size_t i = 0; i < base.size(); ++i) {
    EXPECT_NE(base[i], other_stream[i]) << i;
    EXPECT_NE(base[i], other_seed[i]) << i;
  }
}

TEST(Rng, SubstreamDoesNotAdvanceParentAndIsDeterministic) {
  Rng parent(11, 2);
  parent.next_u64();
  const Rng copy = parent;
  const Rng s0 = parent.substream(0);
  const Rng s1 = parent.substream(1);
  // The parent continues exactly as an untouched copy.
  EXPECT_EQ(draw(parent, 100), draw(copy, 100));
  // The same index gives the same substream; different indices and the parent differ.
  EXPECT_EQ(draw(s0, 100), draw(parent.substream(0), 100));
  const auto a = draw(s0, 32), b = draw(s1, 32), p = draw(parent, 32);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_NE(a[i], b[i]) << i;
    EXPECT_NE(a[i], p[i]) << i;
  }
  EXPECT_EQ(s0.seed(), parent.seed());
}

TEST(Rng, UniformIsInUnitIntervalWithMeanOneHalf) {
  Rng rng(5);
  constexpr int kDraws = 100000;
  double sum = 0.0, lo = 1.0, hi = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double u = rng.uniform();
    sum += u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
  // Fixed seed; bound of 5 standard errors (SE = sqrt(1/12 / n)) of the sample mean.
  const double se = std::sqrt(1.0 / 12.0 / kDraws);
  EXPECT_NEAR(sum / kDraws, 0.5, 5.0 * se);
}

TEST(Rng, UniformIndexBoundsAndChiSquare) {
  Rng rng(9);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.uniform_index(1), 0u);
  // A range that is not a power of two and covers more than half of 2^64 exercises rejection.
  const std::uint64_t huge = (std::uint64_t{1} << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(rng.uniform_index(huge), huge);

  constexpr int kBins = 10;
  constexpr int kDraws = 100000;
  std::vector<int> counts(kBins, 0);
  for (int i = 0; i < kDraws; ++i) {
    const std::uint64_t v = rng.uniform_index(kBins);
    ASSERT_LT(v, static_cast<std::uint64_t>(kBins));
    ++counts[v];
  }
  const double expected = static_cast<double>(kDraws) / kBins;
  double chi2 = 0.0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // Fixed seed. 33.72 is the 0.9999 quantile of chi-square with 9 degrees of freedom: a
  // correct generator exceeds it with probability 1e-4.
  EXPECT_LT(chi2, 33.72);
}

TEST(Rng, UniformIndexRejectsZero) {
  Rng rng(1);
  EXPECT_THAT(test::invalid_argument_message([&] { rng.uniform_index(0); }), HasSubstr("n = 0"));
}

TEST(Rng, NormalMeanAndVariance) {
  Rng rng(123);
  constexpr int kDraws = 200000;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double z = rng.normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum_sq += z * z;
  }
  const double mean = sum / kDraws;
  const double var = (sum_sq - kDraws * mean * mean) / (kDraws - 1);
  // Fixed seed; 5 standard errors: SE(mean) = 1/sqrt(n), SE(variance) = sqrt(2/(n−1)) for N(0,1).
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(static_cast<double>(kDraws)));
  EXPECT_NEAR(var, 1.0, 5.0 * std::sqrt(2.0 / (kDraws - 1)));
}

TEST(Rng, NormalMatrixFillsColumnByColumnFromTheStream) {
  Rng a(17), b(17);
  const Eigen::MatrixXd m = a.normal_matrix(3, 4);
  ASSERT_EQ(m.rows(), 3);
  ASSERT_EQ(m.cols(), 4);
  for (Eigen::Index j = 0; j < 4; ++j)
    for (Eigen::Index i = 0; i < 3; ++i) EXPECT_EQ(m(i, j), b.normal());
  EXPECT_THAT(test::invalid_argument_message([&] { a.normal_matrix(-1, 2); }),
              HasSubstr("rows x cols"));
}

}  // namespace
}  // namespace cldyn
