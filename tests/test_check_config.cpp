// The check executables' option parser (experiments/common/check.hpp, Check::parse) with
// --config FILE: unknown keys, keys given twice, values that do not convert and a missing file
// are one-line usage errors (exit status 2) naming the key and the file. List options take
// commas, spaces or both; option validations run before anything is printed. Also the small
// helpers of the checks' output: counted() and bootstrap_mean_interval().
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#ifdef CLDYN_HAVE_CHECK
#include <boost/math/distributions/students_t.hpp>

#include "common/check.hpp"
#include "support/scratch_dir.hpp"
#endif

namespace cldyn {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::HasSubstr;

class CheckConfig : public test::ScratchDirTest {
 protected:
  void SetUp() override {
#ifndef CLDYN_HAVE_CHECK
    GTEST_SKIP() << "the check executables are not built (CLDYN_BUILD_EXPERIMENTS=OFF)";
#endif
    ScratchDirTest::SetUp();
  }

  struct Parsed {
    int code;
    std::string err;
    std::uint64_t seed;
    bool smoke;
    int n;
    double tau;
  };
  /// Parses `args` (after the program name) with a Check that has, like the real checks, two
  /// check-specific options --n and --tau.
  static Parsed parse(std::vector<std::string> args) {
#ifdef CLDYN_HAVE_CHECK
    experiments::Check check("config_probe", "test");
    int n = 10;
    double tau = 0.5;
    check.app().add_option("--n", n, "samples");
    check.app().add_option("--tau", tau, "temperature");
    args.insert(args.begin(), "check_config_probe");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    testing::internal::CaptureStderr();
    const int code = check.parse(static_cast<int>(argv.size()), argv.data());
    const std::string err = testing::internal::GetCapturedStderr();
    return {code, err, check.seed(), check.smoke(), n, tau};
#else
    (void)args;
    return {};
#endif
  }
#ifdef CLDYN_HAVE_CHECK
  /// check.parse on `args` (program name prepended) with stdout and stderr captured:
  /// (exit code or -1, stdout, stderr).
  static std::tuple<int, std::string, std::string> parse_captured(experiments::Check& check,
                                                                  std::vector<std::string> args) {
    args.insert(args.begin(), "check_config_probe");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    testing::internal::CaptureStdout();
    testing::internal::CaptureStderr();
    const int code = check.parse(static_cast<int>(argv.size()), argv.data());
    std::string err = testing::internal::GetCapturedStderr();
    std::string out = testing::internal::GetCapturedStdout();
    return {code, std::move(out), std::move(err)};
  }
#endif
  struct ParsedLists {
    int code;
    std::string out, err;
    std::vector<double> xs;
    std::vector<std::string> names;
  };
  /// Parses `args` with a Check that has two list options, --xs (numbers) and --names (text),
  /// declared as the checks declare theirs (no delimiter of their own).
  static ParsedLists parse_lists(std::vector<std::string> args) {
#ifdef CLDYN_HAVE_CHECK
    experiments::Check check("config_probe", "test");
    std::vector<double> xs = {9.0};
    std::vector<std::string> names = {"relu"};
    check.app().add_option("--xs", xs, "numbers")->capture_default_str();
    check.app().add_option("--names", names, "activations");
    auto [code, out, err] = parse_captured(check, std::move(args));
    return {code, out, err, xs, names};
#else
    (void)args;
    return {};
#endif
  }
  /// A usage error: exit status 2 and exactly one stderr line naming the file and `needle`.
  static void expect_usage_error(const Parsed& p, const std::string& file,
                                 const std::string& needle) {
    EXPECT_EQ(p.code, 2) << p.err;
    EXPECT_THAT(p.err, testing::StartsWith("check_config_probe: error: "));
    EXPECT_THAT(p.err, AllOf(HasSubstr(needle), HasSubstr("'" + file + "'")));
    ASSERT_FALSE(p.err.empty());
    EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << "not one line: " << p.err;
  }
};

TEST_F(CheckConfig, ValidConfigIsReadAndTheCommandLineOverridesIt) {
  const std::string f = write("ok.toml", "seed = 7\nsmoke = true\nn = 3\ntau = 0.25\n");
  Parsed p = parse({"--config", f});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.seed, 7u);
  EXPECT_TRUE(p.smoke);
  EXPECT_EQ(p.n, 3);
  EXPECT_EQ(p.tau, 0.25);
  EXPECT_EQ(p.err, "");
  p = parse({"--config", f, "--seed", "9"});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.seed, 9u);
  // An empty file and comments only are valid: nothing is set.
  p = parse({"--config", write("empty.toml", "# nothing\n")});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.seed, 1u);
}

