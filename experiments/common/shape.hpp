#pragma once
/// \file shape.hpp
/// The one shape of every check (docs/contributing.md, "Adding a check"):
///
///     struct XOptions {                       // validated and self-describing
///       ...fields with their defaults...
///       void describe(OptionSet&);            // each option's flag, default, range, help: once
///       void validate() const;                // option combinations (throws invalid_argument)
///       void use_smoke_sizes();               // the --smoke sizes
///     };
///     XResult compute(const XOptions&, std::uint64_t seed, const Context& = {});  // pure
///     void report(Check&, const XOptions&, const XResult&);  // rows, JSON series, CSV, figures
///     int main(int argc, char** argv) { return run_check<XOptions>(info, argc, argv, compute, report); }
///
/// `compute` does no I/O (progress on a terminal aside) and is what tests, the Python bindings
/// and sweeps call; the same options and seed give the same result at any thread count.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <string>
#include <vector>

#include "cldyn/core/rng.hpp"
#include "common/check.hpp"

namespace cldyn::experiments {

/// The options of a check, registered once: each `add` registers a command-line flag (with its
/// default shown in --help) and the key under which its value (after --smoke) goes to the
/// JSON's "params"; `record` adds a parameter that is not a flag. Keys may be JSON pointers
/// ("fixed_point/tolerance") for nested objects.
class OptionSet {
 public:
  /// Registers on `app`.
  explicit OptionSet(CLI::App& app) : app_(&app) {}
  /// Registers on an app of its own (tests, bindings and sweeps: parse() sets options by flag).
  OptionSet() : own_(std::make_unique<CLI::App>()), app_(own_.get()) {}

  /// Sets options from command-line words, e.g. {"--starts", "20"} (own app only). Throws
  /// std::invalid_argument with CLI11's message on an unknown flag or a bad value.
  void parse(std::vector<std::string> args);

  /// A flag and its parameter key (default: the flag without "--", '-' replaced by '_';
  /// "" keeps the option out of "params"). Returns the CLI11 option for validators.
  template <class T>
  CLI::Option* add(const std::string& flag, T& value, const std::string& help, std::string key = "default") {
    if (key == "default") key = key_of(flag);
    if (!key.empty()) getters_.push_back([&value, key](nlohmann::json& j) { j[pointer(key)] = value; });
    return app_->add_option(flag, value, help)->capture_default_str();
  }
  /// A switch (no value), e.g. --bias; in "params" under `key` like add().
  CLI::Option* add_flag(const std::string& flag, bool& value, const std::string& help, std::string key = "default") {
    if (key == "default") key = key_of(flag);
    if (!key.empty()) getters_.push_back([&value, key](nlohmann::json& j) { j[pointer(key)] = value; });
    return app_->add_flag(flag, value, help);
  }
  /// An option without a default (std::optional): absent from --help's defaults.
  template <class T>
  CLI::Option* add_optional(const std::string& flag, std::optional<T>& value, const std::string& help) {
    return app_->add_option(flag, value, help);
  }
  /// A parameter that is not a flag (a fixed constant of the check, a derived size).
  template <class T>
  void record(const std::string& key, const T& value) {
    getters_.push_back([&value, key](nlohmann::json& j) { j[pointer(key)] = value; });
  }
  /// A group of parameters produced by a function (e.g. a model's own params()).
  void record_all(std::function<nlohmann::json()> params) { groups_.push_back(std::move(params)); }

  /// Current values of every registered parameter.
  nlohmann::json params() const;

 private:
  static std::string key_of(const std::string& flag);
  static nlohmann::json::json_pointer pointer(const std::string& key) {
    return nlohmann::json::json_pointer("/" + key);
  }
  std::unique_ptr<CLI::App> own_;
  CLI::App* app_;
  std::vector<std::function<void(nlohmann::json&)>> getters_;
  std::vector<std::function<nlohmann::json()>> groups_;
};

/// How a computation shows progress; the default shows none (tests, bindings, sweeps).
struct Context {
  bool progress = false;  ///< a progress line on stderr when it is a terminal
};

/// The stream whose substreams the training runs of a check draw from (root.substream(this),
/// then one substream per run): above every other stream id a check uses. Checks name their other
/// streams in a local `enum Stream` (docs/contributing.md, Naming).
inline constexpr std::uint64_t kTrainingRunsStream = std::uint64_t{1} << 20;

/// Runs fn(i, rng) for i in [0, n) on the OpenMP threads, rng = root.substream(first + i), in a
/// dynamic schedule, with a progress line labelled `label`. Each index writes only its own
/// results, so the outcome does not depend on the thread count. An exception thrown by fn is
/// rethrown here after the loop (the first one, by index order of occurrence).
template <class Fn>
void parallel_runs(long n, const Rng& root, std::uint64_t first, const std::string& label, const Context& ctx,
                   Fn&& fn) {
  Progress progress(label, n, !ctx.progress);
  long done = 0;
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < n; ++i) {
    try {
      Rng rng = root.substream(first + static_cast<std::uint64_t>(i));
      fn(i, rng);
    } catch (...) {
#pragma omp critical(cldyn_parallel_runs_failure)
      if (!failure) failure = std::current_exception();
    }
#pragma omp critical(cldyn_parallel_runs_progress)
    progress.tick(++done);
  }
  if (failure) std::rethrow_exception(failure);
}

/// What a check is called and says in --help.
struct CheckInfo {
  std::string name;         ///< JSON stem and registry name
  std::string description;  ///< --help
  std::string program = ""; ///< the executable ("" : check_<name>; studies: study_<name>)
};

