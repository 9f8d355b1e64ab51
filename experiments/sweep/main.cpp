// cldyn-sweep — runs a grid of option sets × seeds of any check (docs/sweeps.md):
//
//   cldyn-sweep run CHECK --seeds 1-20 [--axis sigma=0.1,0.2 ...] [--args "--smoke"] --out DIR
//   cldyn-sweep run --file sweep.toml --out DIR
//       [--threads T] [--shard i/n] [--resume] [--quiet]
//   mpirun -np R cldyn-sweep run ...        (rank 0 deals runs to ranks 1..R-1 as they finish)
//   cldyn-sweep merge DIR                   (the summary of a sweep run as shards)
//   cldyn-sweep show DIR INDEX              (one run's JSON result)
//   cldyn-sweep list                        (the checks linked in)
//
// Every run is the check's own computation, in-process, with --seed and --quiet added; each
// finished run is written atomically to DIR/runs/, so a killed process or rank loses only the
// run it was computing, and --resume runs only what is missing. The summary is built from the
// run files alone, in run order: identical whether one process, R ranks or n shards ran them.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/check.hpp"
#include "common/shape.hpp"
#include "sweep/sweep.hpp"

#ifdef CLDYN_WITH_MPI
#include <mpi.h>
#endif

using namespace cldyn;
using namespace cldyn::sweep;

