#include "idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "input_file.hpp"

namespace cldyn::tools {
namespace {

namespace fs = std::filesystem;

/// What is wrong with a file, without the file name (the public functions add it).
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr unsigned char kUnsignedByte = 0x08;
/// Largest data size accepted (bytes, 2^40): far above any real IDX file, and keeps every
/// product of dimensions below what size_t and Eigen::Index hold.
constexpr std::uint64_t kMaxDataBytes = std::uint64_t{1} << 40;

std::string hex(std::uint64_t v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

std::string type_name(unsigned char type) {
  switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::string read_file_bytes(const std::string& path) {
  std::ifstream in = detail::open_input<FormatError>(path);
  const std::streamoff size = detail::input_size<FormatError>(in);
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw FormatError("read error (file shorter than its size)");
  if (bytes.empty()) throw FormatError("file is empty (0 bytes)");
  return bytes;
}

bool is_gzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

/// Inflates a gzip stream. Stops with an error as soon as the output exceeds `limit` bytes
/// (a bound the caller derives from the IDX header, so a small file never inflates into an
/// unbounded allocation); `limit` is re-read after every chunk through `update_limit`.
template <class UpdateLimit>
std::string gunzip(std::string_view in, UpdateLimit&& update_limit) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer (not zlib, not raw deflate).
  if (inflateInit2(&zs, 15 + 16) != Z_OK) throw FormatError("zlib could not be initialised");
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&zs};
  std::string out;
  std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
  constexpr std::size_t kChunk = std::size_t{1} << 16;
  std::size_t consumed = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0) {
      const std::size_t n = std::min<std::size_t>(in.size() - consumed, std::numeric_limits<uInt>::max());
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + consumed));
      zs.avail_in = static_cast<uInt>(n);
      consumed += n;
    }
    const std::size_t before = out.size();
    out.resize(before + kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + before);
    zs.avail_out = static_cast<uInt>(kChunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.resize(before + (kChunk - zs.avail_out));
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
      throw FormatError(std::string("corrupt gzip stream (zlib: ") + (zs.msg ? zs.msg : "data error") + ")");
    if (rc == Z_BUF_ERROR && zs.avail_in == 0 && consumed == in.size())
      throw FormatError("truncated gzip stream (ends after " + std::to_string(out.size()) +
                        " inflated bytes)");
    limit = update_limit(std::string_view(out), limit);
    if (out.size() > limit)
      throw FormatError("the inflated data is longer than the header declares (more than " +
                        std::to_string(limit) + " bytes)");
  }
  if (zs.avail_in != 0 || consumed != in.size())
    throw FormatError(std::to_string(in.size() - consumed + zs.avail_in) +
                      " bytes after the end of the gzip stream");
  return out;
}

std::uint32_t big_endian32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

/// Header length and total length (header + data) the first bytes declare, once they hold the
/// whole header; 0 while the header is incomplete. Validates the magic, type and rank.
struct Layout {
  std::vector<std::uint64_t> dims;
  std::uint64_t header_bytes = 0, data_bytes = 0;
};

std::string dims_text(const std::vector<std::uint64_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return s;
}

