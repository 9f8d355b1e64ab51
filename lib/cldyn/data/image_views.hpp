#pragma once
/// \file image_views.hpp
/// The view distribution for real images (docs/theory.md, "Views of real images"): two
/// independent random augmentations of each image, so that a set of N grey images becomes a
/// two-view batch (theory §1) X, X' of N × H·W.
///
/// One view of an image x (H × W pixels, stored as a row of H·W values in C order, pixel (r, c)
/// at column r·W + c) is drawn in this order:
///  1. hflip (optional): with probability 1/2 the image is mirrored left–right, (r, c) → (r, W−1−c);
///  2. shift: integers (s_r, s_c) uniform in [−max_shift, max_shift]² move the content down by s_r
///     and right by s_c: view(r, c) = x(r − s_r, c − s_c) where that pixel exists, 0 otherwise
///     (zero padding; pixels moved past the border are lost);
///  3. crop (optional, crop = c > 0): a c × c window at a uniform position (top-left corner
///     uniform in [0, H−c] × [0, W−c]) is kept and every pixel outside it is set to 0 (the
///     dimension stays H·W: no resize);
///  4. noise: every pixel gets independent N(0, noise_sigma²) noise.
/// The two views of image i are drawn one after the other from rng.substream(i), so each image's
/// views depend only on (seed, stream, i): the same with any subset or order of images and at
/// any thread count.

#include <Eigen/Core>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn::data {

struct ImageViewOptions {
  Eigen::Index max_shift = 2;  ///< shifts uniform in [−max_shift, max_shift] pixels per axis, ≥ 0
  double noise_sigma = 0.1;    ///< pixel noise σ ≥ 0, finite
  Eigen::Index crop = 0;       ///< 0: off; else the side c of the kept window, 1 ≤ c ≤ min(H, W)
  bool hflip = false;          ///< mirror left–right with probability 1/2

  /// Throws std::invalid_argument naming the parameter, value and constraint (crop against
  /// the image size, max_shift against it too: a shift of H or more empties the view).
  void validate(Eigen::Index height, Eigen::Index width) const;
};

/// x (one image, H·W values) moved down by `shift_rows` and right by `shift_cols` pixels
/// (negative: up / left) with zero padding: out(r, c) = x(r − shift_rows, c − shift_cols) or 0.
Eigen::VectorXd shift_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                            Eigen::Index width, Eigen::Index shift_rows, Eigen::Index shift_cols);

/// x mirrored left–right: out(r, c) = x(r, W − 1 − c).
Eigen::VectorXd flip_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                           Eigen::Index width);

/// One view of one image (steps 1–4 of the file comment), drawn from `rng` (advanced).
Eigen::VectorXd augment_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                              Eigen::Index width, const ImageViewOptions& options, Rng& rng);

/// Two independent views of every image: images is N × H·W (N ≥ 2, finite); row i of X and X'
/// are augment_image of row i, drawn in that order from rng.substream(i) (rng is not advanced).
TwoViewBatch image_views(const Eigen::Ref<const Eigen::MatrixXd>& images, Eigen::Index height,
                         Eigen::Index width, const ImageViewOptions& options, const Rng& rng);

/// Per-pixel mean of a set of images (N × H·W, N ≥ 1): a row of H·W column means. Compute it on
/// the training images and remove it from everything (views, train and test images) with
/// remove_pixel_mean, so that no test statistic leaks into the features.
Eigen::RowVectorXd pixel_mean(const Eigen::Ref<const Eigen::MatrixXd>& images);

/// images − mean in every row (images N × H·W, mean 1 × H·W).
Eigen::MatrixXd remove_pixel_mean(const Eigen::Ref<const Eigen::MatrixXd>& images,
                                  const Eigen::Ref<const Eigen::RowVectorXd>& mean);

/// Both views of `batch` minus `mean` (in place).
void remove_pixel_mean(TwoViewBatch& batch, const Eigen::Ref<const Eigen::RowVectorXd>& mean);

}  // namespace cldyn::data
