// check_result_compare — compares a check's JSON result with a golden (recorded) one, as the
// regression test of a refactoring: "the same result outside `timing`".
//
//   check_result_compare GOLDEN RESULT [MACHINE_FILE]
//   check_result_compare --machine        (prints the line a MACHINE_FILE holds for this build)
//   check_result_compare --claim-ids GOLDEN RESULT
//
// --claim-ids compares only the ids of the claim rows, in order, on any machine: a claim the
// golden run declared must appear in every run (PASS or FAIL), never vanish.
//
// Ignored: the top-level "timing" object, "git_hash" (the commit differs by construction) and, in a top-level "runs" array, each entry's
// "seconds" (training wall times). Numbers agree when |a − b| <= 1e-12 · max(|a|, |b|) (integers
// exactly); strings, booleans, nulls, keys and array lengths must be identical. Exit status 0
// when the two agree, 1 with every difference listed (at most 20) when they do not, 2 on a
// usage or file error.
//
// MACHINE_FILE names the machine the goldens were recorded on (one line: the instruction sets
// this tool was compiled for, and the CPU model). Results of training runs are exact only on the
// same instruction set and CPU model (vector width, FMA and the cache sizes Eigen blocks its
// products by change the last bits, and SGD amplifies them), so on another machine the
// comparison is skipped: exit status 77 with a line saying why (CTest SKIP_RETURN_CODE).
#include <cmath>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

constexpr double kRelative = 1e-12;
constexpr int kMaxListed = 20;

std::string compiled_isa() {
  std::string isa = "x86-64";
#ifdef __SSE4_2__
  isa += "+sse4.2";
#endif
#ifdef __AVX__
  isa += "+avx";
#endif
#ifdef __AVX2__
  isa += "+avx2";
#endif
#ifdef __FMA__
  isa += "+fma";
#endif
#ifdef __AVX512F__
  isa += "+avx512f";
#endif
  return isa;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      std::string model = colon == std::string::npos ? line : line.substr(colon + 1);
      while (!model.empty() && model.front() == ' ') model.erase(model.begin());
      return model;
    }
  return "unknown CPU";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open '" + path + "'");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error("'" + path + "' is not JSON: " + e.what());
  }
}

void strip_timings(json& j) {
  if (!j.is_object()) return;
  j.erase("timing");
  j.erase("git_hash");
  if (auto runs = j.find("runs"); runs != j.end() && runs->is_array())
    for (json& run : *runs)
      if (run.is_object()) run.erase("seconds");
}

void compare(const json& a, const json& b, const std::string& where, std::vector<std::string>& diffs) {
  auto differ = [&](const std::string& what) { diffs.push_back((where.empty() ? "/" : where) + ": " + what); };
  if (a.is_number() && b.is_number()) {
    if (a.is_number_float() || b.is_number_float()) {
      const double x = a.get<double>(), y = b.get<double>();
      if (x == y || (std::isnan(x) && std::isnan(y))) return;
      if (!(std::abs(x - y) <= kRelative * std::max(std::abs(x), std::abs(y))))
        differ("golden " + a.dump() + ", now " + b.dump());
    } else if (a != b) {
      differ("golden " + a.dump() + ", now " + b.dump());
    }
    return;
  }
  if (a.type() != b.type()) {
    differ(std::string("golden is ") + a.type_name() + ", now " + b.type_name());
    return;
  }
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      const auto other = b.find(it.key());
      if (other == b.end())
        differ("key '" + it.key() + "' is gone");
      else
        compare(it.value(), *other, where + "/" + it.key(), diffs);
    }
    for (auto it = b.begin(); it != b.end(); ++it)
      if (!a.contains(it.key())) differ("new key '" + it.key() + "'");
  } else if (a.is_array()) {
    if (a.size() != b.size()) {
      differ("golden has " + std::to_string(a.size()) + " entries, now " + std::to_string(b.size()));
      return;
    }
    for (std::size_t i = 0; i < a.size(); ++i) compare(a[i], b[i], where + "/" + std::to_string(i), diffs);
  } else if (a != b) {
    differ("golden " + a.dump() + ", now " + b.dump());
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--machine") {
    std::cout << compiled_isa() << " on " << cpu_model() << "\n";
    return 0;
  }
  if (argc == 4 && std::string(argv[1]) == "--claim-ids") {
    try {
      auto ids = [](const json& j) {
        std::vector<std::string> out;
        for (const json& c : j.at("claims")) out.push_back(c.at("id").get<std::string>());
        return out;
      };
      const std::vector<std::string> want = ids(read_json(argv[2])), got = ids(read_json(argv[3]));
      if (want == got) {
        std::cout << want.size() << " claim ids, the same as the golden's\n";
        return 0;
      }
      std::cout << "claim ids differ from the golden's:\n  golden:";
      for (const auto& id : want) std::cout << " " << id;
      std::cout << "\n  now:   ";
      for (const auto& id : got) std::cout << " " << id;
      std::cout << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "check_result_compare: error: " << e.what() << "\n";
      return 2;
    }
  }
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: check_result_compare GOLDEN RESULT [MACHINE_FILE] | --claim-ids GOLDEN RESULT | --machine\n";
    return 2;
  }
  try {
    const std::string machine = compiled_isa() + " on " + cpu_model();
    if (argc == 4) {
      std::ifstream in(argv[3]);
      std::string recorded;
      if (!in || !std::getline(in, recorded)) throw std::runtime_error(std::string("cannot read '") + argv[3] + "'");
      if (recorded != machine) {
        std::cout << "skipped: the goldens were recorded on '" << recorded << "', this build is '" << machine
                  << "' (results of training runs are exact only on the same instruction set and CPU)\n";
        return 77;
      }
    }
    json golden = read_json(argv[1]), result = read_json(argv[2]);
    strip_timings(golden);
    strip_timings(result);
    std::vector<std::string> diffs;
    compare(golden, result, "", diffs);
    if (diffs.empty()) {
      std::cout << "identical to the golden outside timing (numbers to " << kRelative << " relative)\n";
      return 0;
    }
    std::cout << diffs.size() << " difference(s) from the golden " << argv[1] << ":\n";
    for (std::size_t i = 0; i < diffs.size() && i < kMaxListed; ++i) std::cout << "  " << diffs[i] << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "check_result_compare: error: " << e.what() << "\n";
    return 2;
  }
}