/// Parses the header from `bytes` (which may hold only part of the file: returns false while the
/// header is incomplete). Throws FormatError for a bad magic, type or rank.
bool parse_header(std::string_view bytes, int want_rank, Layout& layout) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t have = bytes.size();
  const std::string expected = hex(0x800u + static_cast<unsigned>(want_rank), 8);
  if ((have >= 1 && p[0] != 0) || (have >= 2 && p[1] != 0)) {
    const std::size_t n = std::min<std::size_t>(have, 4);
    std::uint64_t m = 0;
    for (std::size_t i = 0; i < n; ++i) m = (m << 8) | p[i];
    throw FormatError("not an IDX file (bad magic " + hex(m, static_cast<int>(2 * n)) +
                      ": the first two bytes must be 0; expected " + expected + ")");
  }
  if (have < 4) return false;
  if (p[2] != kUnsignedByte)
    throw FormatError("data type " + hex(p[2], 2) + " (" + type_name(p[2]) +
                      "); need 0x08 (unsigned byte), magic " + expected);
  const int rank = p[3];
  if (rank != want_rank)
    throw FormatError(std::to_string(rank) + "-D data (magic " + hex(big_endian32(p), 8) + "); need " +
                      std::to_string(want_rank) + "-D " + (want_rank == 3 ? "images" : "labels") +
                      " (magic " + expected + ")");
  const std::uint64_t header = 4 + 4 * static_cast<std::uint64_t>(rank);
  if (have < header) return false;
  layout.dims.clear();
  std::uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    const std::uint64_t dim = big_endian32(p + 4 + 4 * i);
    layout.dims.push_back(dim);
    if (dim == 0) continue;
    if (total > kMaxDataBytes / dim) total = kMaxDataBytes + 1;
    else total *= dim;
  }
  for (std::size_t i = 0; i < layout.dims.size(); ++i)
    if (layout.dims[i] == 0)
      throw FormatError("dimensions " + dims_text(layout.dims) + ": dimension " + std::to_string(i + 1) +
                        " is 0 (an empty data set)");
  if (total > kMaxDataBytes)
    throw FormatError("dimensions " + dims_text(layout.dims) + " are too large (more than 2^40 bytes)");
  layout.header_bytes = header;
  layout.data_bytes = total;
  return true;
}

/// The file's IDX bytes (inflated if gzipped) and its layout, checked against the data size.
struct Idx {
  std::string bytes;
  Layout layout;
  const unsigned char* data() const {
    return reinterpret_cast<const unsigned char*>(bytes.data()) + layout.header_bytes;
  }
};

Idx read_idx(const std::string& path, int rank) {
  Idx idx;
  std::string raw = read_file_bytes(path);
  const bool gz = is_gzip(raw);
  if (gz) {
    idx.bytes = gunzip(raw, [&](std::string_view out, std::uint64_t limit) {
      if (limit != std::numeric_limits<std::uint64_t>::max()) return limit;
      Layout l;
      if (!parse_header(out, rank, l)) return limit;
      return l.header_bytes + l.data_bytes;
    });
    raw.clear();
    raw.shrink_to_fit();
    if (idx.bytes.empty()) throw FormatError("the gzip stream holds no data (0 bytes)");
  } else {
    idx.bytes = std::move(raw);
  }
  const std::string what = gz ? "inflated data has " : "file has ";
  if (!parse_header(idx.bytes, rank, idx.layout))
    throw FormatError("truncated header (" + what + std::to_string(idx.bytes.size()) + " bytes; a " +
                      std::to_string(rank) + "-D header needs " + std::to_string(4 + 4 * rank) + ")");
  const std::uint64_t want = idx.layout.header_bytes + idx.layout.data_bytes;
  if (idx.bytes.size() < want)
    throw FormatError("truncated data: dimensions " + dims_text(idx.layout.dims) + " need " +
                      std::to_string(idx.layout.data_bytes) + " data bytes but the " +
                      (gz ? "inflated data has " : "file has ") +
                      std::to_string(idx.bytes.size() - idx.layout.header_bytes));
  if (idx.bytes.size() > want)
    throw FormatError("dimensions " + dims_text(idx.layout.dims) + " but " +
                      std::to_string(idx.bytes.size() - want) + " bytes follow the data");
  return idx;
}

Eigen::Index kept(std::uint64_t count, Eigen::Index max_count) {
  const auto n = static_cast<Eigen::Index>(count);
  return max_count < 0 ? n : std::min(n, max_count);
}

template <class F>
auto with_name(const std::string& path, F&& f) -> decltype(f()) {
  return detail::with_file_name<FormatError>("IDX", path, std::forward<F>(f));
}

}  // namespace

