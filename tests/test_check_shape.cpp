// The pieces of the one check shape (experiments/common/shape.hpp, claim.hpp): typed bounds decide
// verdicts and write tolerances, evidence that is missing fails a claim, OptionSet names each
// parameter once, parallel_runs is deterministic and rethrows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/claim.hpp"
#include "common/shape.hpp"

namespace cldyn::experiments {
namespace {

using ::testing::HasSubstr;

TEST(Bound, DecidesAndWritesItsTolerance) {
  EXPECT_TRUE(Bound::at_most(1e-10).accepts(1e-10));
  EXPECT_FALSE(Bound::at_most(1e-10).accepts(1.0000001e-10));
  EXPECT_FALSE(Bound::at_most(1e-10).accepts(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(Bound::at_most(1e-10).text(), "<= 1e-10");
  EXPECT_EQ(Bound::at_most(1e-6).text(), "<= 1e-6");  // not 1e-06
  EXPECT_EQ(Bound::at_most(1e-6).shown_bare().text(), "1e-6");
  EXPECT_EQ(limit_text(2.5e12), "2.5e+12");
  EXPECT_EQ(limit_text(1e20), "1e+20");
  EXPECT_TRUE(Bound::at_least(0.95).accepts(0.95));
  EXPECT_FALSE(Bound::at_least(0.95).accepts(0.9499));
  EXPECT_FALSE(Bound::at_least(0.95).accepts(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_EQ(Bound::at_least(0.95).text(), ">= 0.95");
  EXPECT_TRUE(Bound::equal_to(3).accepts(3));
  EXPECT_FALSE(Bound::equal_to(3).accepts(2));
  EXPECT_EQ(Bound::equal_to(3).text(), "exact");
  EXPECT_EQ(Bound::all_of(4).text(), "all");
  EXPECT_FALSE(Bound::all_of(4).accepts(3));
  EXPECT_TRUE(Bound::criterion(true, "strict ordering").accepts(0));
  EXPECT_FALSE(Bound::criterion(false, "strict ordering").accepts(1));
  // shown_as changes the text, never the verdict.
  Bound b = Bound::at_least(0.95);
  b.shown_as("cos >= 0.95");
  EXPECT_EQ(b.text(), "cos >= 0.95");
  EXPECT_FALSE(b.accepts(0.5));
}

TEST(Claim, OfTakesVerdictAndToleranceFromTheBound) {
  const Claim c = Claim::of("S-fd", "Hessian = central differences", "0", "3.0e-07", 3e-7, Bound::at_most(1e-6));
  EXPECT_TRUE(c.pass);
  EXPECT_EQ(c.tolerance, "<= 1e-6");
  EXPECT_EQ(c.measured, "3.0e-07");
  EXPECT_FALSE(Claim::of("x", "", "", "", 2e-6, Bound::at_most(1e-6)).pass);
}

TEST(Claim, MissingEvidenceFailsWhateverTheValue) {
  // Zero configurations checked: the worst error 0 is within the bound, but nothing was measured.
  Claim c = Claim::of("A", "identity", "0", "0", 0.0, Bound::at_most(1e-10));
  EXPECT_TRUE(c.pass);
  c.needs(false);
  EXPECT_FALSE(c.pass);
  EXPECT_FALSE(Claim::of("A", "", "", "", 1.0, Bound::at_most(0.5)).needs(true).pass);
}

struct TinyOptions {
  int starts = 60;
  double cos_threshold = 0.95;
  double step = 0.5;
  void describe(OptionSet& o) {
    o.add("--starts", starts, "Random starts")->check(CLI::Range(1, 1000));
    o.add("--cos-threshold", cos_threshold, "Cosine")->check(CLI::Range(0.0, 1.0));
    o.record("fixed_point/step", step);
  }
};

TEST(OptionSet, ParamsComeFromTheRegistrationWithCurrentValues) {
  TinyOptions t;
  OptionSet set;
  t.describe(set);
  nlohmann::json p = set.params();
  EXPECT_EQ(p["starts"], 60);
  EXPECT_EQ(p["cos_threshold"], 0.95);
  EXPECT_EQ(p["fixed_point"]["step"], 0.5);
  set.parse({"--starts", "20", "--cos-threshold=0.9"});
  t.step = 0.25;  // e.g. a --smoke size set after parsing
  p = set.params();
  EXPECT_EQ(p["starts"], 20);
  EXPECT_EQ(p["cos_threshold"], 0.9);
  EXPECT_EQ(p["fixed_point"]["step"], 0.25);
}

TEST(OptionSet, BadFlagsAreInvalidArgumentWithCli11sMessage) {
  TinyOptions t;
  OptionSet set;
  t.describe(set);
  try {
    set.parse({"--starts", "0"});
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("--starts"));
  }
  EXPECT_THROW(set.parse({"--no-such-flag", "1"}), std::invalid_argument);
}

TEST(ParallelRuns, SameResultAtAnyThreadCountAndEveryIndexOnce) {
  auto run = [](int threads) {
    omp_set_num_threads(threads);
    std::vector<double> out(37, -1.0);
    parallel_runs(37, Rng(5), 100, "runs", Context{}, [&](long i, Rng& rng) {
      out[static_cast<std::size_t>(i)] = rng.uniform();
    });
    return out;
  };
  const std::vector<double> one = run(1), two = run(2);
  EXPECT_EQ(one, two);
  // run i draws from substream first + i
  Rng expected = Rng(5).substream(100 + 7);
  EXPECT_EQ(one[7], expected.uniform());
  for (double v : one) EXPECT_GE(v, 0.0);
}

TEST(ParallelRuns, RethrowsAnExceptionOfARunAfterTheLoop) {
  std::vector<int> done(10, 0);
  EXPECT_THROW(parallel_runs(10, Rng(1), 0, "runs", Context{},
                             [&](long i, Rng&) {
                               if (i == 3) throw std::invalid_argument("run 3 failed");
                               done[static_cast<std::size_t>(i)] = 1;
                             }),
               std::invalid_argument);
  int finished = 0;
  for (int d : done) finished += d;
  EXPECT_EQ(finished, 9);  // the other runs completed
}

}  // namespace
}  // namespace cldyn::experiments
