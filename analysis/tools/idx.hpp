#pragma once
/// \file idx.hpp
/// IDX files (the format of MNIST and Fashion-MNIST, http://yann.lecun.com/exdb/mnist/), plain
/// or gzipped, for the real-data checks and their tests: a strict reader of unsigned-byte image
/// sets (3-D: count × rows × cols) and label sets (1-D: count), and a loader of a data set
/// folder holding the four files of a train/test split.
///
/// Format: a 4-byte big-endian magic 0x00 0x00 <type> <rank>, then <rank> big-endian uint32
/// dimensions, then the data in C order. Only <type> 0x08 (unsigned byte) is accepted; images
/// need rank 3 (magic 0x00000803), labels rank 1 (magic 0x00000801). A file whose first two
/// bytes are the gzip magic 0x1f 0x8b is inflated (zlib) first, whatever its name; the
/// inflated bytes must then be an IDX file.
///
/// Every error is a std::runtime_error with one line "IDX file '<path>': <what is wrong>":
/// missing or unreadable file, empty file, a corrupt or truncated gzip stream (or bytes after
/// it), bad magic, another data type, another rank than the function reads, a zero dimension,
/// truncated data or bytes after the data. A data set whose label count differs from its image
/// count is refused naming both files.

#include <Eigen/Core>
#include <string>
#include <vector>

namespace cldyn::tools {

/// An image set: one image per row.
struct IdxImages {
  /// count × (rows·cols) doubles: row n is image n, column r·cols + c is pixel (r, c) (C order,
  /// as in the file), each the stored byte divided by 255, so every value is in [0, 1] exactly
  /// representable as k/255.
  Eigen::MatrixXd pixels;
  Eigen::Index rows = 0;  ///< image height
  Eigen::Index cols = 0;  ///< image width
  Eigen::Index count() const { return pixels.rows(); }
};

/// Reads an unsigned-byte 3-D IDX file (magic 0x00000803), plain or gzipped. With
/// `max_count` ≥ 0 only the first max_count images are converted (the whole file is still read
/// and checked); −1 converts all.
IdxImages load_idx_images(const std::string& path, Eigen::Index max_count = -1);

/// Reads an unsigned-byte 1-D IDX file (magic 0x00000801), plain or gzipped: one label in
/// [0, 255] per item. `max_count` as for load_idx_images.
std::vector<int> load_idx_labels(const std::string& path, Eigen::Index max_count = -1);

/// Images with one label each.
struct LabelledImages {
  IdxImages images;
  std::vector<int> labels;  ///< labels[n] belongs to images.pixels.row(n)
};

/// Reads an image file and its label file; their item counts must agree (std::runtime_error
/// "IDX files '<images>' (N images) and '<labels>' (M labels) do not match" otherwise).
/// `max_count` as for load_idx_images, applied to both.
LabelledImages load_idx_labelled(const std::string& images_path, const std::string& labels_path,
                                 Eigen::Index max_count = -1);

/// A train/test split.
struct IdxDataset {
  LabelledImages train, test;
};

/// The file names of a data set folder in the MNIST layout, as the Debian package
/// dataset-fashion-mnist installs them: train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
/// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (each also accepted without ".gz").
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// The path of `stem` (e.g. "train-images-idx3-ubyte") in `dir`: "<dir>/<stem>.gz" if that
/// exists, else "<dir>/<stem>" if that exists, else "" (neither).
std::string find_idx_file(const std::string& dir, const std::string& stem);

/// True when `dir` holds all four files of the layout above (gzipped or not).
bool idx_dataset_present(const std::string& dir);

/// Loads the four files of `dir` (layout above). `max_train` / `max_test` ≥ 0 keep only the
/// first so many items of each split (−1: all). Throws std::runtime_error naming the folder and
/// the missing file when one is absent, and the reader's message for a bad file.
IdxDataset load_idx_dataset(const std::string& dir, Eigen::Index max_train = -1,
                            Eigen::Index max_test = -1);

}  // namespace cldyn::tools
