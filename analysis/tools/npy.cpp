#include "npy.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "input_file.hpp"

namespace cldyn::tools {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLength = 6;

/// What is wrong with a file, without the file name (load_npy adds it).
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};


// ---- header dictionary: a Python literal such as
//      {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  Header parse() {
    Header h;
    bool seen_descr = false, seen_order = false, seen_shape = false;
    skip_space();
    expect('{');
    for (;;) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (seen_descr) fail("duplicate key 'descr'");
        seen_descr = true;
        if (peek() == '[')
          throw FormatError("unsupported dtype: a structured (record) dtype; need '<f4' or '<f8'");
        h.descr = string_literal();
      } else if (key == "fortran_order") {
        if (seen_order) fail("duplicate key 'fortran_order'");
        seen_order = true;
        h.fortran_order = boolean();
      } else if (key == "shape") {
        if (seen_shape) fail("duplicate key 'shape'");
        seen_shape = true;
        h.shape = tuple();
      } else {
        fail("unexpected key '" + printable(key) + "'");
      }
      if (!comma_or('}', "expected ',' or '}'")) break;
    }
    ++pos_;  // '}'
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the dictionary");
    if (!seen_descr) fail("missing key 'descr'");
    if (!seen_order) fail("missing key 'fortran_order'");
    if (!seen_shape) fail("missing key 'shape'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("corrupt header dictionary (" + what + " at offset " +
                      std::to_string(pos_) + " of \"" + printable(s_, 120) + "\")");
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    // The format pads the header with spaces and ends it with '\n'.
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r'))
      ++pos_;
  }
  /// After an item of a list that `close` ends: true past a ',' (another item may follow), false
  /// at `close` (left for the caller), else a failure saying what was `expected`.
  bool comma_or(char close, const char* expected) {
    skip_space();
    if (peek() == ',') {
      ++pos_;
      return true;
    }
    if (peek() != close) fail(expected);
    return false;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a quoted string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\') fail("escape sequences are not supported");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("'fortran_order' must be True or False");
  }
  std::vector<std::uint64_t> tuple() {
    std::vector<std::uint64_t> out;
    expect('(');
    for (;;) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("expected a nonnegative integer in 'shape'");
      std::uint64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        const auto digit = static_cast<std::uint64_t>(peek() - '0');
        // 2^62 bounds every dimension well below what Eigen::Index and byte counts can hold.
        if (v > ((std::uint64_t{1} << 62) - digit) / 10) fail("dimension too large in 'shape'");
        v = 10 * v + digit;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal, written by old NumPy versions
      out.push_back(v);
      if (!comma_or(')', "expected ',' or ')' in 'shape'")) break;
    }
    ++pos_;  // ')'
    return out;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Eigen::MatrixXd read_npy(const std::string& path) {
  std::ifstream in = detail::open_input<FormatError>(path);
  const std::streamoff file_size = detail::input_size<FormatError>(in);
  if (file_size == 0) throw FormatError("file is empty (0 bytes)");

  auto read_exactly = [&](void* dst, std::size_t n, const char* what) {
    in.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (static_cast<std::size_t>(in.gcount()) != n)
      throw FormatError(std::string("truncated ") + what + " (file has " +
                        std::to_string(file_size) + " bytes)");
  };

  unsigned char prefix[8];
  if (file_size < 8) {
    in.read(reinterpret_cast<char*>(prefix), file_size);
    if (std::memcmp(prefix, kMagic, static_cast<std::size_t>(file_size)) != 0)
      throw FormatError("not an NPY file (bad magic string)");
    throw FormatError("truncated preamble (file has " + std::to_string(file_size) + " bytes)");
  }
  read_exactly(prefix, 8, "preamble");
  if (std::memcmp(prefix, kMagic, kMagicLength) != 0)
    throw FormatError("not an NPY file (bad magic string \"" +
                      printable(std::string_view(reinterpret_cast<char*>(prefix), 6)) + "\")");
  const int major = prefix[6], minor = prefix[7];
  if (major < 1 || major > 3 || minor != 0)
    throw FormatError("unsupported NPY format version " + std::to_string(major) + "." +
                      std::to_string(minor) + " (need 1.0, 2.0 or 3.0)");
  const int length_bytes = major == 1 ? 2 : 4;
  unsigned char length_field[4];
  read_exactly(length_field, static_cast<std::size_t>(length_bytes), "header length");
  const std::uint64_t header_length = little_endian(length_field, length_bytes);
  const std::uint64_t data_offset = 8 + static_cast<std::uint64_t>(length_bytes) + header_length;
  if (data_offset > static_cast<std::uint64_t>(file_size))
    throw FormatError("truncated header (header length " + std::to_string(header_length) +
                      " exceeds the " + std::to_string(file_size) + "-byte file)");
  std::string header_text(header_length, '\0');
  read_exactly(header_text.data(), header_length, "header");
  // Versions 1.0/2.0 use latin-1 and 3.0 UTF-8; a valid dictionary is ASCII in all three, and
  // the parser rejects anything that is not part of one.
  const Header header = HeaderParser(header_text).parse();

  int item_size = 0;
  if (header.descr == "<f8") {
    item_size = 8;
  } else if (header.descr == "<f4") {
    item_size = 4;
  } else {
    throw FormatError("unsupported dtype '" + printable(header.descr) +
                      "' (need little-endian float32 '<f4' or float64 '<f8')");
  }
  if (header.shape.empty())
    throw FormatError("a 0-d (scalar) array; need a 1-D or 2-D array");
  if (header.shape.size() > 2)
    throw FormatError("rank " + std::to_string(header.shape.size()) + " array of shape " +
                      shape_text(header.shape) + "; need a 1-D or 2-D array");
  const std::uint64_t rows = header.shape[0];
  const std::uint64_t cols = header.shape.size() == 2 ? header.shape[1] : 1;
  // rows, cols < 2^62: guard the products against overflow before trusting them.
  const std::uint64_t limit = std::uint64_t{1} << 62;
  if (cols != 0 && rows > limit / cols / static_cast<std::uint64_t>(item_size))
    throw FormatError("shape " + shape_text(header.shape) + " is too large");
  const std::uint64_t count = rows * cols;
  const std::uint64_t data_bytes = count * static_cast<std::uint64_t>(item_size);
  const std::uint64_t available = static_cast<std::uint64_t>(file_size) - data_offset;
  const std::string described = shape_text(header.shape) + " " + header.descr + " needs " +
                                std::to_string(data_bytes) + " data bytes";
  if (available < data_bytes)
    throw FormatError("truncated data: shape " + described + " but only " +
                      std::to_string(available) + " follow the header");
  if (available > data_bytes)
    throw FormatError("shape " + described + " but " + std::to_string(available) +
                      " follow the header (trailing bytes)");

  std::vector<unsigned char> data(static_cast<std::size_t>(data_bytes));
  read_exactly(data.data(), data.size(), "data");

  const auto r = static_cast<Eigen::Index>(rows), c = static_cast<Eigen::Index>(cols);
  Eigen::MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < r; ++i) {
    for (Eigen::Index j = 0; j < c; ++j) {
      const std::uint64_t flat = header.fortran_order
                                     ? static_cast<std::uint64_t>(i + j * r)
                                     : static_cast<std::uint64_t>(i * c + j);
      const unsigned char* p = data.data() + flat * static_cast<std::uint64_t>(item_size);
      const double v =
          item_size == 8
              ? std::bit_cast<double>(little_endian(p, 8))
              : static_cast<double>(
                    std::bit_cast<float>(static_cast<std::uint32_t>(little_endian(p, 4))));
      if (!std::isfinite(v)) {
        std::ostringstream msg;
        msg << "non-finite value " << v << " at index ";
        if (header.shape.size() == 1)
          msg << "(" << i << ",)";
        else
          msg << "(" << i << ", " << j << ")";
        throw FormatError(msg.str());
      }
      m(i, j) = v;
    }
  }
  return m;
}

}  // namespace

