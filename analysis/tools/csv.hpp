#pragma once
/// \file csv.hpp
/// Comma-separated text matrices for the tools (cldyn-analyze) and their tests, and
/// load_matrix, which picks the reader (NPY or CSV) from the file name's extension.
///
/// Format accepted by load_csv / parse_csv:
///  - one row per line, cells separated by ','; '\n' or "\r\n" line ends; a UTF-8 byte-order
///    mark at the start is skipped;
///  - every cell is a decimal floating-point number (as std::from_chars reads it, with an
///    optional leading '+'), surrounded by optional spaces or tabs;
///  - the first row may be a header: a first row in which some cell is not a number is a
///    header and is skipped (it must have as many cells as the data rows); a non-numeric cell
///    in any later row is an error;
///  - blank (whitespace-only) lines at the end of the file are ignored; a blank line between
///    data rows is an error;
///  - every row has the same number of cells; every value is finite;
///  - a row-index column is refused unless CsvOptions::drop_index_column says to drop it. With
///    two or more columns, column 1 is taken for an index when the header's first cell is empty,
///    "index" or "Unnamed: 0" (what pandas' DataFrame.to_csv and a re-saved read_csv write), or
///    when its values are exactly 0, 1, …, r − 1 or 1, 2, …, r for r ≥ 2 data rows. Read as
///    data it would silently add a feature (views) or a node (weights).
/// Rows become matrix rows: an r-row, c-column file gives an r × c matrix (one column: r × 1).
///
/// Every error is a std::runtime_error with one line
/// "CSV file '<path>': <what is wrong> (row R, column C)", R and C counted from 1 as a
/// spreadsheet shows them (R is the line number in the file, header included); errors that
/// concern no particular cell (missing file, empty file, no data rows) have no location.

#include <Eigen/Core>
#include <string>
#include <string_view>

namespace cldyn::tools {

struct CsvOptions {
  /// Drop column 1 (a row index) instead of refusing it; the file must have ≥ 2 columns.
  bool drop_index_column = false;
};

/// Reads a CSV file (format above) into a matrix of doubles.
Eigen::MatrixXd load_csv(const std::string& path, const CsvOptions& options = {});

/// Parses CSV text (format above); `name` is the file name used in error messages.
Eigen::MatrixXd parse_csv(std::string_view text, const std::string& name,
                          const CsvOptions& options = {});

/// Reads a matrix from `path`, choosing the reader by extension (case-insensitive): ".npy" →
/// load_npy, ".csv" → load_csv (with `csv`; NPY files have no index column). Any other
/// extension throws std::runtime_error naming the file and the accepted extensions.
Eigen::MatrixXd load_matrix(const std::string& path, const CsvOptions& csv = {});

}  // namespace cldyn::tools
