// libFuzzer target: tools::parse_csv on arbitrary bytes. Any outcome but a non-empty matrix of
// finite values or a one-line std::runtime_error naming the file is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const Eigen::MatrixXd m = cldyn::tools::parse_csv(text, "fuzz.csv");
    if (m.size() == 0 || !m.allFinite()) std::abort();
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    if (what.rfind("CSV file 'fuzz.csv': ", 0) != 0 || what.find('\n') != std::string::npos)
      std::abort();
  }
  return 0;
}
