#pragma once
/// \file check.hpp
/// The contract every check executable follows (docs/design.md): common flags (--seed, --smoke,
/// --out, --threads, --quiet, --config), a header with version, git hash, seed and parameters,
/// a verdict table `claim | predicted | measured | tolerance | PASS/FAIL`, a last line
/// `N passed, M failed`, exit code 0 iff every claim passes, and with --out DIR the JSON result
/// DIR/<check>.json plus CSV series and figures. Wall times live only in the JSON's top-level
/// `timing` object so that two runs with the same seed and parameters agree outside it.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cldyn/core/rng.hpp"
#include "common/claim.hpp"

namespace cldyn::experiments {

class Check {
 public:
  /// `name` is the claim file stem (`<name>.json`); `description` goes into --help;
  /// `program` is the executable's name in --help, the header and error lines (default
  /// "check_<name>"). Also installs, for the Check's lifetime, a terminate handler that turns an
  /// exception escaping main or an OpenMP region into one line "<program>: error: <what>" on
  /// stderr and exit status 1 (instead of an abort with "terminate called after throwing ...").
  ///
  /// `out` receives the header, reported lines and the verdict table, `err` the error lines:
  /// std::cout and std::cerr for an executable; string streams when a sweep or a test runs the
  /// check in-process (cldyn::experiments::run_registered).
  Check(std::string name, std::string description, std::string program = "", std::ostream& out = std::cout,
        std::ostream& err = std::cerr);
  ~Check();
  Check(const Check&) = delete;
  Check& operator=(const Check&) = delete;

  /// Check-specific options are added here before parse().
  CLI::App& app() { return app_; }

  /// Registers a check of option values that a per-option validator cannot express (a count
  /// that must match another option, L <= d, a model the options must describe). parse() runs
  /// every registered check after parsing and before anything is printed; a
  /// std::invalid_argument it throws is a usage error like the others (see parse()).
  void add_validation(std::function<void()> validation);

  /// Parses argv. Returns -1 to continue; otherwise the exit code to return at once: 0 after
  /// --help; 2 after a usage error (unknown option, bad value, in a --config file an unknown
  /// key, a key given twice or a value that does not convert, and a failed add_validation
  /// check), with one line "check_<name>: error: <what> [(config file '<path>')] (see --help)"
  /// on stderr.
  ///
  /// Every list option (one that takes several values, e.g. `std::vector<double>`) accepts its
  /// values separated by commas, spaces or both: `--p 0.2,0.3`, `--p 0.2 0.3` and
  /// `--p 0.2, 0.3` are the same. parse() sets the delimiter on every such option, so no check
  /// can forget it, and adds "(list: a,b or a b)" to its help.
  int parse(int argc, char** argv);
  /// Sets again every option the command line (or its --config file) gave, after a check has
  /// changed defaults (the --smoke sizes): --smoke lowers only what the user did not set. Call
  /// after a successful parse().
  void reapply_given_options();

  /// Reports a usage error found after parse() (e.g. an option combination a library routine
  /// refuses): one line "<program>: error: <what> (see --help)" on stderr; returns 2 (return
  /// it from main). Call it before begin(), so that nothing else has been printed.
  int usage_error(std::string what) const;
  /// Reports a failure of the run itself (a file that cannot be read or written, a resumed run
  /// of another configuration): one line "<program>: error: <what>" on stderr; returns 2.
  int error(std::string what) const;

  std::uint64_t seed() const { return seed_; }
  bool smoke() const { return smoke_; }
  bool quiet() const { return quiet_; }
  int threads() const { return threads_; }
  const std::string& out_dir() const { return out_dir_; }

  /// Parameters recorded in the header and in JSON "params" (fill before begin()).
  nlohmann::json& params() { return params_; }
  /// Figure data and other structured results (JSON "series").
  nlohmann::json& series() { return series_; }
  /// Further top-level JSON fields (e.g. an experiment's "runs"); may not reuse a standard key.
  nlohmann::json& extra() { return extra_; }

  /// Refuses a run that cannot fit before it allocates: if `bytes` (the check's estimate of its
  /// peak memory) exceeds the machine's physical memory, prints one line
  /// "check_<name>: error: <what> needs an estimated X GB of memory but this machine has Y GB"
  /// and returns 2 (return it from main); otherwise returns -1.
  int require_memory(double bytes, const std::string& what) const;
  /// Threads the run's parallel loops use (--threads, or the OpenMP default).
  int max_threads() const;

  /// Prints the header (version, git hash, seed, parameters). Call after parse() and params().
  void begin();
  /// Appends a verdict row.
  void add_claim(Claim claim);
  /// Records a wall time (seconds) under JSON "timing".
  void add_timing(const std::string& key, double seconds);
  /// Prints a block of reported (not asserted) lines before the verdict table.
  void report(const std::string& line);

