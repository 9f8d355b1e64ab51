#include "sweep/sweep.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "common/figure.hpp"
#include "common/shape.hpp"
#include "npy.hpp"  // cldyn::tools::write_file_atomically

#ifdef CLDYN_HAVE_TOMLPLUSPLUS
#include <toml++/toml.h>
#endif

namespace cldyn::sweep {
namespace fs = std::filesystem;
using experiments::csv_field;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(trim(part));
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

std::uint64_t parse_u64(const std::string& text, const std::string& what) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw std::invalid_argument(what + ": '" + text + "' is not an unsigned integer");
  return v;
}

std::string with_dashes(std::string option) {
  option = trim(option);
  if (option.rfind("--", 0) != 0) option = "--" + option;
  return option;
}

/// The flag a command-line word sets ("--n=64" → "--n"), or "" when it is not a flag.
std::string flag_of(const std::string& word) {
  if (word.rfind("--", 0) != 0) return "";
  return word.substr(0, word.find('='));
}

void read_text(const fs::path& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read '" + path.string() + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  text = buf.str();
}

nlohmann::json read_json(const fs::path& path) {
  std::string text;
  read_text(path, text);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("'" + path.string() + "' is not valid JSON: " + e.what());
  }
}

/// A number as the grid table shows it (the stream's default: 1, 0.5, 0.333333).
std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The declaration

void SweepSpec::validate() const {
  experiments::find_registered_check(check);  // throws listing the checks
  if (seeds.empty()) throw std::invalid_argument("the sweep has no seeds (--seeds 1-20)");
  std::set<std::uint64_t> distinct(seeds.begin(), seeds.end());
  if (distinct.size() != seeds.size()) throw std::invalid_argument("a seed is listed twice");
  std::set<std::string> owned;
  for (const Axis& a : axes) {
    if (a.option.rfind("--", 0) != 0 || a.option.size() < 3)
      throw std::invalid_argument("axis option '" + a.option + "' is not a flag (--name)");
    if (a.values.empty()) throw std::invalid_argument("axis " + a.option + " has no values");
    std::set<std::string> vs(a.values.begin(), a.values.end());
    if (vs.size() != a.values.size()) throw std::invalid_argument("axis " + a.option + " lists a value twice");
    if (!owned.insert(a.option).second) throw std::invalid_argument("axis " + a.option + " is given twice");
  }
  std::set<std::string> names;
  for (const Measure& m : measures) {
    if (m.name.empty()) throw std::invalid_argument("a measure has no name (NAME=/json/pointer)");
    if (!names.insert(m.name).second) throw std::invalid_argument("measure '" + m.name + "' is given twice");
    try {
      (void)nlohmann::json::json_pointer(m.pointer);
    } catch (const nlohmann::json::exception&) {
      throw std::invalid_argument("measure '" + m.name + "': '" + m.pointer +
                                  "' is not a JSON pointer (e.g. /runs/0/loc_all)");
    }
    if (m.pointer.empty()) throw std::invalid_argument("measure '" + m.name + "' has an empty pointer");
  }
  for (const std::string& word : args) {
    const std::string flag = flag_of(word);
    for (const char* reserved : {"--seed", "--out", "--threads", "--config", "--quiet"})
      if (flag == reserved)
        throw std::invalid_argument(std::string("the sweep sets ") + reserved + " itself; remove it from the run options");
    if (!flag.empty() && owned.count(flag) != 0)
      throw std::invalid_argument(flag + " is both an axis and a fixed run option");
  }
}

std::size_t SweepSpec::grid_points() const {
  std::size_t n = 1;
  for (const Axis& a : axes) n *= a.values.size();
  return n;
}

