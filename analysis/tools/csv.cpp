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

#include "input_file.hpp"
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

/// Why column 1 of a parsed file looks like a row index ("" if it does not): see csv.hpp.
std::string index_column_reason(const std::vector<std::string_view>& header,
                                const std::vector<double>& values, std::size_t rows,
                                std::size_t columns) {
  if (columns < 2) return "";
  if (!header.empty()) {
    std::string first(header.front());
    std::transform(first.begin(), first.end(), first.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (first.empty()) return "its header cell is empty";
    if (first == "index" || first == "unnamed: 0")
      return "its header is '" + std::string(header.front()) + "'";
  }
  if (rows < 2) return "";
  for (const double start : {0.0, 1.0}) {
    bool counts = true;
    for (std::size_t i = 0; i < rows && counts; ++i)
      counts = values[i * columns] == start + static_cast<double>(i);
    if (!counts) continue;
    const auto first = static_cast<std::size_t>(start), last = first + rows - 1;
    std::string list = std::to_string(first) + ", " + std::to_string(first + 1);
    if (rows > 3) list += ", ...";
    if (rows > 2) list += ", " + std::to_string(last);
    return "its values are " + list;
  }
  return "";
}

Eigen::MatrixXd parse(std::string_view text, const CsvOptions& options) {
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
  std::vector<std::string_view> header;
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
      header = cells;
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

  const std::size_t data_rows = lines.size() - first_data;
  std::size_t skip = 0;  // leading columns dropped
  if (options.drop_index_column) {
    if (columns < 2)
      throw CsvError("cannot drop an index column: the file has only 1 column", first_data + 1, 1);
    skip = 1;
  } else if (const std::string why = index_column_reason(header, values, data_rows, columns);
             !why.empty()) {
    throw CsvError("column 1 looks like a row index (" + why +
                       ", as pandas DataFrame.to_csv writes by default); read as data it would "
                       "add a column. Drop it (cldyn-analyze --csv-index-col) or write the file "
                       "without it (pandas: index=False)",
                   first_data + 1, 1);
  }
  const auto rows = static_cast<Eigen::Index>(data_rows);
  const auto cols = static_cast<Eigen::Index>(columns - skip);
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j)
      m(i, j) = values[static_cast<std::size_t>(i) * columns + skip + static_cast<std::size_t>(j)];
  return m;
}

std::string with_location(const CsvError& e) {
  std::string out = e.what();
  if (e.row > 0)
    out += " (row " + std::to_string(e.row) + ", column " + std::to_string(e.column) + ")";
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in = detail::open_input<CsvError>(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw CsvError("read error");
  return text;
}

}  // namespace

Eigen::MatrixXd parse_csv(std::string_view text, const std::string& name,
                          const CsvOptions& options) {
  try {
    return parse(text, options);
  } catch (const CsvError& e) {
    throw std::runtime_error("CSV file '" + name + "': " + with_location(e));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("CSV file '" + name + "': not enough memory for its data");
  }
}

Eigen::MatrixXd load_csv(const std::string& path, const CsvOptions& options) {
  std::string text;
  try {
    text = read_file(path);
  } catch (const CsvError& e) {
    throw std::runtime_error("CSV file '" + path + "': " + with_location(e));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("CSV file '" + path + "': not enough memory to read it");
  }
  return parse_csv(text, path, options);
}

Eigen::MatrixXd load_matrix(const std::string& path, const CsvOptions& csv) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext == ".npy") return load_npy(path);
  if (ext == ".csv") return load_csv(path, csv);
  throw std::runtime_error("file '" + path + "': unknown extension '" + printable(ext, 40) +
                           "' (need .npy or .csv)");
}

}  // namespace cldyn::tools
