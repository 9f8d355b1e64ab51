// tools::load_npy / save_npy / write_file_atomically (analysis/tools/npy.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "npy.hpp"
#include "support/problems.hpp"
#include "support/scratch_dir.hpp"

namespace cldyn {
namespace {

namespace fs = std::filesystem;
using testing::AllOf;
using testing::HasSubstr;

/// Little-endian bytes of a float or double.
template <class T>
std::string le_bytes(T v) {
  using U = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  U u = std::bit_cast<U>(v);
  std::string out;
  for (std::size_t b = 0; b < sizeof(T); ++b, u >>= 8) out += static_cast<char>(u & 0xff);
  return out;
}

/// An NPY file as the format specifies it: magic, version, header length (2 bytes for 1.0,
/// 4 for 2.0/3.0), the dictionary padded with spaces to a multiple of 64 and ending in '\n'.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const std::size_t unpadded = 6 + 2 + length_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t b = 0; b < length_bytes; ++b) out += static_cast<char>((header.size() >> (8 * b)) & 0xff);
  return out + header + data;
}

class Npy : public test::ScratchDirTest {
 protected:
  /// what() of the std::runtime_error load_npy must throw, or a marker.
  static std::string load_error(const std::string& p) {
    return test::runtime_error_message([&] { tools::load_npy(p); });
  }
};

TEST_F(Npy, Float64RoundTripIsBitExact) {
  Eigen::MatrixXd m(3, 4);
  m << 1.0, -0.0, 1e-310, std::numeric_limits<double>::max(),  //
      0.1, -2.5, 3.0, std::numeric_limits<double>::min(),      //
      1.0 / 3.0, 7e22, -1e-22, 42.0;
  const std::string p = path("m.npy");
  tools::save_npy(p, m);
  const Eigen::MatrixXd back = tools::load_npy(p);
  ASSERT_EQ(back.rows(), 3);
  ASSERT_EQ(back.cols(), 4);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back.data()[i]), std::bit_cast<std::uint64_t>(m.data()[i]));
  // The header is padded to a 64-byte boundary as NumPy writes it.
  const auto size = fs::file_size(p);
  EXPECT_EQ((size - 12 * 8) % 64, 0u);
}

TEST_F(Npy, SaveIsAtomicAndOverwrites) {
  const std::string p = path("w.npy");
  tools::save_npy(p, Eigen::MatrixXd::Ones(2, 2));
  tools::save_npy(p, Eigen::MatrixXd::Constant(1, 3, 2.0));
  EXPECT_EQ(tools::load_npy(p), Eigen::MatrixXd::Constant(1, 3, 2.0));
  // Nothing but the file itself is left in the directory (no temporary files).
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
  EXPECT_THAT(names, testing::ElementsAre("w.npy"));
  // An impossible destination is an error naming the file, and leaves nothing behind.
  const std::string bad = path("no_such_dir/x.npy");
  try {
    tools::save_npy(bad, Eigen::MatrixXd::Ones(1, 1));
    ADD_FAILURE() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(bad));
  }
}

TEST_F(Npy, ReadsHandWrittenFloat32) {
  const std::vector<float> v = {1.5f, -2.25f, 0.1f, 3e-40f /* subnormal */, 1e30f, -0.0f};
  std::string data;
  for (float x : v) data += le_bytes(x);
  const std::string p =
      write("f32.npy", npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data));
  const Eigen::MatrixXd m = tools::load_npy(p);
  ASSERT_EQ(m.rows(), 2);
  ASSERT_EQ(m.cols(), 3);
  for (Eigen::Index i = 0; i < 2; ++i)
    for (Eigen::Index j = 0; j < 3; ++j)
      EXPECT_EQ(m(i, j), static_cast<double>(v[static_cast<std::size_t>(3 * i + j)]));  // exact
}

TEST_F(Npy, ReadsFortranOrder) {
  // [[1, 2, 3], [4, 5, 6]] stored column by column.
  std::string data;
  for (double x : {1.0, 4.0, 2.0, 5.0, 3.0, 6.0}) data += le_bytes(x);
  const std::string p =
      write("f.npy", npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", data));
  Eigen::MatrixXd expected(2, 3);
  expected << 1, 2, 3, 4, 5, 6;
  EXPECT_EQ(tools::load_npy(p), expected);
  // float32 in Fortran order too.
  std::string data32;
  for (float x : {1.0f, 4.0f, 2.0f, 5.0f, 3.0f, 6.0f}) data32 += le_bytes(x);
  EXPECT_EQ(tools::load_npy(write("f32f.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, "
                                                        "'shape': (2, 3), }",
                                                        data32))),
            expected);
}

