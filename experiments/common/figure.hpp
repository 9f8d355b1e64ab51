#pragma once
/// \file figure.hpp
/// A CSV table and its gnuplot figure, written the one way every check (Check::write_figure)
/// and the sweep summary (cldyn-sweep's grid.png) write them.

#include <string>
#include <vector>

namespace cldyn::experiments {

/// `s` fit for one field of the CSV files gnuplot reads (no quoting there): ',' becomes ';'.
std::string csv_field(std::string s);

/// Writes `dir/<stem>.csv` (header + rows, fields through csv_field) atomically, creating `dir`,
/// and, when gnuplot is on PATH, renders `dir/<stem>.png` with `gnuplot_script` (which refers to
/// the CSV as '<stem>.csv'; terminal, separator, column-head titles and output are set first).
/// Returns a note saying what was written, or why the figure was skipped.
std::string write_csv_figure(const std::string& dir, const std::string& stem, const std::vector<std::string>& header,
                             const std::vector<std::vector<std::string>>& rows, const std::string& gnuplot_script);

}  // namespace cldyn::experiments