namespace {

/// load_idx_images / load_idx_labels, also returning the file's own item count.
IdxImages images_counted(const std::string& path, Eigen::Index max_count, Eigen::Index& count) {
  return with_name(path, [&] {
    const Idx idx = read_idx(path, 3);
    IdxImages out;
    count = static_cast<Eigen::Index>(idx.layout.dims[0]);
    out.rows = static_cast<Eigen::Index>(idx.layout.dims[1]);
    out.cols = static_cast<Eigen::Index>(idx.layout.dims[2]);
    const Eigen::Index n = kept(idx.layout.dims[0], max_count);
    const Eigen::Index d = out.rows * out.cols;
    out.pixels.resize(n, d);
    const unsigned char* p = idx.data();
    double value[256];  // exactly k / 255
    for (int b = 0; b < 256; ++b) value[b] = static_cast<double>(b) / 255.0;
    // Blocks of 64 images: the file is row-major, the matrix column-major.
    for (Eigen::Index i0 = 0; i0 < n; i0 += 64) {
      const Eigen::Index i1 = std::min(n, i0 + 64);
      for (Eigen::Index j = 0; j < d; ++j)
        for (Eigen::Index i = i0; i < i1; ++i) out.pixels(i, j) = value[p[i * d + j]];
    }
    return out;
  });
}

std::vector<int> labels_counted(const std::string& path, Eigen::Index max_count, Eigen::Index& count) {
  return with_name(path, [&] {
    const Idx idx = read_idx(path, 1);
    count = static_cast<Eigen::Index>(idx.layout.dims[0]);
    const Eigen::Index n = kept(idx.layout.dims[0], max_count);
    const unsigned char* p = idx.data();
    return std::vector<int>(p, p + n);
  });
}

}  // namespace

IdxImages load_idx_images(const std::string& path, Eigen::Index max_count) {
  Eigen::Index count = 0;
  return images_counted(path, max_count, count);
}

std::vector<int> load_idx_labels(const std::string& path, Eigen::Index max_count) {
  Eigen::Index count = 0;
  return labels_counted(path, max_count, count);
}

LabelledImages load_idx_labelled(const std::string& images_path, const std::string& labels_path,
                                 Eigen::Index max_count) {
  LabelledImages out;
  Eigen::Index n_images = 0, n_labels = 0;
  out.images = images_counted(images_path, max_count, n_images);
  out.labels = labels_counted(labels_path, max_count, n_labels);
  // The files' own counts are compared, not the kept prefixes.
  if (n_images != n_labels)
    throw std::runtime_error("IDX files '" + images_path + "' (" + std::to_string(n_images) + " images) and '" +
                             labels_path + "' (" + std::to_string(n_labels) + " labels) do not match");
  return out;
}

std::string find_idx_file(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const std::string& name : {stem + ".gz", stem}) {
    const fs::path p = fs::path(dir) / name;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

namespace {
constexpr const char* kStems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
}  // namespace

bool idx_dataset_present(const std::string& dir) {
  return std::all_of(std::begin(kStems), std::end(kStems),
                     [&](const char* stem) { return !find_idx_file(dir, stem).empty(); });
}

IdxDataset load_idx_dataset(const std::string& dir, Eigen::Index max_train, Eigen::Index max_test) {
  std::string paths[4];
  for (int i = 0; i < 4; ++i) {
    paths[i] = find_idx_file(dir, kStems[i]);
    if (paths[i].empty())
      throw std::runtime_error("IDX data set folder '" + dir + "': missing " + kStems[i] + ".gz (or " +
                               kStems[i] + ")");
  }
  IdxDataset out;
  out.train = load_idx_labelled(paths[0], paths[1], max_train);
  out.test = load_idx_labelled(paths[2], paths[3], max_test);
  if (out.train.images.rows != out.test.images.rows || out.train.images.cols != out.test.images.cols)
    throw std::runtime_error("IDX data set folder '" + dir + "': train images are " +
                             std::to_string(out.train.images.rows) + " x " + std::to_string(out.train.images.cols) +
                             " but test images are " + std::to_string(out.test.images.rows) + " x " +
                             std::to_string(out.test.images.cols));
  return out;
}

}  // namespace cldyn::tools
