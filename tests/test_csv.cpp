// tools::load_csv / parse_csv / load_matrix (analysis/tools/csv.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "csv.hpp"
#include "npy.hpp"
#include "support/problems.hpp"
#include "support/scratch_dir.hpp"

namespace cldyn {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::HasSubstr;

class Csv : public test::ScratchDirTest {
 protected:
  /// what() of the std::runtime_error load_csv must throw, or a marker.
  static std::string load_error(const std::string& p) {
    return test::runtime_error_message([&] { tools::load_csv(p); });
  }
};

TEST_F(Csv, ReadsNumbersWithHeaderWhitespaceAndCrlf) {
  const std::string p = write("a.csv",
                              "x, y ,z\r\n"
                              " 1, -2.5 ,3e2\r\n"
                              "\t+4,5E-1,  -0.0\r\n"
                              "7,8,9\r\n"
                              "\r\n"
                              "   \n");
  Eigen::MatrixXd expected(3, 3);
  expected << 1, -2.5, 300, 4, 0.5, -0.0, 7, 8, 9;
  const Eigen::MatrixXd m = tools::load_csv(p);
  ASSERT_EQ(m.rows(), 3);
  ASSERT_EQ(m.cols(), 3);
  EXPECT_EQ(m, expected);
}

TEST_F(Csv, WithoutHeaderAndWithoutFinalNewline) {
  const Eigen::MatrixXd m = tools::parse_csv("1,2\n3,4", "mem.csv");
  Eigen::MatrixXd expected(2, 2);
  expected << 1, 2, 3, 4;
  EXPECT_EQ(m, expected);
  // One column gives an N x 1 matrix, as a 1-D NPY array does.
  EXPECT_EQ(tools::parse_csv("5\n6\n7\n", "col.csv"), Eigen::MatrixXd(Eigen::Vector3d(5, 6, 7)));
  // A header whose first cell is empty is a header (and marks an index column: see below).
  EXPECT_EQ(tools::parse_csv(",a\n1,2\n", "p.csv", {.drop_index_column = true}).rows(), 1);
  // A UTF-8 byte-order mark (spreadsheet export) is skipped.
  EXPECT_EQ(tools::parse_csv("\xEF\xBB\xBF"
                             "1,2\n",
                             "bom.csv"),
            Eigen::MatrixXd(Eigen::RowVector2d(1, 2)));
}

TEST_F(Csv, DoublesRoundTripExactlyAtSeventeenDigits) {
  // %.17g is exact for doubles; from_chars must read it back bit for bit (subnormals included).
  const std::vector<double> values = {
      0.1, 1.0 / 3.0, -2.718281828459045, 1e-300, 4.9e-324, 1.7976931348623157e308, 123456789.0};
  std::string text;
  for (double v : values) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g\n", v);
    text += buf;
  }
  const Eigen::MatrixXd m = tools::parse_csv(text, "exact.csv");
  ASSERT_EQ(m.rows(), static_cast<Eigen::Index>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(m(static_cast<Eigen::Index>(i), 0), values[i]);
}

TEST_F(Csv, EveryBadFileIsOneLineNamingFileProblemRowAndColumn) {
  const std::vector<test::BadFile> cases = {
      {"empty.csv", "", "file is empty"},
      {"blank.csv", "\n  \n\r\n", "no data (only blank lines)"},
      {"header_only.csv", "a,b,c\n", "no data rows (only a header)"},
      {"ragged_short.csv", "1,2,3\n4,5\n",
       "ragged rows: this row has 2 cells but row 1 has 3 (row 2, column 3)"},
      {"ragged_long.csv", "a,b\n1,2\n3,4,5\n",
       "ragged rows: this row has 3 cells but row 1 has 2 (row 3, column 3)"},
      {"ragged_header.csv", "a,b,c\n1,2\n",
       "this row has 2 cells but row 1 has 3 (row 2, column 3)"},
      {"text.csv", "1,2\n3,abc\n", "not a number: 'abc' (row 2, column 2)"},
      {"text_after_header.csv", "a,b\n1,2\n3,4x\n", "not a number: '4x' (row 3, column 2)"},
      {"two_numbers.csv", "1,2\n3 4,5\n", "not a number: '3 4' (row 2, column 1)"},
      {"empty_cell.csv", "1,2\n3,\n", "empty cell (row 2, column 2)"},
      {"nan.csv", "1,2\n3,nan\n", "non-finite value 'nan' (row 2, column 2)"},
      {"inf.csv", "x,y\n-inf,2\n", "non-finite value '-inf' (row 2, column 1)"},
      {"nan_first_row.csv", "NaN,1\n2,3\n", "non-finite value 'NaN' (row 1, column 1)"},
      {"overflow.csv", "1,2\n1e400,3\n", "'1e400' is out of the range of double (row 2, column 1)"},
      {"blank_middle.csv", "1,2\n\n3,4\n", "blank line between rows (row 2, column 1)"},
      {"binary.csv", std::string("\x93NUMPY\x01\x00", 8) + "1,2\n1,\x01\n",
       "not a number: '\\x01' (row 2, column 2)"},
  };
  for (const test::BadFile& c : cases) {
    const std::string p = write(c.name, c.bytes);
    const std::string msg = load_error(p);
    EXPECT_THAT(msg, AllOf(testing::StartsWith("CSV file '" + p + "': "), HasSubstr(c.expected)))
        << c.name;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name;  // one line
  }
  const std::string missing = path("missing.csv");
  EXPECT_EQ(load_error(missing), "CSV file '" + missing + "': cannot open: no such file");
  EXPECT_EQ(load_error(dir_.string()),
            "CSV file '" + dir_.string() + "': cannot open: is a directory");
}

TEST_F(Csv, SemicolonFileIsNotSilentlyAccepted) {
  // "1;2" is not a number, so row 1 counts as a header; row 2 must then be an error, never a
  // silently skipped or zero-filled row.
  const std::string msg = test::runtime_error_message([] { tools::parse_csv("1;2\n3;4\n", "semi.csv"); });
  EXPECT_EQ(msg, "CSV file 'semi.csv': not a number: '3;4' (row 2, column 1)");
}

TEST_F(Csv, RowIndexColumnIsRefusedUnlessAskedToDrop) {
  // What pandas writes by default: DataFrame.to_csv() puts the index first, under an empty
  // header cell. Read as data it would add a feature (views) or a node (weights).
  const std::string pandas = ",a,b\n0,0.5,1.5\n1,2.5,3.5\n2,4.5,5.5\n";
  EXPECT_EQ(test::runtime_error_message([&] { tools::parse_csv(pandas, "df.csv"); }),
            "CSV file 'df.csv': column 1 looks like a row index (its header cell is empty, as "
            "pandas DataFrame.to_csv writes by default); read as data it would add a column. "
            "Drop it (cldyn-analyze --csv-index-col) or write the file without it (pandas: "
            "index=False) (row 2, column 1)");
  Eigen::MatrixXd expected(3, 2);
  expected << 0.5, 1.5, 2.5, 3.5, 4.5, 5.5;
  EXPECT_EQ(tools::parse_csv(pandas, "df.csv", {.drop_index_column = true}), expected);
  // Named index headers, and counting values without a header (header=False), are refused too.
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("Unnamed: 0,a\n0,1.5\n1,2\n", "u.csv"); }),
              HasSubstr("its header is 'Unnamed: 0'"));
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("index,a\n7,1.5\n", "i.csv"); }),
              HasSubstr("its header is 'index'"));
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("0,0.5\n1,0.25\n2,0.125\n", "n.csv"); }),
              HasSubstr("its values are 0, 1, 2"));
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("a,b\n1,0.5\n2,0.25\n", "n1.csv"); }),
              HasSubstr("its values are 1, 2"));
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("0,1\n1,1\n2,1\n3,1\n", "n4.csv"); }),
              HasSubstr("its values are 0, 1, ..., 3"));
  // Data that merely starts like a count is data: one row, one column, or a break in the count.
  EXPECT_EQ(tools::parse_csv("0,0.5\n", "one-row.csv").cols(), 2);
  EXPECT_EQ(tools::parse_csv("0\n1\n2\n", "one-col.csv").rows(), 3);
  EXPECT_EQ(tools::parse_csv("0,0.5\n1,0.25\n3,0.125\n", "gap.csv").cols(), 2);
  // Dropping needs a second column to keep.
  EXPECT_THAT(test::runtime_error_message([] { tools::parse_csv("1\n2\n", "c.csv", {.drop_index_column = true}); }),
              HasSubstr("cannot drop an index column: the file has only 1 column"));
}

