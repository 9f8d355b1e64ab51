// cldyn-sweep's library (experiments/sweep/sweep.hpp) and the check registry it runs checks
// through (experiments/common/shape.hpp): a toy check registered here is run in-process, swept
// over a grid, its runs written, read back and summarised.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/shape.hpp"
#include "sweep/sweep.hpp"

namespace {

using namespace cldyn;
using namespace cldyn::experiments;
using namespace cldyn::sweep;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

// The toy check: measured = x · seed, claim "toy-small" passes when measured <= limit; x = 13
// throws from compute (a run that fails with an error, not a claim).
struct ToyOptions {
  double x = 1.0, limit = 10.0;
  void describe(OptionSet& o) {
    o.add("--x", x, "factor")->check(positive_number());
    o.add("--limit", limit, "bound");
  }
  void validate() const {}
  void use_smoke_sizes() { limit *= 2; }
};
struct ToyResult {
  double measured = 0.0;
};
ToyResult toy_compute(const ToyOptions& o, std::uint64_t seed, const Context&) {
  if (o.x == 13.0) throw std::runtime_error("unlucky x");
  return {o.x * static_cast<double>(seed)};
}
void toy_report(Check& check, const ToyOptions& o, const ToyResult& r) {
  check.series()["measured"] = r.measured;
  check.add_claim(Claim::of("toy-small", "x * seed is small", "small", fixed(r.measured, 1), r.measured,
                            Bound::at_most(o.limit)));
}
const CheckInfo kToy{"toy_sweep_test", "a toy check for the sweep tests"};
}  // namespace
CLDYN_REGISTER_CHECK(kToy, ToyOptions, ToyResult, toy_compute, toy_report)

namespace {

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("cldyn_test_sweep_" + name);
  fs::remove_all(p);
  return p;
}