  /// Writes `DIR/<file>` atomically (temporary name + rename) when --out was given; returns the
  /// path written or "" when there is no output directory.
  std::string write_file(const std::string& file, const std::string& content) const;
  /// Writes a CSV (header + rows of numbers/strings) and, when gnuplot is on PATH, renders
  /// `<stem>.png` with the given gnuplot commands (which refer to the CSV as '<stem>.csv').
  /// Returns a note saying what was written (or why the figure was skipped).
  std::string write_figure(const std::string& stem, const std::vector<std::string>& header,
                           const std::vector<std::vector<std::string>>& rows,
                           const std::string& gnuplot_script);

  /// Prints the verdict table and the last line, writes JSON; returns the exit code.
  int finish();
  /// The JSON result finish() built (written to DIR/<name>.json with --out); null before.
  const nlohmann::json& document() const { return document_; }

 private:
  std::string reproducible_config() const;
  std::vector<std::string> args_;  ///< the words parse() was given (reapply_given_options)
  std::terminate_handler previous_terminate_ = nullptr;
  std::string name_;
  CLI::App app_;
  std::uint64_t seed_ = 1;
  bool smoke_ = false;
  bool quiet_ = false;
  int threads_ = 0;
  std::string out_dir_;
  nlohmann::json params_ = nlohmann::json::object();
  nlohmann::json series_ = nlohmann::json::object();
  nlohmann::json extra_ = nlohmann::json::object();
  std::string program_;
  std::ostream* out_;
  std::ostream* err_;
  nlohmann::json document_;
  nlohmann::json timing_ = nlohmann::json::object();
  std::vector<std::string> reports_;
  std::vector<Claim> claims_;
  std::vector<std::function<void()>> validations_;
  std::chrono::steady_clock::time_point start_;
};

/// Option validators with readable messages. CLI11 2.1's PositiveNumber and NonNegativeNumber
/// report a failure as "not in range 0 to 1797…" (DBL_MAX written out), and "0 not in range 0 to
/// …" for a value that is excluded; these say "must be > 0" / ">= 0". The help shows the same
/// names (POSITIVE, NONNEGATIVE) after the option's type.
CLI::Validator positive_number();
CLI::Validator non_negative_number();
/// An unsigned 64-bit integer given in decimal (rejects "-1", which CLI11 would wrap to 2^64 − 1).
CLI::Validator unsigned_integer();
/// Text Activation::parse accepts: linear | relu | leaky:GAMMA (GAMMA a finite number).
CLI::Validator activation_name();
/// Estimated bytes held at once by one InfoNCE evaluation and gradient on a batch of N: about
/// six N × N double matrices (distances, logits/softmax, α, and the gradient's temporaries).
inline double infonce_batch_bytes(std::int64_t n) {
  return 6.0 * 8.0 * static_cast<double>(n) * static_cast<double>(n);
}

/// Mean and standard deviation of a sample and a confidence interval [low, high] for its mean.
struct MeanInterval {
  double mean = 0.0, sd = 0.0, low = 0.0, high = 0.0;
};

/// Resamples of bootstrap_mean_interval: the Monte Carlo error of the 2.5% quantile of B
/// resample means is about sqrt(0.025·0.975/B)/density ≈ 0.0016/density at B = 10⁴, below
/// the 0.01 the checks print; 10⁴ resamples of 20 seeds take about a millisecond.
constexpr int kBootstrapResamples = 10000;

/// Percentile-bootstrap confidence interval for the mean of `x` (n ≥ 1 values): draws
/// kBootstrapResamples resamples of x with replacement from `rng`, takes the mean of each, and
/// reports the ⌊B(1 − c)/2⌋-th smallest and largest of those B means (Efron & Tibshirani 1993,
/// §13.3), c = `confidence` in (0, 1). Also the sample mean and standard deviation (0 for n = 1).
///
/// Made for counts over seeds with a known range, such as the number of patterns recovered,
/// in [0, L]: every resample mean lies in [min x, max x], so the interval does too, inside the
/// count's range by construction, and its ends follow a skewed distribution (a count sitting
/// at L with a few runs one below). A Student-t interval mean ± t·s/√n is symmetric and
/// ignores the range (check_brute_force printed 2.50 [-3.85, 8.85] for two seeds with it).
/// The known weakness is the other way: with few values the interval is too narrow (two values
/// give at most [min x, max x]), so claims should not rest on it at small n. All values equal
/// give low = high = mean.
MeanInterval bootstrap_mean_interval(const std::vector<double>& x, double confidence, Rng rng);

/// "<n> <noun>" with the noun in the singular for n = 1 and in the plural otherwise:
/// counted(1, "fixed point") = "1 fixed point", counted(3, "fixed point") = "3 fixed points",
/// counted(2, "optimum", "optima") = "2 optima". `plural` defaults to `singular` + "s".
std::string counted(long long n, const std::string& singular, const std::string& plural = "");

/// Formats a double in scientific notation with `digits` significant digits.
std::string sci(double v, int digits = 3);
/// Formats a double in fixed notation.
std::string fixed(double v, int decimals = 4);


/// Progress on stderr for long loops, shown only when stderr is a terminal and not quiet.
class Progress {
 public:
  Progress(std::string label, long total, bool quiet);
  void tick(long done);
  ~Progress();

 private:
  std::string label_;
  long total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace cldyn::experiments
