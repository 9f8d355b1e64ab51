// libFuzzer target: tools::load_idx_images and tools::load_idx_labels on arbitrary bytes (plain
// or, when they start with the gzip magic, inflated first). Any outcome but images of values in
// [0, 1] / labels in [0, 255] or a std::runtime_error (a crash, another exception, a sanitizer
// report, an allocation beyond -rss_limit_mb) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "fuzz_input.hpp"
#include "idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = cldyn::fuzz::input_file("idx", data, size);
  try {
    const cldyn::tools::IdxImages im = cldyn::tools::load_idx_images(path);
    if (im.pixels.rows() < 1 || im.pixels.cols() != im.rows * im.cols) std::abort();
    if (im.pixels.minCoeff() < 0.0 || im.pixels.maxCoeff() > 1.0) std::abort();
  } catch (const std::runtime_error&) {
    // a rejected file: fine
  }
  try {
    for (const int label : cldyn::tools::load_idx_labels(path))
      if (label < 0 || label > 255) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