TEST_F(CheckConfig, UnknownKeyIsAnErrorNamingKeyAndFile) {
  const std::string f = write("unknown.toml", "seed = 7\nfrobnicate = 3\n");
  expect_usage_error(parse({"--config", f}), f,
                     "unknown key 'frobnicate' (config file '" + f + "')");
  const std::string g = write("section.toml", "[other]\nn = 3\n");
  expect_usage_error(parse({"--config", g}), g,
                     "unknown section [other] (config file '" + g + "')");
  const std::string h = write("dotted.toml", "seed = 2\nother.n = 3\n");
  expect_usage_error(parse({"--config", h}), h, "unknown key 'other.n' (config file '" + h + "')");
}

TEST_F(CheckConfig, KeyGivenTwiceIsAnError) {
  const std::string f = write("twice.toml", "seed = 7\nseed = 8\n");
  expect_usage_error(parse({"--config", f}), f, "seed");
}

TEST_F(CheckConfig, BadValuesAreErrorsNamingTheKey) {
  const std::string f = write("text.toml", "seed = \"abc\"\n");
  expect_usage_error(parse({"--config", f}), f, "seed");
  const std::string g = write("range.toml", "threads = 5000\n");
  expect_usage_error(parse({"--config", g}), g, "threads");
  const std::string h = write("double.toml", "tau = fast\n");
  expect_usage_error(parse({"--config", h}), h, "tau");
}

TEST_F(CheckConfig, MissingConfigFileIsAnErrorNamingIt) {
  const std::string f = (dir_ / "absent.toml").string();
  const Parsed p = parse({"--config", f});
  EXPECT_EQ(p.code, 2);
  EXPECT_THAT(p.err, AllOf(testing::StartsWith("check_config_probe: error: "), HasSubstr(f)));
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << p.err;
}

TEST_F(CheckConfig, UnknownCommandLineOptionIsStillOneLineExitTwo) {
  const Parsed p = parse({"--frobnicate"});
  EXPECT_EQ(p.code, 2);
  EXPECT_THAT(p.err,
              AllOf(testing::StartsWith("check_config_probe: error: "), HasSubstr("--frobnicate")));
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << p.err;
}

