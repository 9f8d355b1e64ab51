#pragma once
// Opening an input file, shared by the readers (csv.cpp, idx.cpp, npy.cpp): the same checks with
// the same messages, thrown as the reader's own error type and without the file name (the
// reader's public function adds it, with_file_name). Private to cldyn::io; not installed.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ios>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace cldyn::tools::detail {

/// `path` opened for binary reading. Throws Error "cannot open: …" when there is no such file,
/// when it is a directory, or with the system's reason when it cannot be opened.
template <class Error>
std::ifstream open_input(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) throw Error("cannot open: no such file");
  if (std::filesystem::is_directory(st)) throw Error("cannot open: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(std::string("cannot open: ") + std::strerror(errno));
  return in;
}

/// The size in bytes of a file open_input opened, leaving it positioned at its start.
template <class Error>
std::streamoff input_size(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0 || !in) throw Error("cannot determine the file size");
  return size;
}

/// read() with its errors given the file's name: "<kind> file '<path>': <what>" for an Error, a
/// failed allocation ("not enough memory for its data") and a stream failure ("read error (…)").
template <class Error, class Read>
auto with_file_name(const char* kind, const std::string& path, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const Error& e) {
    throw std::runtime_error(kind + (" file '" + path + "': ") + e.what());
  } catch (const std::bad_alloc&) {
    throw std::runtime_error(kind + (" file '" + path + "': not enough memory for its data"));
  } catch (const std::ios_base::failure& e) {
    throw std::runtime_error(kind + (" file '" + path + "': read error (") + e.what() + ")");
  }
}

}  // namespace cldyn::tools::detail