TEST(CheckRegistry, RunsARegisteredCheckInProcess) {
  const CheckRun pass = run_registered("toy_sweep_test", {"--x", "2", "--seed", "3"});
  EXPECT_EQ(pass.exit_code, 0);
  EXPECT_EQ(pass.result["series"]["measured"], 6.0);
  EXPECT_EQ(pass.result["params"]["x"], 2.0);
  EXPECT_THAT(pass.output, HasSubstr("1 passed, 0 failed"));
  const CheckRun fail = run_registered("toy_sweep_test", {"--x", "4", "--seed", "3"});
  EXPECT_EQ(fail.exit_code, 1);
  EXPECT_FALSE(fail.result["claims"][0]["pass"].get<bool>());
  const CheckRun smoke = run_registered("toy_sweep_test", {"--x", "4", "--seed", "3", "--smoke"});
  EXPECT_EQ(smoke.exit_code, 0);  // the smoke limit is 20
  // --smoke lowers only what was not given: an explicit --limit keeps its value.
  const CheckRun given = run_registered("toy_sweep_test", {"--x", "4", "--seed", "3", "--smoke", "--limit", "5"});
  EXPECT_EQ(given.exit_code, 1);
  EXPECT_EQ(given.result["params"]["limit"], 5.0);
  EXPECT_EQ(smoke.result["params"]["limit"], 20.0);
  const CheckRun usage = run_registered("toy_sweep_test", {"--x", "-1"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_TRUE(usage.result.is_null());
  EXPECT_THAT(usage.error, HasSubstr("check_toy_sweep_test: error: --x: value -1 must be > 0"));
  const CheckRun thrown = run_registered("toy_sweep_test", {"--x", "13"});
  EXPECT_EQ(thrown.exit_code, 2);
  EXPECT_THAT(thrown.error, HasSubstr("unlucky x"));
  EXPECT_EQ(run_registered("toy_sweep_test", {"--x", "-1"}, /*parse_only=*/true).exit_code, 2);
  EXPECT_EQ(run_registered("toy_sweep_test", {"--x", "13"}, /*parse_only=*/true).exit_code, 0);
  EXPECT_THROW(run_registered("no_such_check", {}), std::invalid_argument);
}

TEST(Sweep, ParsesSeedsAxesAndShards) {
  EXPECT_THAT(parse_seeds("1-3,7, 9"), ElementsAre(1u, 2u, 3u, 7u, 9u));
  EXPECT_THROW(parse_seeds("3-1"), std::invalid_argument);
  EXPECT_THROW(parse_seeds("1,,2"), std::invalid_argument);
  EXPECT_THROW(parse_seeds("-1"), std::invalid_argument);
  const Axis a = parse_axis("sigma=0.1, 0.2");
  EXPECT_EQ(a.option, "--sigma");
  EXPECT_THAT(a.values, ElementsAre("0.1", "0.2"));
  EXPECT_THROW(parse_axis("sigma"), std::invalid_argument);
  EXPECT_THROW(parse_axis("sigma=0.1,"), std::invalid_argument);
  const Shard s = Shard::parse("1/3");
  EXPECT_TRUE(s.owns(4));
  EXPECT_FALSE(s.owns(5));
  EXPECT_THROW(Shard::parse("3/3"), std::invalid_argument);
  EXPECT_THROW(Shard::parse("1"), std::invalid_argument);
}

TEST(Sweep, NumbersRunsFirstAxisSlowestSeedsFastest) {
  SweepSpec spec{"toy_sweep_test", {"--smoke"}, {{"--x", {"1", "2"}}, {"--limit", {"5", "6", "7"}}}, {4, 5}};
  spec.validate();
  ASSERT_EQ(spec.runs(), 12u);
  const RunSpec r = run_spec(spec, 7);  // point 3 = (x 2, limit 5), seed 5
  EXPECT_EQ(r.point, 3u);
  EXPECT_EQ(r.seed, 5u);
  EXPECT_THAT(r.values, ElementsAre("2", "5"));
  EXPECT_THAT(r.command(spec), ElementsAre("--smoke", "--x", "2", "--limit", "5", "--seed", "5", "--quiet"));
  EXPECT_EQ(SweepSpec::from_json(spec.to_json()).to_json(), spec.to_json());
}

TEST(Sweep, RefusesWhatItCannotRun) {
  auto refused = [](SweepSpec s, const std::string& why) {
    try {
      validate_grid(s);
      ADD_FAILURE() << "accepted; expected: " << why;
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(why));
    }
  };
  refused({"nope", {}, {}, {1}}, "no check called 'nope'");
  refused({"toy_sweep_test", {}, {}, {}}, "no seeds");
  refused({"toy_sweep_test", {}, {}, {1, 1}}, "a seed is listed twice");
  refused({"toy_sweep_test", {"--seed", "2"}, {}, {1}}, "the sweep sets --seed itself");
  refused({"toy_sweep_test", {"--x", "2"}, {{"--x", {"1"}}}, {1}}, "--x is both an axis and a fixed run option");
  refused({"toy_sweep_test", {}, {{"--x", {"1", "1"}}}, {1}}, "lists a value twice");
  refused({"toy_sweep_test", {}, {{"--x", {"1", "-2"}}}, {1}}, "grid point 1 is refused by the check: "
                                                                  "check_toy_sweep_test: error: --x: value -2 must be > 0");
}

TEST(Sweep, WritesRunsAndASummaryThatDependsOnlyOnTheRunFiles) {
  const SweepSpec spec{"toy_sweep_test", {}, {{"--x", {"1", "4", "13"}}}, {2, 3}};
  const fs::path d = scratch("summary");
  {
    const SweepDir dir(d, spec, /*resume=*/false);
    EXPECT_EQ(dir.missing().size(), 6u);
    for (std::size_t i = 0; i < spec.runs(); i += 2) dir.write_run(execute(spec, run_spec(spec, i), 1));
    EXPECT_THROW(write_summary(dir), std::invalid_argument);  // runs 1, 3, 5 missing
    EXPECT_THROW(SweepDir(d, spec, /*resume=*/false), std::invalid_argument);  // would redo runs
    EXPECT_NO_THROW(SweepDir(d, spec, /*resume=*/false, Shard::parse("1/2")));  // another shard's runs
    SweepSpec other = spec;
    other.seeds = {2, 4};
    EXPECT_THROW(SweepDir(d, other, /*resume=*/true), std::invalid_argument);  // another sweep
  }
  const SweepDir dir(d, spec, /*resume=*/true);
  for (std::size_t i : dir.missing()) dir.write_run(execute(spec, run_spec(spec, i), 2));
  const RunRecord r = dir.read_run(3);  // x 4, seed 3: 12 > 10 fails its claim
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.result["series"]["measured"], 12.0);
  EXPECT_EQ(dir.read_run(4).exit_code, 2);  // x 13 throws
  EXPECT_THAT(dir.read_run(4).error, HasSubstr("unlucky x"));
  write_summary(dir);
  const nlohmann::json s = summarize(SweepDir::open(d));
  ASSERT_EQ(s["runs"].size(), 6u);
  EXPECT_EQ(s["runs"][3]["claims"][0]["pass"], false);
  EXPECT_EQ(s["runs"][3]["values"]["--x"], "4");
  EXPECT_FALSE(s.dump().find("timing") != std::string::npos);  // no timings, no thread counts
  std::ifstream grid(d / "grid.csv");
  std::string header, row0, row1, row2;
  std::getline(grid, header);
  std::getline(grid, row0);
  std::getline(grid, row1);
  std::getline(grid, row2);
  EXPECT_EQ(header, "point,x,runs,errors,all_claims_pass,toy-small");
  EXPECT_EQ(row0, "0,1,2,0,1,1");    // x 1: 2, 3 pass
  EXPECT_EQ(row1, "1,4,2,0,0.5,0.5");  // x 4: 8 passes, 12 fails
  EXPECT_EQ(row2, "2,13,2,2,0,0");   // errors
  fs::remove_all(d);
}