namespace {

constexpr const char* kProgram = "cldyn-sweep";

struct RunOptions {
  std::string check, file, seeds, args, out, shard = "0/1";
  std::vector<std::string> axes, measures;
  int threads = 0;
  bool resume = false, quiet = false;
};

SweepSpec spec_of(const RunOptions& o) {
  SweepSpec spec;
  if (!o.file.empty()) {
    if (!o.check.empty() || !o.seeds.empty() || !o.args.empty() || !o.axes.empty() || !o.measures.empty())
      throw std::invalid_argument(
          "--file declares the whole sweep: give CHECK, --seeds, --axis, --args and --measure in the file");
    spec = read_sweep_file(o.file);
  } else {
    if (o.check.empty()) throw std::invalid_argument("name the check to sweep (cldyn-sweep list shows them) or give --file");
    if (o.seeds.empty()) throw std::invalid_argument("--seeds is required (e.g. --seeds 1-20)");
    spec.check = o.check;
    spec.seeds = parse_seeds(o.seeds);
    for (const std::string& a : o.axes) spec.axes.push_back(parse_axis(a));
    for (const std::string& m : o.measures) spec.measures.push_back(parse_measure(m));
    std::istringstream words(o.args);
    for (std::string w; words >> w;) spec.args.push_back(w);
  }
  spec.check.erase(0, spec.check.rfind("check_", 0) == 0 ? 6 : 0);
  return spec;
}

/// Test hook (tests/sweep/): after computing this many runs, a worker kills itself with SIGKILL
/// before it hands the next result over — a rank or process dying mid-sweep, in-flight run lost.
long kill_after() {
  const char* v = std::getenv("CLDYN_SWEEP_TEST_KILL_AFTER");
  return v == nullptr ? -1 : std::atol(v);
}

void maybe_die(long computed) {
  if (const long k = kill_after(); k >= 0 && computed > k) ::raise(SIGKILL);
}

struct Tally {
  std::size_t pass = 0, fail = 0, none = 0, error = 0;
  void add(const RunRecord& r) {
    if (r.exit_code == 0) ++pass;
    else if (r.exit_code != 1) ++error;
    else if (r.result.is_object() && r.result.value("claims", nlohmann::json::array()).empty()) ++none;
    else ++fail;  // exit code 1: a claim failed, or (no claims) nothing was asserted at these options
  }
};

std::vector<std::size_t> pending_runs(const SweepDir& dir, const Shard& shard) {
  std::vector<std::size_t> todo;
  for (std::size_t i : dir.missing())
    if (shard.owns(i)) todo.push_back(i);
  return todo;
}

int finish(const SweepDir& dir, const Tally& tally, std::size_t ran, double seconds, bool quiet) {
  std::cout << kProgram << ": " << ran << " runs in " << experiments::fixed(seconds, 1) << " s: " << tally.pass
            << " passed every claim, " << tally.fail << " with a failed claim, "
            << (tally.none > 0 ? std::to_string(tally.none) + " asserting no claim at their options, " : std::string())
            << tally.error << " errors\n";
  const std::vector<std::size_t> gone = dir.missing();
  if (gone.empty()) {
    std::cout << kProgram << ": wrote " << write_summary(dir) << " in " << dir.dir().string() << "\n";
  } else if (!quiet) {
    std::cout << kProgram << ": " << gone.size() << " runs of other shards are missing; after they finish: "
              << kProgram << " merge " << dir.dir().string() << "\n";
  }
  return tally.error == 0 ? 0 : 1;
}

int run_local(const SweepDir& dir, const std::vector<std::size_t>& todo, const RunOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  experiments::Progress progress("sweep", static_cast<long>(todo.size()), o.quiet);
  Tally tally;
  long computed = 0;
  for (std::size_t i : todo) {
    const RunRecord r = execute(dir.spec(), run_spec(dir.spec(), i), o.threads);
    maybe_die(++computed);
    dir.write_run(r);
    tally.add(r);
    progress.tick(computed);
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return finish(dir, tally, todo.size(), s, o.quiet);
}

#ifdef CLDYN_WITH_MPI
enum Tag : int { kReady = 1, kResult = 2, kWork = 3, kStop = 4 };

/// Rank 0: deals run indices to ranks as they ask (a long run holds back no one), writes every
/// result it receives. Polls with a 1 ms sleep so that it does not take a core from the workers.
int deal(const SweepDir& dir, const std::vector<std::size_t>& todo_list, const RunOptions& o, int ranks) {
  const auto start = std::chrono::steady_clock::now();
  std::deque<std::size_t> todo(todo_list.begin(), todo_list.end());
  experiments::Progress progress("sweep", static_cast<long>(todo.size()), o.quiet);
  Tally tally;
  long received = 0;
  int active = ranks - 1;
  std::string buffer;
  while (active > 0) {
    int flag = 0;
    MPI_Status status;
    MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    int count = 0;
    MPI_Get_count(&status, MPI_CHAR, &count);
    buffer.resize(static_cast<std::size_t>(count));
    MPI_Recv(buffer.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (status.MPI_TAG == kResult) {
      const RunRecord r = RunRecord::from_json(nlohmann::json::parse(buffer));
      dir.write_run(r);
      tally.add(r);
      progress.tick(++received);
    }
    if (!todo.empty()) {
      unsigned long long index = todo.front();
      todo.pop_front();
      MPI_Send(&index, 1, MPI_UNSIGNED_LONG_LONG, status.MPI_SOURCE, kWork, MPI_COMM_WORLD);
    } else {
      MPI_Send(nullptr, 0, MPI_UNSIGNED_LONG_LONG, status.MPI_SOURCE, kStop, MPI_COMM_WORLD);
      --active;
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return finish(dir, tally, todo_list.size(), s, o.quiet);
}

/// Ranks 1..R-1: ask, compute, hand the record back, until told to stop.
void work(const SweepSpec& spec, const RunOptions& o) {
  MPI_Send(nullptr, 0, MPI_CHAR, 0, kReady, MPI_COMM_WORLD);
  long computed = 0;
  for (;;) {
    unsigned long long index = 0;
    MPI_Status status;
    MPI_Recv(&index, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
    if (status.MPI_TAG == kStop) return;
    const RunRecord r = execute(spec, run_spec(spec, index), o.threads);
    maybe_die(++computed);
    const std::string text = r.to_json().dump();
    MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, kResult, MPI_COMM_WORLD);
  }
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_STEP_NUM_TASKS"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}
#endif

int run_command(const RunOptions& o) {
  int rank = 0, ranks = 1;
#ifdef CLDYN_WITH_MPI
  const bool mpi = launched_by_mpi();
  if (mpi) {
    MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  }
  struct Finalize {
    bool on;
    ~Finalize() { if (on) MPI_Finalize(); }
  } finalize{mpi};
#endif
  // Every rank reads the declaration; rank 0 validates it and prepares the directory, then
  // tells the others whether to go on.
  int ok = 1;
  SweepSpec spec;
  Shard shard;
  std::optional<SweepDir> dir;
  try {
    spec = spec_of(o);
    shard = Shard::parse(o.shard);
    if (rank == 0) {
      validate_grid(spec);
      dir.emplace(o.out, spec, o.resume, shard);
    }
  } catch (const std::exception& e) {
    if (rank == 0) std::cerr << kProgram << ": error: " << e.what() << " (see --help)\n";
    ok = 0;
  }
#ifdef CLDYN_WITH_MPI
  if (ranks > 1) MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
  if (!ok) return 2;
  const std::vector<std::size_t> todo = rank == 0 ? pending_runs(*dir, shard) : std::vector<std::size_t>{};
  if (rank == 0 && !o.quiet) {
    std::cout << kProgram << ": " << program_of(spec.check) << ", " << spec.runs() << " runs (" << spec.grid_points()
              << " grid points x " << spec.seeds.size() << " seeds); " << todo.size() << " to run here"
              << (shard.count > 1 ? " (shard " + o.shard + ")" : "") << " on " << ranks
              << (ranks > 1 ? " ranks (rank 0 deals)" : " process") << " with "
              << (o.threads > 0 ? std::to_string(o.threads) : std::string("default")) << " threads each\n";
  }
  try {
#ifdef CLDYN_WITH_MPI
    if (ranks > 1) {
      if (rank == 0) return deal(*dir, todo, o, ranks);
      work(spec, o);
      return 0;
    }
#endif
    return run_local(*dir, todo, o);
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": error: " << e.what() << "\n";
#ifdef CLDYN_WITH_MPI
    if (ranks > 1) MPI_Abort(MPI_COMM_WORLD, 2);
#endif
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Sweeps of cldyn checks: a grid of options x seeds, run by one process, MPI ranks or shards, "
               "with identical summaries (docs/sweeps.md)",
               kProgram);
  app.require_subcommand(1);
  RunOptions o;
  CLI::App* run = app.add_subcommand("run", "Run a sweep (or the runs of one shard, or the missing runs with --resume)");
  run->add_option("check", o.check, "The check to sweep (e.g. relu_local_optima; see: cldyn-sweep list)");
  run->add_option("--file", o.file, "A TOML file declaring the sweep (check, seeds, args, [[axis]], [[measure]])");
  run->add_option("--seeds", o.seeds, "Seeds: 1-20, 1,5,9 or a mix");
  run->add_option("--axis", o.axes, "A grid axis NAME=V1,V2,... (repeatable; the first is the slowest)");
  run->add_option("--args", o.args, "Options of every run, as one string, e.g. \"--smoke --n 64\"");
  run->add_option("--measure", o.measures,
                  "A value of each run's JSON to tabulate, NAME=/json/pointer, e.g. loc_all=/runs/0/loc_all (repeatable)");
  run->add_option("--out", o.out, "The sweep's directory (created; holds sweep.json, runs/, the summary)")->required();
  run->add_option("--threads", o.threads, "OpenMP threads of each run (0: default)")->check(CLI::Range(0, 1024));
  run->add_option("--shard", o.shard, "Run only shard i of n (runs with index % n == i), e.g. 0/4")->capture_default_str();
  run->add_flag("--resume", o.resume, "Complete a sweep: run only the runs without a file");
  run->add_flag("--quiet", o.quiet, "No progress and no header");
  std::string merge_dir;
  CLI::App* merge = app.add_subcommand("merge", "Write the summary of a sweep whose runs are all present (after shards)");
  merge->add_option("dir", merge_dir, "The sweep's directory")->required();
  std::string show_dir;
  std::size_t show_index = 0;
  CLI::App* show = app.add_subcommand("show", "Print one run's JSON result, as the check's own --out would have written it");
  show->add_option("dir", show_dir, "The sweep's directory")->required();
  show->add_option("index", show_index, "The run's index (summary.csv's first column)")->required();
  CLI::App* list = app.add_subcommand("list", "List the checks that can be swept");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    std::cerr << kProgram << ": error: " << what << " (see --help)\n";
    return 2;
  }
  if (list->parsed()) {
    for (const auto& c : experiments::check_registry()) std::cout << c.info.name << "\t" << c.info.description << "\n";
    return 0;
  }
  if (merge->parsed()) {
    try {
      const SweepDir dir = SweepDir::open(merge_dir);
      std::cout << kProgram << ": wrote " << write_summary(dir) << " in " << merge_dir << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << kProgram << ": error: " << e.what() << "\n";
      return 2;
    }
  }
  if (show->parsed()) {
    try {
      const SweepDir dir = SweepDir::open(show_dir);
      if (show_index >= dir.spec().runs())
        throw std::invalid_argument("the sweep has runs 0 to " + std::to_string(dir.spec().runs() - 1) + ", not " +
                                    std::to_string(show_index));
      if (!dir.has_run(show_index)) throw std::invalid_argument("run " + std::to_string(show_index) + " has not finished");
      const RunRecord r = dir.read_run(show_index);
      if (r.result.is_null()) throw std::invalid_argument("run " + std::to_string(show_index) + " stopped with an error: " + r.error);
      std::cout << r.result.dump(2) << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << kProgram << ": error: " << e.what() << "\n";
      return 2;
    }
  }
  (void)run;
  return run_command(o);
}