TEST_F(CheckConfig, RunsThatCannotFitAreRefusedWithTheEstimate) {
#ifdef CLDYN_HAVE_CHECK
  experiments::Check check("config_probe", "test");
  testing::internal::CaptureStderr();
  const int refused = check.require_memory(1e30, "a batch of N = 1e15");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(refused, 2);
  EXPECT_THAT(err, testing::MatchesRegex("check_config_probe: error: a batch of N = 1e15 needs an "
                                         "estimated 1e\\+21 GB of memory but this machine has "
                                         "[0-9.e+]+ GB \\(see --help\\)\n"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(check.require_memory(1e6, "a small run"), -1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  // InfoNCE at N = 2^20 holds ~6 N x N doubles: 5.3e13 bytes.
  EXPECT_DOUBLE_EQ(experiments::infonce_batch_bytes(1 << 20), 48.0 * 1048576.0 * 1048576.0);
#endif
}

TEST_F(CheckConfig, ExceptionEscapingACheckIsOneLineAndExitOneNotAnAbort) {
#ifdef CLDYN_HAVE_CHECK
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        experiments::Check check("config_probe", "test");
        try {
          throw std::runtime_error("boom\nsecond line");
        } catch (...) {
          std::terminate();  // what an exception escaping main or an OpenMP region does
        }
      },
      testing::ExitedWithCode(1), "^check_config_probe: error: boom second line\n$");
  EXPECT_EXIT(
      {
        experiments::Check check("config_probe", "test");
        try {
          throw std::bad_alloc();
        } catch (...) {
          std::terminate();
        }
      },
      testing::ExitedWithCode(1), "^check_config_probe: error: out of memory\n$");
  // The handler is the Check's only while it lives.
  const std::terminate_handler before = std::get_terminate();
  {
    experiments::Check scoped("config_probe", "test");
    EXPECT_NE(std::get_terminate(), before);
  }
  EXPECT_EQ(std::get_terminate(), before);
#endif
}

TEST_F(CheckConfig, ListOptionsTakeCommasSpacesOrBoth) {
  // Issue 15: `--p 0.2,0.3` was refused by the checks whose lists took only spaces, while
  // exp_token_patterns took commas. Check::parse gives every list option both forms.
  const std::vector<double> want = {1.0, 2.5, 3.0};
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--xs", "1,2.5,3"},
                                             {"--xs", "1", "2.5", "3"},
                                             {"--xs", "1,", "2.5", "3"},
                                             {"--xs", "1,2.5", "3"},
                                             {"--xs=1,2.5,3"}}) {
    const ParsedLists p = parse_lists(args);
    EXPECT_EQ(p.code, -1) << args[0] << " ...: " << p.err;
    EXPECT_EQ(p.xs, want) << args.size() << " arguments starting " << args[0];
  }
  // Text lists too, and in a config file both a TOML array and one comma-separated string.
  ParsedLists p = parse_lists({"--names", "linear,relu", "leaky:0.1"});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.names, (std::vector<std::string>{"linear", "relu", "leaky:0.1"}));
  p = parse_lists({"--config", write("array.toml", "xs = [1, 2.5, 3]\n")});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.xs, want);
  p = parse_lists({"--config", write("string.toml", "xs = \"1,2.5,3\"\n")});
  EXPECT_EQ(p.code, -1) << p.err;
  EXPECT_EQ(p.xs, want);
  // A bad element is still a one-line usage error naming the option.
  p = parse_lists({"--xs", "1,abc"});
  EXPECT_EQ(p.code, 2);
  EXPECT_THAT(p.err, AllOf(testing::StartsWith("check_config_probe: error: "), HasSubstr("--xs"),
                           HasSubstr("abc")));
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << p.err;
  // --help says so for list options, and only for them.
  p = parse_lists({"--help"});
  EXPECT_EQ(p.code, 0);
  EXPECT_THAT(p.out, HasSubstr("numbers (list: a,b or a b)"));
  EXPECT_THAT(p.out, HasSubstr("activations (list: a,b or a b)"));
  EXPECT_THAT(p.out, testing::Not(HasSubstr("Seed of every random stream of the run (0 to 2^64-1) (list")));
}

TEST_F(CheckConfig, ValidationsRunBeforeAnythingIsPrintedAndFailAsOneUsageLine) {
#ifdef CLDYN_HAVE_CHECK
  auto run = [](std::vector<std::string> args, int& n) {
    experiments::Check check("config_probe", "test");
    check.app().add_option("--n", n, "samples");
    check.add_validation([&n] {
      if (n % 2 != 0) throw std::invalid_argument("--n: n = " + std::to_string(n) + " violates n even");
    });
    return parse_captured(check, std::move(args));
  };
  int n = 2;
  auto [code, out, err] = run({"--n", "3"}, n);
  EXPECT_EQ(code, 2);
  EXPECT_EQ(out, "");
  EXPECT_EQ(err, "check_config_probe: error: --n: n = 3 violates n even (see --help)\n");
  std::tie(code, out, err) = run({"--n", "4"}, n);
  EXPECT_EQ(code, -1) << err;
  EXPECT_EQ(n, 4);
  EXPECT_EQ(err, "");
  // --help answers before the validations (a help request is never an error).
  std::tie(code, out, err) = run({"--n", "3", "--help"}, n);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(err, "");
  // Errors found later (before begin()) use the same form; a newline in the text is flattened.
  experiments::Check check("config_probe", "test");
  testing::internal::CaptureStderr();
  EXPECT_EQ(check.usage_error("L = 30 violates\nL <= d = 20"), 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "check_config_probe: error: L = 30 violates L <= d = 20 (see --help)\n");
#endif
}

TEST(CheckText, CountedUsesTheSingularForOneOnly) {
#ifdef CLDYN_HAVE_CHECK
  // Issue 15: "1 fixed points".
  EXPECT_EQ(experiments::counted(1, "fixed point"), "1 fixed point");
  EXPECT_EQ(experiments::counted(0, "fixed point"), "0 fixed points");
  EXPECT_EQ(experiments::counted(16, "fixed point"), "16 fixed points");
  EXPECT_EQ(experiments::counted(1, "distinct optimum", "distinct optima"), "1 distinct optimum");
  EXPECT_EQ(experiments::counted(2, "distinct optimum", "distinct optima"), "2 distinct optima");
#endif
}

