// libFuzzer target: tools::load_npy on arbitrary bytes. Any outcome but a matrix of finite
// values or a std::runtime_error (a crash, another exception, a sanitizer report, an
// allocation beyond -rss_limit_mb) is a finding.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "npy.hpp"

namespace {
const std::string& scratch_path() {
  static const std::string path = "/tmp/cldyn_fuzz_npy_" + std::to_string(::getpid()) + ".npy";
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const Eigen::MatrixXd m = cldyn::tools::load_npy(scratch_path());
    if (!m.allFinite()) std::abort();  // load_npy promises finite values
  } catch (const std::runtime_error&) {
    // a rejected file: fine
  }
  return 0;
}
