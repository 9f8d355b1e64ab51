#pragma once
// Running the cldyn-analyze executable from a test as a user would (header-only): a fixture with
// a scratch directory of its own that writes the inputs as .npy files, runs the binary with its
// standard output and error captured, and reads the JSON it writes. Not installed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <Eigen/Core>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/rng.hpp"
#include "npy.hpp"
#include "support/problems.hpp"
#include "support/scratch_dir.hpp"

namespace cldyn::test {

#ifdef CLDYN_ANALYZE_PATH
inline constexpr const char* kAnalyzeBinary = CLDYN_ANALYZE_PATH;
#else
inline constexpr const char* kAnalyzeBinary = nullptr;
#endif

/// `s` as one word of a POSIX shell command line.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

/// The whole content of a file ("" if it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

/// Views and weights written as the inputs of a run (x.npy, xp.npy, w.npy).
struct SavedProblem {
  TwoViewBatch batch;
  Eigen::MatrixXd w;
  std::string x, xp, wp;
};

class AnalyzeTest : public ScratchDirTest {
 protected:
  void SetUp() override {
    if (kAnalyzeBinary == nullptr) GTEST_SKIP() << "cldyn-analyze is not built (CLDYN_BUILD_TOOLS=OFF)";
    ScratchDirTest::SetUp();
  }

  /// Writes m as `name` (.npy) in the scratch directory and returns its path.
  std::string save(const std::string& name, const Eigen::MatrixXd& m) const {
    tools::save_npy(path(name), m);
    return path(name);
  }

  /// The views of gaussian_batch(n, d, 0.3, seed) and W = 0.5·G (d × k, G standard normal drawn
  /// from Rng(seed + 1)), saved as x.npy, xp.npy and w.npy.
  SavedProblem saved_problem(Eigen::Index n, Eigen::Index d, Eigen::Index k, std::uint64_t seed) const {
    SavedProblem p;
    p.batch = gaussian_batch(n, d, 0.3, seed);
    Rng rng(seed + 1);
    p.w = 0.5 * rng.normal_matrix(d, k);
    p.x = save("x.npy", p.batch.x);
    p.xp = save("xp.npy", p.batch.x_prime);
    p.wp = save("w.npy", p.w);
    return p;
  }

  /// Runs the binary with `args`; its exit status (128 + signal if killed), stdout and stderr.
  RunResult run(const std::vector<std::string>& args) const {
    // Appended piecewise: "literal" + std::string&& trips GCC 12's false -Wrestrict (PR 105651).
    std::string cmd = shell_quote(kAnalyzeBinary);
    for (const std::string& a : args) {
      cmd += ' ';
      cmd += shell_quote(a);
    }
    cmd += " >";
    cmd += shell_quote(path("stdout.txt"));
    cmd += " 2>";
    cmd += shell_quote(path("stderr.txt"));
    const int status = std::system(cmd.c_str());
    RunResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(path("stdout.txt"));
    r.err = slurp(path("stderr.txt"));
    return r;
  }

  /// Runs the binary, expecting exit status 0 and nothing on stderr; the JSON it wrote to
  /// `json_path` (which `args` names).
  nlohmann::json run_ok(const std::vector<std::string>& args, const std::string& json_path) const {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    std::ifstream in(json_path);
    return nlohmann::json::parse(in);
  }
};

}  // namespace cldyn::test