TEST_F(Csv, LoadMatrixChoosesByExtension) {
  Eigen::MatrixXd m(2, 3);
  m << 1, 2, 3, 4, 5, 6.5;
  tools::save_npy(path("m.npy"), m);
  write("m.csv", "1,2,3\n4,5,6.5\n");
  write("M.CSV", "1,2,3\n4,5,6.5\n");
  EXPECT_EQ(tools::load_matrix(path("m.npy")), m);
  EXPECT_EQ(tools::load_matrix(path("m.csv")), m);
  EXPECT_EQ(tools::load_matrix(path("M.CSV")), m);
  const std::string txt = write("m.txt", "1,2,3\n");
  EXPECT_EQ(test::runtime_error_message([&] { tools::load_matrix(txt); }),
            "file '" + txt + "': unknown extension '.txt' (need .npy or .csv)");
  const std::string none = write("noext", "1,2,3\n");
  EXPECT_EQ(test::runtime_error_message([&] { tools::load_matrix(none); }),
            "file '" + none + "': unknown extension '' (need .npy or .csv)");
  // The readers' own errors come through unchanged.
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_matrix(path("absent.csv")); }),
              HasSubstr("CSV file '" + path("absent.csv") + "': cannot open: no such file"));
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_matrix(path("absent.npy")); }),
              HasSubstr("NPY file '" + path("absent.npy") + "': cannot open: no such file"));
}

}  // namespace
}  // namespace cldyn