Eigen::MatrixXd load_npy(const std::string& path) {
  return detail::with_file_name<FormatError>("NPY", path, [&] { return read_npy(path); });
}

namespace {

/// A name for the temporary file beside `path` (same folder, so the final rename is atomic).
std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
}

/// Why nothing can be created at `path` because of its folder, or "" if the folder is there.
std::string folder_problem(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) return "";  // the current folder
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  const std::string name = dir.string();
  // (std::string's append, not "'" + name: GCC 12 warns falsely (-Wrestrict) on a one-character
  // literal prepended to a string.)
  if (!fs::exists(st)) return std::string("folder '").append(name).append("' does not exist");
  if (!fs::is_directory(st)) return std::string("'").append(name).append("' is not a folder");
  return "";
}

/// Magic, version 1.0, header length and the dictionary of a float64 C-order rows × cols
/// array, padded with spaces so that the data starts at a multiple of 64 bytes, as NumPy does.
std::string npy_preamble(const std::vector<Eigen::Index>& shape) {
  std::string dims;
  for (const Eigen::Index n : shape) dims += std::to_string(n) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(n,)" for rank 1, "(a, b)" otherwise
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = kMagicLength + 2 + 2 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes(kMagic, kMagicLength);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  return bytes + header;
}

}  // namespace

void save_npy(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& m) {
  NpyRowWriter writer(path, m.rows(), m.cols());
  writer.append(m);
  writer.commit();
}

NpyRowWriter::NpyRowWriter(std::string path, Eigen::Index rows, Eigen::Index cols)
    : NpyRowWriter(std::move(path), rows, cols, {rows, cols}) {}

