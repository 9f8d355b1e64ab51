#pragma once
/// \file npy.hpp
/// NumPy .npy files for the tools (cldyn-analyze) and their tests: a strict reader of
/// little-endian float32/float64 arrays of rank 1 or 2 into an Eigen::MatrixXd, a float64
/// writer (whole, or streamed a block of rows at a time), and the atomic write (temporary
/// file + rename) that every result file goes through.
///
/// Why not xtensor's loader (xt::load_npy in libxtensor-dev 0.24.3, evaluated for this): it
/// never checks how many data bytes arrived (a truncated file silently yields garbage), rejects
/// NPY 3.0, requires the header keys in one order, turns a malformed shape entry into 0, reads
/// header-length bytes through signed char, returns only the file's own dtype (no float32 →
/// double), and its messages never name the file. A wrapper could fix only the last two, so
/// this is a small reader written from the format specification
/// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html) instead.

#include <Eigen/Core>
#include <cstdio>
#include <string>
#include <vector>
#include <string_view>

namespace cldyn::tools {

/// Reads a .npy file into a matrix of doubles. Accepted: NPY format versions 1.0, 2.0 and 3.0;
/// dtype '<f4' (float32, converted exactly to double) or '<f8' (float64); C or Fortran order;
/// shape (r, c) → r × c matrix, shape (n,) → n × 1 column; every value finite.
/// Anything else — missing or unreadable file, empty file, bad magic, unsupported version,
/// corrupt header dictionary, another dtype (e.g. '<i8', big-endian '>f8'), rank 0 or rank > 2,
/// truncated data or bytes after the data, a NaN or infinity — throws std::runtime_error with a
/// one-line message "NPY file '<path>': <what is wrong>".
Eigen::MatrixXd load_npy(const std::string& path);

/// Writes m as a float64, C-order, 2-D (rows × cols) NPY 1.0 file, atomically (see
/// write_file_atomically). Non-finite values are written as they are (the format allows them;
/// load_npy rejects them). Throws std::runtime_error naming the file if it cannot be written.
void save_npy(const std::string& path, const Eigen::Ref<const Eigen::MatrixXd>& m);


/// A float64, C-order, rows × cols NPY 1.0 file written a block of rows at a time, so that the
/// whole array is never held in memory (cldyn-analyze streams the N × N α through it). The
/// header and the appended rows go to a temporary file in the destination's folder; commit()
/// checks that exactly `rows` rows arrived, flushes, closes and renames it onto `path` (as
/// write_file_atomically does), so `path` is either absent/old or complete. A writer destroyed
/// without a successful commit() removes its temporary file.
class NpyRowWriter {
 public:
  /// Creates the temporary file and writes the header. Throws std::invalid_argument for
  /// rows < 0 or cols < 0, std::runtime_error naming `path` if the file cannot be created
  /// (e.g. "folder '<dir>' does not exist").
  NpyRowWriter(std::string path, Eigen::Index rows, Eigen::Index cols);
  /// As above, the file's header declaring `shape` (any rank ≥ 1, the last dimension = cols,
  /// the product = rows·cols): the appended rows are the C-order data, e.g. K stacked d × d
  /// matrices as rows = K·d, cols = d, shape {K, d, d}. load_npy reads ranks 1 and 2 only.
  /// Throws std::invalid_argument if the shape cannot hold rows × cols values.
  NpyRowWriter(std::string path, Eigen::Index rows, Eigen::Index cols,
               const std::vector<Eigen::Index>& shape);
  ~NpyRowWriter();
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;

  /// Appends the rows of `block` (cols columns; any number of rows up to those still missing).
  /// Throws std::invalid_argument for another column count or too many rows,
  /// std::runtime_error naming the file on a write error or after commit().
  void append(const Eigen::Ref<const Eigen::MatrixXd>& block);
  /// Requires rows_written() == rows (std::runtime_error naming the file and both counts
  /// otherwise), then flushes, closes and renames the temporary file onto the path.
  void commit();

  Eigen::Index rows_written() const { return written_; }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(const std::string& why);
  std::string path_, tmp_;
  Eigen::Index rows_, cols_, written_ = 0;
  std::FILE* file_ = nullptr;
  bool committed_ = false;
};

/// `s` with bytes outside printable ASCII written as \xHH, cut to `max_length` characters
/// (then "..."): for quoting file contents in one-line error messages (NPY and CSV readers).
std::string printable(std::string_view s, std::size_t max_length = 60);

/// Writes `contents` to `path` so that the file is either absent/old or complete: the bytes go
/// to a temporary file in the same directory, which is flushed, closed and renamed onto `path`
/// (rename is atomic within one file system). On failure the temporary file is removed and
/// std::runtime_error names `path` and the cause ("folder '<dir>' does not exist" when the
/// destination's folder is missing).
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace cldyn::tools
