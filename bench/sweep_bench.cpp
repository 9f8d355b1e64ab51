/// \file sweep_bench.cpp
/// Google Benchmark binary `cldyn_sweep_bench` (docs/scaling.md): what one run of a sweep costs
/// a worker and what it costs the dealer (rank 0), the two numbers of the scaling model.
///
///   BM_SweepRun/<check>        one in-process run (cldyn::sweep::execute, 1 thread): T
///   BM_SweepDeal/<check>       rank 0's work per run: parse the record a rank sent (JSON text)
///                              and write it atomically to runs/ (c_deal)
///   BM_SweepSummaryPerRun/<check>  summary.json/csv/grid.csv of a complete sweep, per run
///
/// <check> is relu_local_optima --smoke (about 0.2 s a run: a typical short run) and
/// alpha_cl_identities --smoke (a few ms: the short end). The record sizes are the checks'
/// own. Items per second are runs per second.

#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "sweep/sweep.hpp"

namespace {

namespace fs = std::filesystem;
using cldyn::sweep::RunRecord;
using cldyn::sweep::SweepSpec;

SweepSpec spec_of(const std::string& check, std::size_t seeds) {
  SweepSpec s;
  s.check = check;
  s.args = {"--smoke"};
  for (std::size_t i = 1; i <= seeds; ++i) s.seeds.push_back(i);
  return s;
}

const std::vector<std::string> kChecks = {"relu_local_optima", "alpha_cl_identities"};

void BM_SweepRun(benchmark::State& state) {
  const SweepSpec spec = spec_of(kChecks[static_cast<std::size_t>(state.range(0))], 1);
  for (auto _ : state) {
    const RunRecord r = cldyn::sweep::execute(spec, cldyn::sweep::run_spec(spec, 0), 1);
    benchmark::DoNotOptimize(r.exit_code);
  }
  state.SetLabel(spec.check);
  state.SetItemsProcessed(state.iterations());
}

void BM_SweepDeal(benchmark::State& state) {
  const SweepSpec spec = spec_of(kChecks[static_cast<std::size_t>(state.range(0))], 1);
  const std::string text = cldyn::sweep::execute(spec, cldyn::sweep::run_spec(spec, 0), 1).to_json().dump();
  const fs::path dir = fs::temp_directory_path() / "cldyn_sweep_bench_deal";
  fs::remove_all(dir);
  const cldyn::sweep::SweepDir sweep(dir, spec, /*resume=*/true);
  for (auto _ : state) {
    sweep.write_run(RunRecord::from_json(nlohmann::json::parse(text)));
  }
  state.SetLabel(spec.check + ", record " + std::to_string(text.size() / 1024) + " KiB");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
  fs::remove_all(dir);
}

void BM_SweepSummaryPerRun(benchmark::State& state) {
  constexpr std::size_t kRuns = 32;
  const SweepSpec spec = spec_of(kChecks[static_cast<std::size_t>(state.range(0))], kRuns);
  const fs::path dir = fs::temp_directory_path() / "cldyn_sweep_bench_summary";
  fs::remove_all(dir);
  const cldyn::sweep::SweepDir sweep(dir, spec, /*resume=*/true);
  const RunRecord first = cldyn::sweep::execute(spec, cldyn::sweep::run_spec(spec, 0), 1);
  for (std::size_t i = 0; i < kRuns; ++i) {  // the same record under every index: the cost is the files'
    RunRecord r = first;
    r.index = i;
    r.seed = spec.seeds[i];
    sweep.write_run(r);
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(cldyn::sweep::summarize(sweep));
  }
  state.SetLabel(spec.check + ", " + std::to_string(kRuns) + " runs");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kRuns));
  fs::remove_all(dir);
}

}  // namespace

BENCHMARK(BM_SweepRun)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SweepDeal)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SweepSummaryPerRun)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