NpyRowWriter::NpyRowWriter(std::string path, Eigen::Index rows, Eigen::Index cols,
                           const std::vector<Eigen::Index>& shape)
    : path_(std::move(path)), rows_(rows), cols_(cols) {
  if (rows < 0 || cols < 0)
    throw std::invalid_argument("NpyRowWriter: shape = (" + std::to_string(rows) + ", " +
                                std::to_string(cols) + ") violates rows >= 0 and cols >= 0");
  Eigen::Index count = 1;
  for (const Eigen::Index n : shape) count = n < 0 ? -1 : count * n;
  if (shape.empty() || count != rows * cols || (cols > 0 && shape.back() != cols))
    throw std::invalid_argument("NpyRowWriter: file shape of " + std::to_string(shape.size()) +
                                " dimensions does not hold " + std::to_string(rows) + " rows of " +
                                std::to_string(cols) + " values (need nonnegative dimensions, "
                                "the last = cols, product = rows * cols)");
  if (const std::string problem = folder_problem(path_); !problem.empty()) fail(problem);
  tmp_ = temporary_name(path_);
  file_ = std::fopen(tmp_.c_str(), "wb");
  if (file_ == nullptr)
    fail(std::string("cannot create a temporary file (") + std::strerror(errno) + ")");
  const std::string preamble = npy_preamble(shape);
  if (std::fwrite(preamble.data(), 1, preamble.size(), file_) != preamble.size())
    fail("write error");
}

NpyRowWriter::~NpyRowWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_ && !tmp_.empty()) {
    std::error_code ignored;
    fs::remove(tmp_, ignored);
  }
}

void NpyRowWriter::fail(const std::string& why) {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  if (!tmp_.empty()) {
    std::error_code ignored;
    fs::remove(tmp_, ignored);
  }
  throw std::runtime_error("cannot write '" + path_ + "': " + why);
}

void NpyRowWriter::append(const Eigen::Ref<const Eigen::MatrixXd>& block) {
  if (committed_ || file_ == nullptr)
    throw std::runtime_error("cannot write '" + path_ + "': the writer is already " +
                             (committed_ ? "committed" : "closed by an earlier error"));
  if (block.cols() != cols_)
    throw std::invalid_argument(
        "NpyRowWriter::append: columns of the block = " + std::to_string(block.cols()) +
        " violates columns == " + std::to_string(cols_) + " (file '" + path_ + "')");
  if (block.rows() > rows_ - written_)
    throw std::invalid_argument(
        "NpyRowWriter::append: rows of the block = " + std::to_string(block.rows()) +
        " violates rows <= " + std::to_string(rows_ - written_) + " (the rows still missing of " +
        std::to_string(rows_) + ", file '" + path_ + "')");
  // Little-endian bytes, row after row, about 1 MiB at a time.
  const Eigen::Index chunk =
      std::max<Eigen::Index>(1, (Eigen::Index{1} << 17) / std::max<Eigen::Index>(cols_, 1));
  std::string bytes;
  for (Eigen::Index i0 = 0; i0 < block.rows(); i0 += chunk) {
    const Eigen::Index rows = std::min(chunk, block.rows() - i0);
    bytes.clear();
    bytes.reserve(static_cast<std::size_t>(rows * cols_) * 8);
    for (Eigen::Index i = i0; i < i0 + rows; ++i) {
      for (Eigen::Index j = 0; j < cols_; ++j) {
        std::uint64_t u = std::bit_cast<std::uint64_t>(block(i, j));
        for (int b = 0; b < 8; ++b, u >>= 8) bytes += static_cast<char>(u & 0xff);
      }
    }
    if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
      fail(std::string("write error (") + std::strerror(errno) + ")");
  }
  written_ += block.rows();
}

void NpyRowWriter::commit() {
  if (committed_ || file_ == nullptr)
    throw std::runtime_error("cannot write '" + path_ + "': the writer is already " +
                             (committed_ ? "committed" : "closed by an earlier error"));
  if (written_ != rows_)
    throw std::runtime_error("cannot write '" + path_ + "': " + std::to_string(written_) +
                             " rows were appended but the array has " + std::to_string(rows_));
  const bool flushed = std::fflush(file_) == 0;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed) fail("write error");
  if (!closed) fail("error closing the temporary file");
  std::error_code ec;
  fs::rename(tmp_, path_, ec);
  if (ec) fail("cannot rename the temporary file (" + ec.message() + ")");
  committed_ = true;
}

void write_file_atomically(const std::string& path, std::string_view contents) {
  const std::string tmp = temporary_name(path);
  auto fail = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw std::runtime_error("cannot write '" + path + "': " + why);
  };
  if (const std::string problem = folder_problem(path); !problem.empty()) fail(problem);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(std::string("cannot create a temporary file (") + std::strerror(errno) + ")");
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) fail("write error");
    out.close();
    if (out.fail()) fail("error closing the temporary file");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) fail("cannot rename the temporary file (" + ec.message() + ")");
}

std::string printable(std::string_view s, std::size_t max_length) {
  std::string out;
  for (char c : s.substr(0, max_length)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    }
  }
  if (s.size() > max_length) out += "...";
  return out;
}

}  // namespace cldyn::tools
