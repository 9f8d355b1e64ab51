#pragma once
// What the file-reading fuzz targets (fuzz_idx, fuzz_npy) share: the input bytes as a file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

namespace cldyn::fuzz {

/// Writes the fuzzer's input to this process's scratch file /tmp/cldyn_fuzz_<ext>_<pid>.<ext>
/// (overwritten by every input; `ext` is the same for every call of one target) and returns its
/// path.
inline const std::string& input_file(const char* ext, const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      std::string("/tmp/cldyn_fuzz_") + ext + "_" + std::to_string(::getpid()) + "." + ext;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace cldyn::fuzz