TEST(BootstrapMeanInterval, StaysInsideTheRangeOfTheValues) {
#ifdef CLDYN_HAVE_CHECK
  // Issue 15: check_brute_force printed the Student-t interval 2.50 [-3.85, 8.85] for the
  // counts {2, 3} of patterns recovered by two seeds (range [0, L = 5]); the bootstrap interval
  // is [2, 3] (each end is the mean of a resample with probability 1/4, far above 2.5%).
  using experiments::bootstrap_mean_interval;
  const boost::math::students_t t1(1.0);
  const double t_half = boost::math::quantile(t1, 0.975) * std::sqrt(0.5) / std::sqrt(2.0);
  EXPECT_LT(2.5 - t_half, 0.0);  // the old interval, recomputed: it leaves the range
  const experiments::MeanInterval two = bootstrap_mean_interval({2, 3}, 0.95, Rng(1));
  EXPECT_EQ(two.mean, 2.5);
  EXPECT_EQ(two.low, 2.0);
  EXPECT_EQ(two.high, 3.0);
  // Every resample mean lies in [min, max] of the values, so the interval does.
  const std::vector<std::vector<double>> samples = {
      {1, 4}, {2, 3}, {5, 5, 5, 5, 4}, {0, 0, 0, 1}, {5, 4, 5, 5, 5, 3, 5, 5, 4, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5}};
  for (std::size_t s = 0; s < samples.size(); ++s) {
    const std::vector<double>& x = samples[s];
    const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
    const experiments::MeanInterval ci = bootstrap_mean_interval(x, 0.95, Rng(3, s));
    EXPECT_GE(ci.low, *lo) << "sample " << s;
    EXPECT_LE(ci.high, *hi) << "sample " << s;
    EXPECT_LE(ci.low, ci.mean) << "sample " << s;
    EXPECT_GE(ci.high, ci.mean) << "sample " << s;
    // Deterministic in its stream (the checks' output does not depend on the thread count).
    const experiments::MeanInterval again = bootstrap_mean_interval(x, 0.95, Rng(3, s));
    EXPECT_EQ(ci.low, again.low);
    EXPECT_EQ(ci.high, again.high);
  }
  // Equal values: a point.
  const experiments::MeanInterval point = bootstrap_mean_interval({3, 3, 3}, 0.95, Rng(1));
  EXPECT_EQ(point.low, 3.0);
  EXPECT_EQ(point.high, 3.0);
  EXPECT_EQ(point.sd, 0.0);
  // Skewed counts at the top of their range (20 seeds, 16 at L = 5): the t interval crosses L,
  // the bootstrap interval does not, and it is longer below the mean than above it.
  const experiments::MeanInterval top = bootstrap_mean_interval(samples[4], 0.95, Rng(2));
  const boost::math::students_t t19(19.0);
  EXPECT_GT(top.mean + boost::math::quantile(t19, 0.975) * top.sd / std::sqrt(20.0), 5.0);
  EXPECT_LE(top.high, 5.0);
  EXPECT_GT(top.mean - top.low, top.high - top.mean);
  EXPECT_THROW((void)bootstrap_mean_interval({}, 0.95, Rng(1)), std::invalid_argument);
  EXPECT_THROW((void)bootstrap_mean_interval({1, 2}, 1.0, Rng(1)), std::invalid_argument);
#endif
}

TEST(BootstrapMeanInterval, AgreesWithTheNormalIntervalForManySymmetricValues) {
#ifdef CLDYN_HAVE_CHECK
  // A confidence interval, not just [min, max]: for n = 400 values of a symmetric distribution
  // the bootstrap percentile interval approaches mean ± z·s/√n (z = 1.96 at 95%).
  std::vector<double> x;
  Rng rng(7);
  for (int i = 0; i < 400; ++i) x.push_back(static_cast<double>(rng.uniform_index(5)));  // 0..4
  const experiments::MeanInterval ci = experiments::bootstrap_mean_interval(x, 0.95, Rng(8));
  const double half = 1.959963984540054 * ci.sd / std::sqrt(400.0);
  // 10% of the half-width: the bootstrap's own spread at B = 10⁴ is ~1-2% of it and its
  // small-sample difference from the normal interval at n = 400 a few percent.
  EXPECT_NEAR(ci.low, ci.mean - half, 0.1 * half);
  EXPECT_NEAR(ci.high, ci.mean + half, 0.1 * half);
#endif
}

}  // namespace
}  // namespace cldyn
