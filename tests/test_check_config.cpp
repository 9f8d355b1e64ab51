// The check executables' option parser (experiments/common/check.hpp, Check::parse) with
// --config FILE: unknown keys, keys given twice, values that do not convert and a missing file
// are one-line usage errors (exit status 2) naming the key and the file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef CLDYN_HAVE_CHECK
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

}  // namespace
}  // namespace cldyn