nlohmann::json SweepSpec::to_json() const {
  nlohmann::json axes_json = nlohmann::json::array();
  for (const Axis& a : axes) axes_json.push_back({{"option", a.option}, {"values", a.values}});
  nlohmann::json j = {{"check", check}, {"args", args}, {"axes", axes_json}, {"seeds", seeds}};
  if (!measures.empty()) {  // absent when there are none: sweep.json of earlier sweeps still matches
    nlohmann::json m = nlohmann::json::array();
    for (const Measure& x : measures) m.push_back({{"name", x.name}, {"pointer", x.pointer}});
    j["measures"] = m;
  }
  return j;
}

SweepSpec SweepSpec::from_json(const nlohmann::json& j) {
  SweepSpec s;
  try {
    s.check = j.at("check").get<std::string>();
    s.args = j.at("args").get<std::vector<std::string>>();
    for (const auto& a : j.at("axes"))
      s.axes.push_back({a.at("option").get<std::string>(), a.at("values").get<std::vector<std::string>>()});
    s.seeds = j.at("seeds").get<std::vector<std::uint64_t>>();
    if (j.contains("measures"))
      for (const auto& m : j.at("measures"))
        s.measures.push_back({m.at("name").get<std::string>(), m.at("pointer").get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("not a sweep declaration: ") + e.what());
  }
  return s;
}

std::vector<std::uint64_t> parse_seeds(const std::string& text) {
  std::vector<std::uint64_t> seeds;
  for (const std::string& part : split(text, ',')) {
    if (part.empty()) throw std::invalid_argument("seeds '" + text + "': empty entry");
    const auto dash = part.find('-');
    if (dash == std::string::npos) {
      seeds.push_back(parse_u64(part, "seeds"));
      continue;
    }
    const std::uint64_t first = parse_u64(trim(part.substr(0, dash)), "seeds");
    const std::uint64_t last = parse_u64(trim(part.substr(dash + 1)), "seeds");
    if (last < first) throw std::invalid_argument("seeds '" + part + "': the range is empty");
    if (last - first >= 10'000'000) throw std::invalid_argument("seeds '" + part + "': more than 10^7 seeds");
    for (std::uint64_t s = first;; ++s) {
      seeds.push_back(s);
      if (s == last) break;
    }
  }
  return seeds;
}

Axis parse_axis(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("axis '" + text + "' is not NAME=V1,V2,… (e.g. sigma=0.1,0.2)");
  Axis a{with_dashes(text.substr(0, eq)), split(text.substr(eq + 1), ',')};
  for (const std::string& v : a.values)
    if (v.empty()) throw std::invalid_argument("axis '" + text + "' has an empty value");
  return a;
}

Measure parse_measure(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw std::invalid_argument("measure '" + text + "' is not NAME=/json/pointer (e.g. loc_all=/runs/0/loc_all)");
  return {trim(text.substr(0, eq)), trim(text.substr(eq + 1))};
}

std::string program_of(const std::string& check) {
  const experiments::CheckInfo& info = experiments::find_registered_check(check).info;
  return info.program.empty() ? "check_" + info.name : info.program;
}

#ifdef CLDYN_HAVE_TOMLPLUSPLUS
namespace {
std::string toml_text(const toml::node& node, const std::string& where) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* d = node.as_floating_point()) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d->get());  // shortest exact text
    return std::string(buf, end);
  }
  throw std::invalid_argument(where + ": expected a number, string or boolean");
}
}  // namespace

