// tools::load_idx_images / load_idx_labels / load_idx_labelled / load_idx_dataset
// (analysis/tools/idx.hpp): exact values from hand-written files, plain and gzipped; one
// message per kind of bad file; the real Fashion-MNIST package when it is installed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "idx.hpp"
#include "support/problems.hpp"
#include "support/scratch_dir.hpp"

namespace cldyn {
namespace {

using testing::AllOf;
using testing::HasSubstr;

/// An IDX file: magic 0x00 0x00 type rank, big-endian uint32 dimensions, then `data`.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::string& data, unsigned char type = 0x08) {
  std::string out;
  out += '\0';
  out += '\0';
  out += static_cast<char>(type);
  out += static_cast<char>(dims.size());
  for (const std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) out += static_cast<char>((d >> s) & 0xff);
  return out + data;
}

/// `bytes` as a gzip stream (zlib's deflate with a gzip wrapper).
std::string gzip(const std::string& bytes) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// Bytes 0, 1, …, n − 1 (mod 256).
std::string ramp(std::size_t n, unsigned offset = 0) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>((i + offset) & 0xff);
  return s;
}

class Idx : public test::ScratchDirTest {};

TEST_F(Idx, ReadsImagesExactlyPlainAndGzipped) {
  // 3 images of 2 × 4 pixels with bytes 0, 1, …, 23, then the extremes 0 and 255.
  std::string data = ramp(24);
  data[22] = '\xff';
  const std::string bytes = idx_bytes({3, 2, 4}, data);
  for (const std::string& p : {write("images-idx3-ubyte", bytes), write("images-idx3-ubyte.gz", gzip(bytes)),
                               // the gzip magic decides, not the name
                               write("gz_without_suffix", gzip(bytes))}) {
    SCOPED_TRACE(p);
    const tools::IdxImages im = tools::load_idx_images(p);
    ASSERT_EQ(im.count(), 3);
    ASSERT_EQ(im.rows, 2);
    ASSERT_EQ(im.cols, 4);
    ASSERT_EQ(im.pixels.cols(), 8);
    for (int n = 0; n < 3; ++n)
      for (int r = 0; r < 2; ++r)
        for (int c = 0; c < 4; ++c) {
          const int byte = static_cast<unsigned char>(data[static_cast<std::size_t>(8 * n + 4 * r + c)]);
          EXPECT_EQ(im.pixels(n, 4 * r + c), byte / 255.0) << n << " " << r << " " << c;
        }
    EXPECT_EQ(im.pixels(2, 6), 1.0);
    EXPECT_EQ(im.pixels(0, 0), 0.0);
    // max_count keeps a prefix.
    const tools::IdxImages two = tools::load_idx_images(p, 2);
    ASSERT_EQ(two.count(), 2);
    EXPECT_EQ(two.pixels, im.pixels.topRows(2));
  }
}

TEST_F(Idx, ReadsLabelsAndPairsThem) {
  const std::string labels = idx_bytes({5}, std::string("\x03\x00\x09\x07\xff", 5));
  const std::string images = idx_bytes({5, 1, 2}, ramp(10));
  const std::string lp = write("labels.gz", gzip(labels));
  const std::string ip = write("images", images);
  EXPECT_EQ(tools::load_idx_labels(lp), (std::vector<int>{3, 0, 9, 7, 255}));
  EXPECT_EQ(tools::load_idx_labels(write("plain_labels", labels), 3), (std::vector<int>{3, 0, 9}));
  const tools::LabelledImages li = tools::load_idx_labelled(ip, lp, 4);
  EXPECT_EQ(li.labels, (std::vector<int>{3, 0, 9, 7}));
  ASSERT_EQ(li.images.count(), 4);
  EXPECT_EQ(li.images.pixels(3, 1), 7.0 / 255.0);
}