TEST(Sweep, TabulatesMeasuresPerRunAndTheirMeansPerGridPoint) {
  EXPECT_EQ(parse_measure("m = /series/measured").pointer, "/series/measured");
  EXPECT_THROW(parse_measure("/series/measured"), std::invalid_argument);
  SweepSpec spec{"toy_sweep_test", {}, {{"--x", {"1", "13"}}}, {2, 3}};
  spec.measures = {{"m", "/series/measured"}, {"lim", "/params/limit"}, {"gone", "/series/absent"}};
  SweepSpec bad = spec;
  bad.measures.push_back({"m", "/seed"});
  EXPECT_THROW(bad.validate(), std::invalid_argument);  // a name twice
  bad.measures = {{"p", "series/measured"}};
  EXPECT_THROW(bad.validate(), std::invalid_argument);  // not a JSON pointer
  EXPECT_EQ(SweepSpec::from_json(spec.to_json()).to_json(), spec.to_json());
  const fs::path d = scratch("measures");
  const SweepDir dir(d, spec, /*resume=*/false);
  for (std::size_t i = 0; i < spec.runs(); ++i) dir.write_run(execute(spec, run_spec(spec, i), 1));
  write_summary(dir);
  const nlohmann::json s = summarize(SweepDir::open(d));
  EXPECT_EQ(s["runs"][1]["measures"]["m"], 3.0);   // x 1, seed 3
  EXPECT_TRUE(s["runs"][1]["measures"]["gone"].is_null());
  EXPECT_TRUE(s["runs"][2]["measures"]["m"].is_null());  // x 13: an error, no result
  std::ifstream summary(d / "summary.csv"), grid(d / "grid.csv");
  std::string line;
  std::getline(summary, line);
  EXPECT_EQ(line, "index,seed,x,exit_code,toy-small,m,lim,gone");
  std::getline(summary, line);
  EXPECT_EQ(line, "0,2,1,0,1,2,10,");
  std::getline(grid, line);
  EXPECT_EQ(line, "point,x,runs,errors,all_claims_pass,toy-small,m_mean,lim_mean,gone_mean");
  std::getline(grid, line);
  EXPECT_EQ(line, "0,1,2,0,1,1,2.5,10,");  // the mean of 2 and 3; none resolved for "gone"
  std::getline(grid, line);
  EXPECT_EQ(line, "1,13,2,2,0,0,,,");
  fs::remove_all(d);
}

#ifdef CLDYN_HAVE_TOMLPLUSPLUS
TEST(Sweep, ReadsATomlFile) {
  const fs::path d = scratch("toml");
  fs::create_directories(d);
  std::ofstream(d / "ok.toml") << "check = \"toy_sweep_test\"\nseeds = \"1-3\"\nargs = [\"--smoke\"]\n"
                                  "[[axis]]\noption = \"x\"\nvalues = [0.5, 2, true, \"3\"]\n"
                                  "[[measure]]\nname = \"m\"\npointer = \"/series/measured\"\n";
  const SweepSpec s = read_sweep_file(d / "ok.toml");
  EXPECT_EQ(s.check, "toy_sweep_test");
  EXPECT_THAT(s.seeds, ElementsAre(1u, 2u, 3u));
  EXPECT_THAT(s.args, ElementsAre("--smoke"));
  ASSERT_EQ(s.axes.size(), 1u);
  EXPECT_EQ(s.axes[0].option, "--x");
  EXPECT_THAT(s.axes[0].values, ElementsAre("0.5", "2", "true", "3"));
  ASSERT_EQ(s.measures.size(), 1u);
  EXPECT_EQ(s.measures[0].pointer, "/series/measured");
  std::ofstream(d / "bad.toml") << "check = \"toy_sweep_test\"\nseed = 3\n";
  try {
    read_sweep_file(d / "bad.toml");
    ADD_FAILURE() << "accepted an unknown key";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown key 'seed'"));
  }
  std::ofstream(d / "broken.toml") << "check = \n";
  EXPECT_THROW(read_sweep_file(d / "broken.toml"), std::invalid_argument);
  fs::remove_all(d);
}
#endif

}  // namespace