SweepSpec read_sweep_file(const fs::path& path) {
  const std::string where = "sweep file '" + path.string() + "'";
  toml::table t;
  try {
    t = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << where << ": " << e.description() << " (line " << e.source().begin.line << ")";
    throw std::invalid_argument(msg.str());
  }
  SweepSpec s;
  for (const auto& [key, node] : t) {
    const std::string k(key.str());
    if (k != "check" && k != "seeds" && k != "args" && k != "axis" && k != "measure")
      throw std::invalid_argument(where + ": unknown key '" + k + "' (keys: check, seeds, args, [[axis]], [[measure]])");
  }
  if (const auto check = t["check"].value<std::string>()) s.check = *check;
  else throw std::invalid_argument(where + ": 'check' (a string) is missing");
  if (const auto text = t["seeds"].value<std::string>()) {
    s.seeds = parse_seeds(*text);
  } else if (const toml::array* seeds = t["seeds"].as_array()) {
    for (const toml::node& n : *seeds) {
      const auto v = n.value<std::int64_t>();
      if (!v || *v < 0) throw std::invalid_argument(where + ": seeds must be non-negative integers");
      s.seeds.push_back(static_cast<std::uint64_t>(*v));
    }
  } else {
    throw std::invalid_argument(where + ": 'seeds' (\"1-20\" or an array of integers) is missing");
  }
  if (const toml::node_view args = t["args"]) {
    const toml::array* a = args.as_array();
    if (a == nullptr) throw std::invalid_argument(where + ": 'args' must be an array of strings");
    for (const toml::node& n : *a) s.args.push_back(toml_text(n, where + ", args"));
  }
  if (const toml::node_view axes = t["axis"]) {
    const toml::array* a = axes.as_array();
    if (a == nullptr) throw std::invalid_argument(where + ": 'axis' must be an array of tables ([[axis]])");
    for (const toml::node& n : *a) {
      const toml::table* at = n.as_table();
      const auto option = at ? (*at)["option"].value<std::string>() : std::nullopt;
      const toml::array* values = at ? (*at)["values"].as_array() : nullptr;
      if (!option || values == nullptr)
        throw std::invalid_argument(where + ": every [[axis]] needs option = \"--name\" and values = [...]");
      Axis axis{with_dashes(*option), {}};
      for (const toml::node& v : *values) axis.values.push_back(toml_text(v, where + ", axis " + axis.option));
      s.axes.push_back(std::move(axis));
    }
  }
  if (const toml::node_view measures = t["measure"]) {
    const toml::array* a = measures.as_array();
    if (a == nullptr) throw std::invalid_argument(where + ": 'measure' must be an array of tables ([[measure]])");
    for (const toml::node& n : *a) {
      const toml::table* mt = n.as_table();
      const auto name = mt ? (*mt)["name"].value<std::string>() : std::nullopt;
      const auto pointer = mt ? (*mt)["pointer"].value<std::string>() : std::nullopt;
      if (!name || !pointer)
        throw std::invalid_argument(where + ": every [[measure]] needs name = \"...\" and pointer = \"/json/pointer\"");
      s.measures.push_back({*name, *pointer});
    }
  }
  return s;
}
#else
SweepSpec read_sweep_file(const fs::path& path) {
  throw std::invalid_argument("cannot read sweep file '" + path.string() +
                              "': cldyn was built without toml++ (Debian libtomlplusplus-dev; scripts/setup)");
}
#endif

// ---------------------------------------------------------------------------------------------
// Runs

RunSpec run_spec(const SweepSpec& spec, std::size_t index) {
  if (index >= spec.runs()) throw std::out_of_range("run index out of range");
  RunSpec r;
  r.index = index;
  r.seed = spec.seeds[index % spec.seeds.size()];
  r.point = index / spec.seeds.size();
  std::size_t rest = r.point;
  r.values.resize(spec.axes.size());
  for (std::size_t a = spec.axes.size(); a-- > 0;) {  // last axis fastest
    const auto n = spec.axes[a].values.size();
    r.values[a] = spec.axes[a].values[rest % n];
    rest /= n;
  }
  return r;
}

std::vector<std::string> RunSpec::command(const SweepSpec& spec) const {
  std::vector<std::string> words = spec.args;
  for (std::size_t a = 0; a < spec.axes.size(); ++a) {
    words.push_back(spec.axes[a].option);
    words.push_back(values[a]);
  }
  words.insert(words.end(), {"--seed", std::to_string(seed), "--quiet"});
  return words;
}