TEST_F(Npy, ReadsOneDimensionalArraysAsAColumnAndEveryVersion) {
  std::string data;
  for (double x : {1.0, 2.0, 3.0}) data += le_bytes(x);
  for (int major : {1, 2, 3}) {
    const std::string p = write(std::to_string(major) + "-version.npy",
                                npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                          data, major));
    EXPECT_EQ(tools::load_npy(p), Eigen::Vector3d(1, 2, 3)) << "version " << major;
  }
  // Keys in another order, double quotes, a Python 2 long and no trailing comma are all valid.
  const std::string p = write("odd.npy", npy_bytes("{\"shape\": (3L, 1), 'fortran_order': False, "
                                                   "'descr': '<f8'}",
                                                   data));
  EXPECT_EQ(tools::load_npy(p), Eigen::MatrixXd(Eigen::Vector3d(1, 2, 3)));
}

TEST_F(Npy, EveryBadFileIsAnErrorNamingTheFileAndTheProblem) {
  std::string six;
  for (int i = 0; i < 6; ++i) six += le_bytes(static_cast<double>(i));
  const std::string good_dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string good = npy_bytes(good_dict, six);
  const auto with_dict = [&](const std::string& dict) { return npy_bytes(dict, six); };
  const std::vector<test::BadFile> cases = {
      {"empty.npy", "", "empty"},
      {"short.npy", "\x93NUM", "truncated preamble"},
      {"magic.npy", "PK\x03\x04 this is a zip file, not an npy file", "bad magic"},
      {"version.npy", npy_bytes(good_dict, six, 4), "unsupported NPY format version 4.0"},
      {"header_cut.npy", good.substr(0, 40), "truncated header"},
      {"data_cut.npy", good.substr(0, good.size() - 5), "truncated data"},
      {"trailing.npy", good + "xx", "trailing bytes"},
      {"dict_garbage.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }"), "corrupt header dictionary"},
      {"dict_missing.npy", with_dict("{'descr': '<f8', 'fortran_order': False, }"), "missing key 'shape'"},
      {"dict_unclosed.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)"), "corrupt header dictionary"},
      {"dict_bool.npy", with_dict("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3), }"), "True or False"},
      {"dict_extra.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), 'x': 1}"), "unexpected key 'x'"},
      {"int64.npy", with_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }"), "unsupported dtype '<i8'"},
      {"big_endian.npy", with_dict("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }"), "unsupported dtype '>f8'"},
      {"structured.npy", with_dict("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (6,), }"), "structured"},
      {"rank3.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }"), "rank 3"},
      {"scalar.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", le_bytes(1.0)),
       "0-d"},
      {"nan.npy",
       npy_bytes(good_dict, six.substr(0, 32) + le_bytes(std::numeric_limits<double>::quiet_NaN()) +
                                six.substr(40)),
       "non-finite value nan at index (1, 1)"},
      {"inf32.npy",
       npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                 le_bytes(1.0f) + le_bytes(-std::numeric_limits<float>::infinity())),
       "non-finite value -inf at index (1,)"},
      {"huge.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387903, 2), }"), "too large"},
      // 8e13 bytes claimed by a 64-byte file: refused from the header and the file size,
      // before anything of that size is allocated (a fuzzer with -rss_limit_mb would see it).
      {"huge_claim.npy", with_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 100000), }"),
       "truncated data: shape (100000000, 100000) <f8 needs 80000000000000 data bytes but only 48 follow"},
  };
  for (const test::BadFile& c : cases) {
    const std::string p = write(c.name, c.bytes);
    const std::string msg = load_error(p);
    EXPECT_THAT(msg, AllOf(HasSubstr("'" + p + "'"), HasSubstr(c.expected))) << c.name;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << c.name;  // one line
  }
  const std::string missing = path("missing.npy");
  EXPECT_THAT(load_error(missing), AllOf(HasSubstr(missing), HasSubstr("no such file")));
  EXPECT_THAT(load_error(dir_.string()), HasSubstr("is a directory"));
}

/// The names in the scratch directory (to see that no temporary file is left behind).
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  return names;
}

std::string file_bytes(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(Npy, RowWriterRoundTripsAndWritesWhatSaveNpyWrites) {
  Eigen::MatrixXd m(5, 3);
  m << 1.0, -0.0, 1e-310,  //
      0.1, -2.5, 3.0,       //
      1.0 / 3.0, 7e22, -1e-22, //
      4.0, 5.0, 6.0,        //
      -7.0, 8.5, 9.25;
  const std::string p = path("a.npy");
  {
    tools::NpyRowWriter writer(p, 5, 3);
    writer.append(m.topRows(2));
    writer.append(m.middleRows(2, 0));  // an empty block is allowed
    writer.append(m.bottomRows(3));
    EXPECT_EQ(writer.rows_written(), 5);
    // Nothing at the destination before commit().
    EXPECT_FALSE(fs::exists(p));
    writer.commit();
  }
  const Eigen::MatrixXd back = tools::load_npy(p);
  ASSERT_EQ(back.rows(), 5);
  ASSERT_EQ(back.cols(), 3);
  for (Eigen::Index i = 0; i < m.size(); ++i)
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back.data()[i]), std::bit_cast<std::uint64_t>(m.data()[i]));
  // The same bytes as the whole-matrix writer, and no temporary file left.
  tools::save_npy(path("b.npy"), m);
  EXPECT_EQ(file_bytes(p), file_bytes(path("b.npy")));
  EXPECT_THAT(names_in(dir_), testing::UnorderedElementsAre("a.npy", "b.npy"));
}

