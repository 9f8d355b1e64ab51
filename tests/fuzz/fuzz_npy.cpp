// libFuzzer target: tools::load_npy on arbitrary bytes. Any outcome but a matrix of finite
// values or a std::runtime_error (a crash, another exception, a sanitizer report, an
// allocation beyond -rss_limit_mb) is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fuzz_input.hpp"
#include "npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const Eigen::MatrixXd m = cldyn::tools::load_npy(cldyn::fuzz::input_file("npy", data, size));
    if (!m.allFinite()) std::abort();  // load_npy promises finite values
  } catch (const std::runtime_error&) {
    // a rejected file: fine
  }
  return 0;
}