Shard Shard::parse(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) throw std::invalid_argument("shard '" + text + "' is not i/n (e.g. 0/4)");
  Shard s{parse_u64(text.substr(0, slash), "shard"), parse_u64(text.substr(slash + 1), "shard")};
  if (s.count == 0 || s.index >= s.count)
    throw std::invalid_argument("shard '" + text + "': need 0 <= i < n");
  return s;
}

nlohmann::json RunRecord::to_json() const {
  return {{"index", index}, {"seed", seed}, {"values", values}, {"exit_code", exit_code}, {"error", error},
          {"result", result}};
}

RunRecord RunRecord::from_json(const nlohmann::json& j) {
  RunRecord r;
  r.index = j.at("index").get<std::size_t>();
  r.seed = j.at("seed").get<std::uint64_t>();
  r.values = j.at("values").get<std::vector<std::string>>();
  r.exit_code = j.at("exit_code").get<int>();
  r.error = j.at("error").get<std::string>();
  r.result = j.at("result");
  return r;
}

RunRecord execute(const SweepSpec& spec, const RunSpec& run, int threads) {
  std::vector<std::string> words = run.command(spec);
  if (threads > 0) words.insert(words.end(), {"--threads", std::to_string(threads)});
  const experiments::CheckRun out = experiments::run_registered(spec.check, words);
  RunRecord r;
  r.index = run.index;
  r.seed = run.seed;
  r.values = run.values;
  r.exit_code = out.exit_code;
  r.error = trim(out.error);
  std::replace(r.error.begin(), r.error.end(), '\n', ' ');
  r.result = out.result;
  return r;
}