TEST_F(Npy, RowWriterRefusesAWrongRowCountAndWrongBlocks) {
  const std::string p = path("short.npy");
  {
    tools::NpyRowWriter writer(p, 5, 2);
    writer.append(Eigen::MatrixXd::Ones(3, 2));
    try {
      writer.commit();
      ADD_FAILURE() << "commit() accepted 3 of 5 rows";
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(),
                  AllOf(HasSubstr(p), HasSubstr("3 rows were appended but the array has 5")));
    }
    EXPECT_THROW(writer.append(Eigen::MatrixXd::Ones(1, 3)), std::invalid_argument);  // columns
    EXPECT_THROW(writer.append(Eigen::MatrixXd::Ones(3, 2)), std::invalid_argument);  // too many
  }
  // The refused file never reached its name, and the temporary file is gone.
  EXPECT_TRUE(names_in(dir_).empty());
  EXPECT_THROW(tools::NpyRowWriter(path("x.npy"), -1, 2), std::invalid_argument);
}

TEST_F(Npy, RowWriterWithAShapeWritesThatHeaderAndRefusesAShapeThatDoesNotFit) {
  // Two stacked 2 × 3 matrices as one (2, 2, 3) array: the data bytes are the same as the
  // 4 × 3 matrix's, the header states the 3-D shape.
  Eigen::MatrixXd m(4, 3);
  m << 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12;
  {
    tools::NpyRowWriter writer(path("stack.npy"), 4, 3, {2, 2, 3});
    writer.append(m);
    writer.commit();
  }
  tools::save_npy(path("flat.npy"), m);
  const std::string stack = file_bytes(path("stack.npy")), flat = file_bytes(path("flat.npy"));
  EXPECT_NE(stack.find("'shape': (2, 2, 3)"), std::string::npos);
  ASSERT_GE(stack.size(), 96u);
  EXPECT_EQ(stack.substr(stack.size() - 96), flat.substr(flat.size() - 96));  // 12 doubles
  // Rank 1 is written as (n,).
  {
    tools::NpyRowWriter writer(path("vec.npy"), 1, 3, {3});
    writer.append(m.topRows(1));
    writer.commit();
  }
  EXPECT_EQ(tools::load_npy(path("vec.npy")), m.row(0).transpose());
  // A shape that does not hold rows × cols, or whose last dimension is not cols.
  EXPECT_THROW(tools::NpyRowWriter(path("bad.npy"), 4, 3, {2, 3, 3}), std::invalid_argument);
  EXPECT_THROW(tools::NpyRowWriter(path("bad.npy"), 4, 3, {3, 4}), std::invalid_argument);
  EXPECT_THROW(tools::NpyRowWriter(path("bad.npy"), 4, 3, {}), std::invalid_argument);
}

TEST_F(Npy, RowWriterDestroyedWithoutCommitLeavesNoFile) {
  {
    tools::NpyRowWriter writer(path("never.npy"), 2, 2);
    writer.append(Eigen::MatrixXd::Ones(2, 2));
    // At least the temporary file exists while the writer is alive.
    EXPECT_EQ(names_in(dir_).size(), 1u);
  }
  EXPECT_TRUE(names_in(dir_).empty());
}

TEST_F(Npy, AMissingFolderIsNamedAsSuch) {
  const std::string folder = path("no_such_dir");
  const std::string target = folder + "/x.npy";
  const std::string expected = "folder '" + folder + "' does not exist";
  auto message = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "<no exception thrown>";
  };
  EXPECT_THAT(message([&] { tools::write_file_atomically(target, "{}"); }),
              AllOf(HasSubstr(target), HasSubstr(expected)));
  EXPECT_THAT(message([&] { tools::save_npy(target, Eigen::MatrixXd::Ones(1, 1)); }),
              AllOf(HasSubstr(target), HasSubstr(expected)));
  EXPECT_THAT(message([&] { tools::NpyRowWriter(target, 1, 1); }),
              AllOf(HasSubstr(target), HasSubstr(expected)));
  EXPECT_TRUE(names_in(dir_).empty());
}

}  // namespace
}  // namespace cldyn
