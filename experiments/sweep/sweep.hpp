#pragma once
/// \file sweep.hpp
/// Sweeps: a grid (or list) of option sets × seeds of one check, each run a pure function of its
/// options and seed (the check's compute, run in-process through run_registered), each finished
/// run written atomically to its own file, and a summary (JSON, CSV, figure) assembled from the
/// run files alone, in run order, so that one process, MPI ranks and merged shards produce the
/// same summary. docs/sweeps.md describes the file layout and the commands.
///
/// Layout of a sweep directory:
///   sweep.json            the sweep's declaration (SweepSpec::to_json); --resume refuses another
///   runs/run-000012.json  one record per finished run (RunRecord), written atomically
///   summary.json          the declaration, and per run: seed, grid values, exit code, error,
///                         claims (id, measured, pass), measures (name: value or null)
///   summary.csv           one row per run: index, seed, grid values, exit code, 1/0 per claim,
///                         each measure
///   grid.csv / grid.png   one row per grid point: runs, errors, the fraction of seeds passing
///                         every claim and each claim (the figure plots them per grid point), and
///                         the mean of each numeric measure over the seeds

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cldyn::sweep {

/// One axis of the grid: a check option and its values (as command-line text).
struct Axis {
  std::string option;               ///< "--sigma" (a flag of the check)
  std::vector<std::string> values;  ///< "0.05", "0.1", …
};

/// A value read from every run's JSON result and tabulated by the summary, e.g. the token
/// experiment's loc_all: {"loc_all", "/runs/0/loc_all"}.
struct Measure {
  std::string name;     ///< column name
  std::string pointer;  ///< JSON pointer into the run's result (RFC 6901)
};

/// What a sweep runs: one registered check, its fixed options, a grid of option values (first
/// axis slowest) and a list of seeds (fastest). Runs are numbered in that order from 0.
struct SweepSpec {
  std::string check;                ///< registered check name, e.g. "relu_local_optima"
  std::vector<std::string> args;    ///< fixed command-line words of every run, e.g. {"--smoke"}
  std::vector<Axis> axes;           ///< may be empty (one grid point)
  std::vector<std::uint64_t> seeds; ///< at least one
  std::vector<Measure> measures{};  ///< values tabulated per run and (means) per grid point

  /// Throws std::invalid_argument naming the problem: unknown check, no seeds, a repeated seed,
  /// an axis without values or with a repeated value, an axis option repeated or also in args,
  /// args that set --seed, --out, --threads or --config (the sweep owns them), a measure without
  /// a name, with a repeated name or whose pointer is not a JSON pointer.
  void validate() const;
  std::size_t grid_points() const;
  std::size_t runs() const { return grid_points() * seeds.size(); }
  nlohmann::json to_json() const;
  static SweepSpec from_json(const nlohmann::json& j);
};

/// Parses a seed list: "1-20", "3", "1,5,9" or a mix "1-4,10". Throws std::invalid_argument.
std::vector<std::uint64_t> parse_seeds(const std::string& text);
/// Parses an axis "sigma=0.05,0.1,0.2" (or "--sigma=…"). Throws std::invalid_argument.
Axis parse_axis(const std::string& text);
/// Parses a measure "loc_all=/runs/0/loc_all". Throws std::invalid_argument.
Measure parse_measure(const std::string& text);
/// The program a registered check runs as ("check_<name>", or its own, e.g. exp_token_patterns).
std::string program_of(const std::string& check);

/// Reads a sweep declared in a TOML file (docs/sweeps.md):
///   check = "relu_local_optima"
///   seeds = "1-20"            # or an array of integers
///   args = ["--smoke"]        # optional
///   [[axis]]
///   option = "--sigma"
///   values = [0.05, 0.1]      # numbers, strings or booleans
///   [[measure]]               # optional, repeatable
///   name = "loc_all"
///   pointer = "/runs/0/loc_all"
/// Throws std::invalid_argument with the file name and the problem.
SweepSpec read_sweep_file(const std::filesystem::path& path);

/// One run of the sweep.
struct RunSpec {
  std::size_t index = 0;
  std::size_t point = 0;             ///< grid point (index / seeds)
  std::uint64_t seed = 0;
  std::vector<std::string> values;   ///< one per axis
  /// The run's command-line words: args, then every axis option and value, then --seed, --quiet.
  std::vector<std::string> command(const SweepSpec& spec) const;
};
RunSpec run_spec(const SweepSpec& spec, std::size_t index);

/// `--shard i/n`: runs with index % n == i (a deterministic, balanced subset).
struct Shard {
  std::size_t index = 0, count = 1;
  bool owns(std::size_t run) const { return run % count == index; }
  /// "i/n" with 0 <= i < n. Throws std::invalid_argument.
  static Shard parse(const std::string& text);
};

/// What one run produced: the check's exit code (0 pass, 1 a claim failed, 2 error), its error
/// line if any, and its JSON result (null after an error).
struct RunRecord {
  std::size_t index = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> values;
  int exit_code = 0;
  std::string error;
  nlohmann::json result;
  nlohmann::json to_json() const;
  static RunRecord from_json(const nlohmann::json& j);
};

/// Runs one run of the sweep in this process with `threads` OpenMP threads (0: default).
RunRecord execute(const SweepSpec& spec, const RunSpec& run, int threads);

/// Checks that every distinct grid point parses and validates (the check's own usage errors,
/// before anything runs). Throws std::invalid_argument with the check's error line.
void validate_grid(const SweepSpec& spec);

/// A sweep directory (see the file comment).
class SweepDir {
 public:
  /// Creates `dir` and writes sweep.json; when sweep.json exists the stored declaration must
  /// equal `spec`, else std::invalid_argument says so. Without `resume`, a directory that already
  /// holds run files of `shard` is refused (the message says to add --resume); other shards' runs
  /// may be there (shards of one sweep share its directory).
  SweepDir(std::filesystem::path dir, const SweepSpec& spec, bool resume, const Shard& shard = {});
  /// Opens an existing sweep directory (for merge); throws std::invalid_argument without sweep.json.
  static SweepDir open(const std::filesystem::path& dir);

  const SweepSpec& spec() const { return spec_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path run_path(std::size_t index) const;
  bool has_run(std::size_t index) const;
  /// Writes runs/run-NNNNNN.json atomically (temporary file + rename).
  void write_run(const RunRecord& record) const;
  RunRecord read_run(std::size_t index) const;
  /// Indices of the runs without a file, ascending.
  std::vector<std::size_t> missing() const;

 private:
  SweepDir(std::filesystem::path dir, SweepSpec spec) : dir_(std::move(dir)), spec_(std::move(spec)) {}
  std::filesystem::path dir_;
  SweepSpec spec_;
};

/// The summary of a complete sweep, from its run files only (timings, git hash and thread counts
/// are left out, so the summary does not depend on how the runs were executed).
nlohmann::json summarize(const SweepDir& dir);
/// Writes summary.json, summary.csv, grid.csv and (with gnuplot) grid.png atomically. Throws
/// std::invalid_argument listing missing runs when the sweep is incomplete. Returns a one-line
/// description of what was written.
std::string write_summary(const SweepDir& dir);

}  // namespace cldyn::sweep