void validate_grid(const SweepSpec& spec) {
  spec.validate();
  for (std::size_t p = 0; p < spec.grid_points(); ++p) {
    const RunSpec run = run_spec(spec, p * spec.seeds.size());
    const experiments::CheckRun out = experiments::run_registered(spec.check, run.command(spec), /*parse_only=*/true);
    if (out.exit_code != 0) {
      std::string why = trim(out.error);
      std::replace(why.begin(), why.end(), '\n', ' ');
      throw std::invalid_argument("grid point " + std::to_string(p) + " is refused by the check: " + why);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The directory

SweepDir::SweepDir(fs::path dir, const SweepSpec& spec, bool resume, const Shard& shard)
    : dir_(std::move(dir)), spec_(spec) {
  spec_.validate();
  const fs::path manifest = dir_ / "sweep.json";
  if (fs::exists(manifest)) {
    const SweepSpec stored = SweepSpec::from_json(read_json(manifest));
    if (stored.to_json() != spec_.to_json())
      throw std::invalid_argument("'" + dir_.string() + "' holds another sweep (its sweep.json: " +
                                  stored.to_json().dump() + "); use a new --out directory");
    bool present = false;
    for (std::size_t i = 0; i < spec_.runs() && !present; ++i) present = shard.owns(i) && has_run(i);
    if (!resume && present)
      throw std::invalid_argument("'" + dir_.string() + "' already holds runs of this sweep; add --resume to complete it");
    return;
  }
  fs::create_directories(dir_ / "runs");
  tools::write_file_atomically(manifest.string(), spec_.to_json().dump(2) + "\n");
}

SweepDir SweepDir::open(const fs::path& dir) {
  const fs::path manifest = dir / "sweep.json";
  if (!fs::exists(manifest)) throw std::invalid_argument("'" + dir.string() + "' is not a sweep directory (no sweep.json)");
  return SweepDir(dir, SweepSpec::from_json(read_json(manifest)));
}

fs::path SweepDir::run_path(std::size_t index) const {
  std::ostringstream name;
  name << "run-" << std::setw(6) << std::setfill('0') << index << ".json";
  return dir_ / "runs" / name.str();
}

bool SweepDir::has_run(std::size_t index) const { return fs::exists(run_path(index)); }

void SweepDir::write_run(const RunRecord& record) const {
  fs::create_directories(dir_ / "runs");
  tools::write_file_atomically(run_path(record.index).string(), record.to_json().dump() + "\n");
}

RunRecord SweepDir::read_run(std::size_t index) const {
  const RunRecord r = RunRecord::from_json(read_json(run_path(index)));
  if (r.index != index) throw std::invalid_argument("'" + run_path(index).string() + "' holds run " + std::to_string(r.index));
  return r;
}

std::vector<std::size_t> SweepDir::missing() const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < spec_.runs(); ++i)
    if (!has_run(i)) out.push_back(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The summary

nlohmann::json summarize(const SweepDir& dir) {
  const SweepSpec& spec = dir.spec();
  nlohmann::json runs = nlohmann::json::array();
  for (std::size_t i = 0; i < spec.runs(); ++i) {
    const RunRecord r = dir.read_run(i);
    nlohmann::json values = nlohmann::json::object();
    for (std::size_t a = 0; a < spec.axes.size(); ++a) values[spec.axes[a].option] = r.values[a];
    nlohmann::json claims = nlohmann::json::array();
    if (r.result.is_object())
      for (const auto& c : r.result.at("claims"))
        claims.push_back({{"id", c.at("id")}, {"measured", c.at("measured")}, {"pass", c.at("pass")}});
    nlohmann::json run = {{"index", i}, {"seed", r.seed}, {"values", values}, {"exit_code", r.exit_code},
                          {"error", r.error}, {"claims", claims}};
    if (!spec.measures.empty()) {
      nlohmann::json measured = nlohmann::json::object();
      for (const Measure& m : spec.measures) {
        const nlohmann::json::json_pointer at(m.pointer);
        // null where the run has no such value (an error, or a pointer that does not resolve)
        measured[m.name] = r.result.is_object() && r.result.contains(at) ? r.result.at(at) : nlohmann::json(nullptr);
      }
      run["measures"] = measured;
    }
    runs.push_back(std::move(run));
  }
  return {{"sweep", spec.to_json()}, {"runs", runs}};
}

std::string write_summary(const SweepDir& dir) {
  const SweepSpec& spec = dir.spec();
  if (const std::vector<std::size_t> gone = dir.missing(); !gone.empty()) {
    std::string first;
    for (std::size_t k = 0; k < std::min<std::size_t>(gone.size(), 5); ++k) first += (k ? ", " : "") + std::to_string(gone[k]);
    throw std::invalid_argument("the sweep in '" + dir.dir().string() + "' is incomplete: " + std::to_string(gone.size()) +
                                " of " + std::to_string(spec.runs()) + " runs missing (first: " + first +
                                "); run it with --resume (or the missing shards) first");
  }
  const nlohmann::json summary = summarize(dir);
  // Claim ids in order of first appearance over the runs.
  std::vector<std::string> ids;
  for (const auto& run : summary["runs"])
    for (const auto& c : run["claims"])
      if (std::find(ids.begin(), ids.end(), c["id"].get<std::string>()) == ids.end()) ids.push_back(c["id"]);

  std::ostringstream csv;  // one row per run
  csv << "index,seed";
  for (const Axis& a : spec.axes) csv << "," << csv_field(a.option.substr(2));
  csv << ",exit_code";
  for (const std::string& id : ids) csv << "," << csv_field(id);
  for (const Measure& m : spec.measures) csv << "," << csv_field(m.name);
  csv << "\n";
  struct Point {
    std::size_t runs = 0, all_pass = 0, errors = 0;
    std::vector<std::size_t> pass;
    std::vector<double> sum;         // per measure: sum of its numeric values
    std::vector<std::size_t> count;  // and how many there were
  };
  const std::size_t nm = spec.measures.size();
  std::vector<Point> points(spec.grid_points(), Point{0, 0, 0, std::vector<std::size_t>(ids.size(), 0),
                                                      std::vector<double>(nm, 0.0), std::vector<std::size_t>(nm, 0)});
  for (const auto& run : summary["runs"]) {
    const RunSpec r = run_spec(spec, run["index"].get<std::size_t>());
    csv << r.index << "," << r.seed;
    for (const std::string& v : r.values) csv << "," << csv_field(v);
    csv << "," << run["exit_code"].get<int>();
    Point& p = points[r.point];
    ++p.runs;
    if (run["exit_code"].get<int>() == 0) ++p.all_pass;
    if (run["exit_code"].get<int>() == 2) ++p.errors;
    for (std::size_t k = 0; k < ids.size(); ++k) {
      std::string cell = "";  // absent: the run has no such row (an error)
      for (const auto& c : run["claims"])
        if (c["id"] == ids[k]) {
          cell = c["pass"].get<bool>() ? "1" : "0";
          if (c["pass"].get<bool>()) ++p.pass[k];
        }
      csv << "," << cell;
    }
    for (std::size_t k = 0; k < nm; ++k) {
      const nlohmann::json& v = run["measures"][spec.measures[k].name];
      if (v.is_number()) {
        csv << "," << number(v.get<double>());
        p.sum[k] += v.get<double>();
        ++p.count[k];
      } else {
        csv << "," << (v.is_null() ? std::string() : csv_field(v.is_string() ? v.get<std::string>() : v.dump()));
      }
    }
    csv << "\n";
  }
  // One row per grid point: pass fractions, and the figure of them.
  std::vector<std::string> header{"point"};
  for (const Axis& a : spec.axes) header.push_back(a.option.substr(2));
  header.insert(header.end(), {"runs", "errors", "all_claims_pass"});
  header.insert(header.end(), ids.begin(), ids.end());
  for (const Measure& m : spec.measures) header.push_back(m.name + "_mean");
  std::vector<std::vector<std::string>> rows;
  for (std::size_t pt = 0; pt < points.size(); ++pt) {
    const RunSpec r = run_spec(spec, pt * spec.seeds.size());
    const Point& p = points[pt];
    const double n = static_cast<double>(p.runs);
    std::vector<std::string> row{std::to_string(pt)};
    row.insert(row.end(), r.values.begin(), r.values.end());
    row.insert(row.end(), {std::to_string(p.runs), std::to_string(p.errors), number(static_cast<double>(p.all_pass) / n)});
    for (std::size_t k = 0; k < ids.size(); ++k) row.push_back(number(static_cast<double>(p.pass[k]) / n));
    for (std::size_t k = 0; k < nm; ++k)  // over the seeds whose run has a number there
      row.push_back(p.count[k] == 0 ? std::string() : number(p.sum[k] / static_cast<double>(p.count[k])));
    rows.push_back(std::move(row));
  }
  const std::string base = dir.dir().string() + "/";
  tools::write_file_atomically(base + "summary.json", summary.dump(2) + "\n");
  tools::write_file_atomically(base + "summary.csv", csv.str());
  const std::size_t first = 4 + spec.axes.size();  // all_claims_pass; gnuplot columns are 1-based
  std::ostringstream gp;
  gp << "set key outside right\n"
     << "set title '" << program_of(spec.check) << ": fraction of " << spec.seeds.size() << " seeds passing, per grid point'\n"
     << "set xlabel 'grid point" << (spec.axes.empty() ? "" : " (" + spec.axes.front().option + " slowest)") << "'\n"
     << "set ylabel 'fraction of seeds'\nset yrange [-0.05:1.05]\nset grid\n"
     << "plot for [c=" << first << ":" << first + ids.size() << "] 'grid.csv' using 1:c with linespoints pt 7 lw 2";
  const std::string what = "summary.json, summary.csv; " + experiments::write_csv_figure(dir.dir().string(), "grid", header, rows, gp.str());
  return what;
}

}  // namespace cldyn::sweep
