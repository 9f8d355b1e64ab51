// libFuzzer target: the check executables' option parser (experiments/common/check.hpp) reading
// arbitrary bytes as a --config file. A usage error (exit code 2) is fine; a crash, an escaping
// exception or a sanitizer report is a finding.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/check.hpp"

namespace {
// Check::parse's messages, kept out of the fuzzer's output. Never destroyed: std::cerr keeps
// pointing at it until the process exits.
std::ostringstream* const sink = new std::ostringstream;

const std::string& scratch_path() {
  static const std::string path = "/tmp/cldyn_fuzz_config_" + std::to_string(::getpid()) + ".toml";
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Check::parse prints its usage errors; keep the fuzzer's output readable.
  std::cerr.rdbuf(sink->rdbuf());
  std::cout.rdbuf(sink->rdbuf());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Options of the kinds the real checks add: integers, doubles, strings, vectors, flags.
  cldyn::experiments::Check check("fuzz", "fuzz target");
  int n = 10;
  double tau = 0.5;
  std::string loss = "infonce";
  std::vector<double> probabilities;
  bool linear = false;
  check.app().add_option("--n", n)->check(CLI::Range(2, 100000));
  check.app().add_option("--tau", tau);
  check.app().add_option("--loss", loss)->check(CLI::IsMember({"quadratic", "infonce"}));
  check.app().add_option("--probabilities", probabilities);
  check.app().add_flag("--linear", linear);
  std::string program = "check_fuzz", flag = "--config", path = scratch_path();
  std::vector<char*> argv = {program.data(), flag.data(), path.data()};
  const int code = check.parse(static_cast<int>(argv.size()), argv.data());
  if (code != -1 && code != 0 && code != 2) std::abort();
  sink->str("");
  return 0;
}