TEST_F(Idx, EveryBadFileIsAnErrorNamingTheFileAndTheProblem) {
  const std::string good = idx_bytes({2, 2, 2}, ramp(8));
  const std::vector<test::BadFile> cases = {
      {"empty", "", "file is empty"},
      {"magic", "PK\x03\x04 a zip file", "bad magic 0x504b0304"},
      {"magic_short", "\x01", "bad magic 0x01"},
      {"header_tiny", std::string("\0\0", 2), "truncated header (file has 2 bytes"},
      {"header_cut", good.substr(0, 9), "truncated header (file has 9 bytes; a 3-D header needs 16)"},
      {"float32", idx_bytes({2, 2, 2}, std::string(32, '\0'), 0x0D), "data type 0x0d (float32); need 0x08"},
      {"labels_as_images", idx_bytes({8}, ramp(8)), "1-D data (magic 0x00000801); need 3-D images"},
      {"rank2", idx_bytes({2, 4}, ramp(8)), "2-D data"},
      {"zero_dim", idx_bytes({2, 0, 2}, ""), "dimension 2 is 0"},
      {"data_cut", good.substr(0, good.size() - 3), "truncated data: dimensions 2 x 2 x 2 need 8 data bytes but the file has 5"},
      {"trailing", good + "xy", "2 bytes follow the data"},
      {"huge", idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, ramp(8)), "too large"},
      {"gz_cut.gz", gzip(good).substr(0, 20), "truncated gzip stream"},
      {"gz_corrupt.gz", [&] {
         std::string z = gzip(good);
         for (std::size_t i = 10; i < z.size() - 8; ++i) z[i] = '\xff';
         return z;
       }(),
       "corrupt gzip stream"},
      {"gz_trailing.gz", gzip(good) + "junk", "4 bytes after the end of the gzip stream"},
      {"gz_data_cut.gz", gzip(good.substr(0, good.size() - 1)), "but the inflated data has 7"},
      {"gz_too_long.gz", gzip(good + std::string(100000, 'x')), "longer than the header declares (more than 24 bytes)"},
      {"gz_bad_magic.gz", gzip("\x01\x02\x03\x04"), "bad magic"},
  };
  for (const test::BadFile& c : cases) {
    const std::string p = write(c.name, c.bytes);
    EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_images(p); }),
                AllOf(HasSubstr("IDX file '" + p + "': "), HasSubstr(c.expected)))
        << c.name;
  }
  // Missing file and a folder.
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_images(path("absent")); }),
              AllOf(HasSubstr("IDX file '" + path("absent") + "': "), HasSubstr("no such file")));
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_labels(dir_.string()); }), HasSubstr("is a directory"));
  // Images read as labels: the rank is named.
  const std::string gp = write("good", good);
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_labels(gp); }),
              AllOf(HasSubstr("IDX file '" + gp + "': "), HasSubstr("3-D data (magic 0x00000803); need 1-D labels")));
  // Every message is one line.
  for (const test::BadFile& c : cases)
    EXPECT_EQ(test::runtime_error_message([&] { tools::load_idx_images(path(c.name)); }).find('\n'), std::string::npos) << c.name;
}

TEST_F(Idx, LabelsThatDoNotMatchTheImagesNameBothFiles) {
  const std::string ip = write("imgs", idx_bytes({3, 1, 1}, ramp(3)));
  const std::string lp = write("labs", idx_bytes({4}, ramp(4)));
  // Compared on the files' own counts, also when a prefix is asked for.
  for (const Eigen::Index max : {Eigen::Index{-1}, Eigen::Index{2}})
    EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_labelled(ip, lp, max); }),
                HasSubstr("IDX files '" + ip + "' (3 images) and '" + lp + "' (4 labels) do not match"));
}

TEST_F(Idx, DatasetFolderFindsGzippedOrPlainFilesAndNamesAMissingOne) {
  write("train-images-idx3-ubyte.gz", gzip(idx_bytes({4, 2, 2}, ramp(16))));
  write("train-labels-idx1-ubyte", idx_bytes({4}, ramp(4)));
  write("t10k-images-idx3-ubyte", idx_bytes({2, 2, 2}, ramp(8, 100)));
  EXPECT_FALSE(tools::idx_dataset_present(dir_.string()));
  EXPECT_THAT(test::runtime_error_message([&] { tools::load_idx_dataset(dir_.string()); }),
              HasSubstr("IDX data set folder '" + dir_.string() + "': missing t10k-labels-idx1-ubyte.gz"));
  write("t10k-labels-idx1-ubyte.gz", gzip(idx_bytes({2}, ramp(2, 5))));
  EXPECT_TRUE(tools::idx_dataset_present(dir_.string()));
  const tools::IdxDataset ds = tools::load_idx_dataset(dir_.string(), 3);
  EXPECT_EQ(ds.train.images.count(), 3);
  EXPECT_EQ(ds.train.labels, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ds.test.labels, (std::vector<int>{5, 6}));
  EXPECT_EQ(ds.test.images.pixels(1, 3), 107.0 / 255.0);
}

TEST(IdxFashionMnist, TheInstalledPackageHasTheDocumentedShape) {
  const std::string dir = tools::kFashionMnistDir;
  if (!tools::idx_dataset_present(dir))
    GTEST_SKIP() << "the Debian package dataset-fashion-mnist is not installed (no IDX files in " << dir
                 << "); scripts/setup installs it";
  const tools::IdxDataset ds = tools::load_idx_dataset(dir);
  ASSERT_EQ(ds.train.images.count(), 60000);
  ASSERT_EQ(ds.test.images.count(), 10000);
  EXPECT_EQ(ds.train.images.rows, 28);
  EXPECT_EQ(ds.train.images.cols, 28);
  EXPECT_EQ(ds.train.images.pixels.cols(), 784);
  EXPECT_EQ(ds.test.images.pixels.cols(), 784);
  EXPECT_GE(ds.train.images.pixels.minCoeff(), 0.0);
  EXPECT_LE(ds.train.images.pixels.maxCoeff(), 1.0);
  EXPECT_EQ(ds.train.images.pixels.maxCoeff(), 1.0);  // some pixel is saturated
  std::array<int, 10> train_count{}, test_count{};
  for (const int y : ds.train.labels) {
    ASSERT_GE(y, 0);
    ASSERT_LE(y, 9);
    ++train_count[static_cast<std::size_t>(y)];
  }
  for (const int y : ds.test.labels) {
    ASSERT_GE(y, 0);
    ASSERT_LE(y, 9);
    ++test_count[static_cast<std::size_t>(y)];
  }
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_count[static_cast<std::size_t>(c)], 6000) << "class " << c;
    EXPECT_EQ(test_count[static_cast<std::size_t>(c)], 1000) << "class " << c;
  }
}

}  // namespace
}  // namespace cldyn
