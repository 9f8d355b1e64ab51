// The check executables' option parser (experiments/common/check.hpp, Check::parse) with
// --config FILE: unknown keys, keys given twice, values that do not convert and a missing file
// are one-line usage errors (exit status 2) naming the key and the file. Linked only when the
// experiments are built (CLDYN_HAVE_CHECK).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifdef CLDYN_HAVE_CHECK
#include "common/check.hpp"
#endif

namespace cldyn {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::HasSubstr;

class CheckConfig : public testing::Test {
 protected:
  void SetUp() override {
#ifndef CLDYN_HAVE_CHECK
    GTEST_SKIP() << "the check executables are not built (CLDYN_BUILD_EXPERIMENTS=OFF)";
#endif
    dir_ = fs::temp_directory_path() /
           ("cldyn_test_config_" + std::to_string(::getpid()) + "_" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
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
  static void expect_usage_error(const Parsed& p, const std::string& file, const std::string& needle) {
    EXPECT_EQ(p.code, 2) << p.err;
    EXPECT_THAT(p.err, testing::StartsWith("check_config_probe: error: "));
    EXPECT_THAT(p.err, AllOf(HasSubstr(needle), HasSubstr("'" + file + "'")));
    ASSERT_FALSE(p.err.empty());
    EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << "not one line: " << p.err;
  }

  fs::path dir_;
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
  expect_usage_error(parse({"--config", f}), f, "unknown key 'frobnicate' in the config file");
  const std::string g = write("section.toml", "[other]\nn = 3\n");
  expect_usage_error(parse({"--config", g}), g, "unknown section [other] in the config file");
  const std::string h = write("dotted.toml", "seed = 2\nother.n = 3\n");
  expect_usage_error(parse({"--config", h}), h, "unknown key 'other.n' in the config file");
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
  EXPECT_THAT(p.err, AllOf(testing::StartsWith("check_config_probe: error: "), HasSubstr("--frobnicate")));
  EXPECT_EQ(p.err.find('\n'), p.err.size() - 1) << p.err;
}

}  // namespace
}  // namespace cldyn