/// Where a check run writes: its text (header, reports, verdict table) and its error lines. An
/// executable uses std::cout and std::cerr; run_registered uses string streams.
struct CheckStreams {
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  nlohmann::json* document = nullptr;  ///< receives the JSON result (null after a usage error or a skip)
  /// Stop after parsing and validating the options (exit code 0, or 2 with the usage error):
  /// how a sweep checks every grid point before it runs any.
  bool parse_only = false;
};

/// The whole `main` of a check: options registered and parsed (with --smoke sizes and
/// validation before anything is printed), a skip when the options say the data is absent
/// (`std::optional<std::string> skip_reason() const`), the memory guard when the options estimate their
/// peak (`double memory_bytes() const` and `std::string memory_what() const`), the output
/// directory handed to options that keep files there (`void use_out_dir(const std::string&)`,
/// which may refuse it with std::invalid_argument: a usage error), the header, compute, report
/// and the verdict table. An exception from compute or report is one error line and exit status
/// 2. Returns the exit code.
template <class Options, class Result>
int run_check(const CheckInfo& info, int argc, char** argv,
              Result (*compute)(const Options&, std::uint64_t, const Context&),
              void (*report)(Check&, const Options&, const Result&), const CheckStreams& io = {}) {
  Check check(info.name, info.description, info.program, *io.out, *io.err);
  Options options;
  OptionSet set(check.app());
  options.describe(set);
  check.add_validation([&options] { options.validate(); });
  if (const int rc = check.parse(argc, argv); rc >= 0) return rc;
  if constexpr (requires { options.skip_reason(); }) {
    // A check whose data may be absent (e.g. a Debian data package): one line and exit 0.
    if (const std::optional<std::string> why = options.skip_reason()) {
      *io.out << (info.program.empty() ? "check_" + info.name : info.program) << ": skipped: " << *why << "\n";
      return 0;
    }
  }
  if (check.smoke()) {
    options.use_smoke_sizes();
    check.reapply_given_options();  // --smoke lowers only what was not given
    try {
      options.validate();
    } catch (const std::invalid_argument& e) {
      return check.usage_error(e.what());
    }
  }
  if constexpr (requires { options.use_out_dir(check.out_dir()); }) {
    // A computation that keeps its finished runs in --out DIR (exp_token_patterns --resume).
    try {
      options.use_out_dir(check.out_dir());
    } catch (const std::invalid_argument& e) {
      return check.usage_error(e.what());
    }
  }
  if constexpr (requires { options.memory_bytes(); }) {
    if (const int rc = check.require_memory(options.memory_bytes(), options.memory_what()); rc >= 0) return rc;
  }
  if (io.parse_only) return 0;
  check.params() = set.params();
  check.begin();
  try {
    const Result result = compute(options, check.seed(), Context{!check.quiet()});
    report(check, options, result);
  } catch (const std::bad_alloc&) {
    return check.error("out of memory");
  } catch (const std::exception& e) {
    return check.error(e.what());  // one line naming the program, exit status 2
  }
  const int rc = check.finish();
  if (io.document != nullptr) *io.document = check.document();
  return rc;
}

/// One check linked into a program: its name and description, and its whole main.
struct RegisteredCheck {
  CheckInfo info;
  int (*run)(int argc, char** argv, const CheckStreams& io) = nullptr;
};

/// Every check linked into this program, in registration order (one in a check executable;
/// all of them in cldyn-sweep). Filled by CLDYN_REGISTER_CHECK before main runs.
std::vector<RegisteredCheck>& check_registry();
/// The registered check called `name` (without "check_"); throws std::invalid_argument listing
/// the registered names when there is none.
const RegisteredCheck& find_registered_check(const std::string& name);

/// What an in-process run produced.
struct CheckRun {
  int exit_code = 0;      ///< as the executable's: 0 all claims pass, 1 a claim failed, 2 usage or run error
  nlohmann::json result;  ///< the JSON result (null after a usage error, a skip or an error)
  std::string output;     ///< the text the executable would print on stdout
  std::string error;      ///< its error lines (stderr), or the message of an exception
};

/// Runs the registered check `name` in this process with command-line words `args` (without the
/// program name), e.g. {"--smoke", "--seed", "3"}: the same parse, validation, computation and
/// result as the executable, with its output captured. An exception thrown by the computation
/// becomes exit code 2 and its message in `error`. `parse_only`: stop after the options are
/// parsed and validated (CheckStreams::parse_only).
CheckRun run_registered(const std::string& name, const std::vector<std::string>& args, bool parse_only = false);

namespace detail {
struct CheckRegistrar {
  CheckRegistrar(const CheckInfo& info, int (*run)(int, char**, const CheckStreams&)) {
    check_registry().push_back({info, run});
  }
};
}  // namespace detail

}  // namespace cldyn::experiments

/// Registers a check (in place of a main): the executable check_<name> gets its main from the
/// library cldyn_check_main, and cldyn-sweep (which links every check) runs it in-process.
///   const CheckInfo kInfo{"name", "description"};
///   CLDYN_REGISTER_CHECK(kInfo, Options, Result, compute, report)
#define CLDYN_REGISTER_CHECK(info, Options, Result, compute, report)                                        \
  namespace {                                                                                               \
  const ::cldyn::experiments::detail::CheckRegistrar cldyn_check_registrar(                                 \
      info, [](int argc, char** argv, const ::cldyn::experiments::CheckStreams& io) {                       \
        return ::cldyn::experiments::run_check<Options, Result>(info, argc, argv, compute, report, io);     \
      });                                                                                                   \
  }
