#pragma once
/// \file npy.hpp
/// NumPy .npy files for the tools (cldyn-analyze) and their tests: a strict reader of
/// little-endian float32/float64 arrays of rank 1 or 2 into an Eigen::MatrixXd, a float64
/// writer, and the atomic write (temporary file + rename) that every result file goes through.
///
/// Why not xtensor's loader (xt::load_npy in libxtensor-dev 0.24.3, evaluated for this): it
/// never checks how many data bytes arrived (a truncated file silently yields garbage), rejects
/// NPY 3.0, requires the header keys in one order, turns a malformed shape entry into 0, reads
/// header-length bytes through signed char, returns only the file's own dtype (no float32 →
/// double), and its messages never name the file. A wrapper could fix only the last two, so
/// this is a small reader written from the format specification
/// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html) instead.

#include <Eigen/Core>
#include <string>
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

/// `s` with bytes outside printable ASCII written as \xHH, cut to `max_length` characters
/// (then "..."): for quoting file contents in one-line error messages (NPY and CSV readers).
std::string printable(std::string_view s, std::size_t max_length = 60);

/// Writes `contents` to `path` so that the file is either absent/old or complete: the bytes go
/// to a temporary file in the same directory, which is flushed, closed and renamed onto `path`
/// (rename is atomic within one file system). On failure the temporary file is removed and
/// std::runtime_error names `path` and the cause.
void write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace cldyn::tools
