#include "csv.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "npy.hpp"

namespace cldyn::tools {
namespace {

namespace fs = std::filesystem;

/// What is wrong, without the file name; row/column 0 means "no particular cell".
struct CsvError : std::runtime_error {
  CsvError(const std::string& what, std::size_t r = 0, std::size_t c = 0)
      : std::runtime_error(what), row(r), column(c) {}
  std::size_t row, column;
};

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

enum class Cell { number, out_of_range, text };

/// Parses one trimmed cell. from_chars reads the whole decimal/scientific syntax plus "inf" and
/// "nan" (which the caller rejects as non-finite); a leading '+' is accepted as well.
Cell parse_cell(std::string_view s, double& value) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '+' && s[1] != '-') s.remove_prefix(1);
  if (s.empty()) return Cell::text;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, value, std::chars_format::general);
  if (ptr != end) return Cell::text;
  if (ec == std::errc()) return Cell::number;
  if (ec != std::errc::result_out_of_range) return Cell::text;
  // Out of range: overflow (|v| > DBL_MAX) is an error; underflow gives the nearest subnormal
  // or zero, as strtod does.
  const std::string copy(s);
  errno = 0;
  value = std::strtod(copy.c_str(), nullptr);
  return std::isinf(value) ? Cell::out_of_range : Cell::number;
}

std::vector<std::string_view> split_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  for (;;) {
    const std::size_t comma = line.find(',');
    cells.push_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return cells;
}

Eigen::MatrixXd parse(std::string_view text) {
  if (text.empty()) throw CsvError("file is empty (0 bytes)");
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark

  // Lines, without their '\n' and a trailing '\r'.
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const auto blank = [](std::string_view l) { return trim(l).empty(); };
  while (!lines.empty() && blank(lines.back())) lines.pop_back();  // blank trailing lines
  if (lines.empty()) throw CsvError("no data (only blank lines)");

  std::size_t columns = 0;     // cells per row, fixed by the first row (header or data)
  std::size_t first_data = 0;  // index into lines of the first data row
  std::vector<double> values;  // row-major
  for (std::size_t li = 0; li < lines.size(); ++li) {
    const std::size_t row = li + 1;
    if (blank(lines[li])) throw CsvError("blank line between rows", row, 1);
    const std::vector<std::string_view> cells = split_cells(lines[li]);
    if (li == 0) {
      columns = cells.size();
    } else if (cells.size() != columns) {
      throw CsvError("ragged rows: this row has " + std::to_string(cells.size()) +
                         " cells but row 1 has " + std::to_string(columns),
                     row, std::min(cells.size(), columns) + 1);
    }
    std::vector<double> parsed(cells.size());
    std::vector<Cell> kinds(cells.size());
    for (std::size_t c = 0; c < cells.size(); ++c) kinds[c] = parse_cell(cells[c], parsed[c]);
    if (li == 0 &&
        std::any_of(kinds.begin(), kinds.end(), [](Cell k) { return k == Cell::text; })) {
      first_data = 1;  // a header row
      continue;
    }
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t column = c + 1;
      if (kinds[c] == Cell::text)
        throw CsvError(cells[c].empty() ? std::string("empty cell")
                                        : "not a number: '" + printable(cells[c], 40) + "'",
                       row, column);
      if (kinds[c] == Cell::out_of_range)
        throw CsvError("value '" + printable(cells[c], 40) + "' is out of the range of double", row,
                       column);
      if (!std::isfinite(parsed[c]))
        throw CsvError("non-finite value '" + printable(cells[c], 40) + "'", row, column);
      values.push_back(parsed[c]);
    }
  }
  if (first_data == lines.size()) throw CsvError("no data rows (only a header)", 1, 1);

  const auto rows = static_cast<Eigen::Index>(lines.size() - first_data);
  const auto cols = static_cast<Eigen::Index>(columns);
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j)
      m(i, j) = values[static_cast<std::size_t>(i * cols + j)];
  return m;
}

std::string with_location(const CsvError& e) {
  std::string out = e.what();
  if (e.row > 0)
    out += " (row " + std::to_string(e.row) + ", column " + std::to_string(e.column) + ")";
  return out;
}

std::string read_file(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw CsvError("cannot open: no such file");
  if (fs::is_directory(st)) throw CsvError("cannot open: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CsvError(std::string("cannot open: ") + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw CsvError("read error");
  return text;
}

}  // namespace

Eigen::MatrixXd parse_csv(std::string_view text, const std::string& name) {
  try {
    return parse(text);
  } catch (const CsvError& e) {
    throw std::runtime_error("CSV file '" + name + "': " + with_location(e));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("CSV file '" + name + "': not enough memory for its data");
  }
}

Eigen::MatrixXd load_csv(const std::string& path) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const CsvError& e) {
    throw std::runtime_error("CSV file '" + path + "': " + with_location(e));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("CSV file '" + path + "': not enough memory to read it");
  }
  return parse_csv(text, path);
}

Eigen::MatrixXd load_matrix(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".npy") return load_npy(path);
  if (ext == ".csv") return load_csv(path);
  throw std::runtime_error("file '" + path + "': unknown extension '" + printable(ext, 40) +
                           "' (need .npy or .csv)");
}

}  // namespace cldyn::tools
