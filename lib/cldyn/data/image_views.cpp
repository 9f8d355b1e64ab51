#include "cldyn/data/image_views.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::data {

void ImageViewOptions::validate(Eigen::Index height, Eigen::Index width) const {
  constexpr const char* where = "ImageViewOptions";
  require(height >= 1 && width >= 1, where, "image size H x W with H", height,
          "H >= 1 and W >= 1 (W = " + std::to_string(width) + ")");
  require(max_shift >= 0 && max_shift < std::min(height, width), where, "max_shift", max_shift,
          "0 <= max_shift < min(H, W) = " + std::to_string(std::min(height, width)));
  require(std::isfinite(noise_sigma) && noise_sigma >= 0.0, where, "noise_sigma", noise_sigma,
          "noise_sigma >= 0");
  require(crop >= 0 && crop <= std::min(height, width), where, "crop", crop,
          "0 (off) or 1 <= crop <= min(H, W) = " + std::to_string(std::min(height, width)));
}

namespace {
void require_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height, Eigen::Index width,
                   const char* where) {
  require(height >= 1 && width >= 1, where, "H", height, "H >= 1 and W >= 1 (W = " + std::to_string(width) + ")");
  require(x.size() == height * width, where, "image length", x.size(),
          "H * W = " + std::to_string(height * width));
}
}  // namespace

Eigen::VectorXd shift_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                            Eigen::Index width, Eigen::Index shift_rows, Eigen::Index shift_cols) {
  require_image(x, height, width, "shift_image");
  Eigen::VectorXd out = Eigen::VectorXd::Zero(x.size());
  // Target rows r with 0 <= r - shift_rows < H, target columns likewise.
  const Eigen::Index r0 = std::max<Eigen::Index>(0, shift_rows), r1 = std::min(height, height + shift_rows);
  const Eigen::Index c0 = std::max<Eigen::Index>(0, shift_cols), c1 = std::min(width, width + shift_cols);
  for (Eigen::Index r = r0; r < r1; ++r)
    for (Eigen::Index c = c0; c < c1; ++c) out(r * width + c) = x((r - shift_rows) * width + (c - shift_cols));
  return out;
}

Eigen::VectorXd flip_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                           Eigen::Index width) {
  require_image(x, height, width, "flip_image");
  Eigen::VectorXd out(x.size());
  for (Eigen::Index r = 0; r < height; ++r)
    for (Eigen::Index c = 0; c < width; ++c) out(r * width + c) = x(r * width + (width - 1 - c));
  return out;
}

namespace {
/// Uniform integer in [lo, hi].
Eigen::Index uniform_in(Rng& rng, Eigen::Index lo, Eigen::Index hi) {
  return lo + static_cast<Eigen::Index>(rng.uniform_index(static_cast<std::uint64_t>(hi - lo + 1)));
}
}  // namespace

Eigen::VectorXd augment_image(const Eigen::Ref<const Eigen::VectorXd>& x, Eigen::Index height,
                              Eigen::Index width, const ImageViewOptions& options, Rng& rng) {
  require_image(x, height, width, "augment_image");
  options.validate(height, width);
  Eigen::VectorXd v = x;
  if (options.hflip && rng.uniform() < 0.5) v = flip_image(v, height, width);
  const Eigen::Index m = options.max_shift;
  const Eigen::Index sr = uniform_in(rng, -m, m);
  const Eigen::Index sc = uniform_in(rng, -m, m);
  if (sr != 0 || sc != 0) v = shift_image(v, height, width, sr, sc);
  if (options.crop > 0) {
    const Eigen::Index top = uniform_in(rng, 0, height - options.crop);
    const Eigen::Index left = uniform_in(rng, 0, width - options.crop);
    for (Eigen::Index r = 0; r < height; ++r)
      for (Eigen::Index c = 0; c < width; ++c)
        if (r < top || r >= top + options.crop || c < left || c >= left + options.crop) v(r * width + c) = 0.0;
  }
  if (options.noise_sigma > 0.0)
    for (Eigen::Index j = 0; j < v.size(); ++j) v(j) += options.noise_sigma * rng.normal();
  return v;
}

TwoViewBatch image_views(const Eigen::Ref<const Eigen::MatrixXd>& images, Eigen::Index height,
                         Eigen::Index width, const ImageViewOptions& options, const Rng& rng) {
  constexpr const char* where = "image_views";
  require(images.rows() >= 2, where, "N (images)", images.rows(), "N >= 2");
  require(images.cols() == height * width, where, "image length (columns)", images.cols(),
          "H * W = " + std::to_string(height) + " * " + std::to_string(width));
  require_finite(images, where, "images");
  options.validate(height, width);
  TwoViewBatch b;
  b.x.resize(images.rows(), images.cols());
  b.x_prime.resize(images.rows(), images.cols());
  for (Eigen::Index i = 0; i < images.rows(); ++i) {
    Rng r = rng.substream(static_cast<std::uint64_t>(i));
    const Eigen::VectorXd img = images.row(i).transpose();
    b.x.row(i) = augment_image(img, height, width, options, r).transpose();
    b.x_prime.row(i) = augment_image(img, height, width, options, r).transpose();
  }
  return b;
}

Eigen::RowVectorXd pixel_mean(const Eigen::Ref<const Eigen::MatrixXd>& images) {
  require(images.rows() >= 1, "pixel_mean", "N (images)", images.rows(), "N >= 1");
  return images.colwise().mean();
}

Eigen::MatrixXd remove_pixel_mean(const Eigen::Ref<const Eigen::MatrixXd>& images,
                                  const Eigen::Ref<const Eigen::RowVectorXd>& mean) {
  require(mean.size() == images.cols(), "remove_pixel_mean", "mean length", mean.size(),
          "== image length " + std::to_string(images.cols()));
  return images.rowwise() - mean;
}

void remove_pixel_mean(TwoViewBatch& batch, const Eigen::Ref<const Eigen::RowVectorXd>& mean) {
  require(mean.size() == batch.dim(), "remove_pixel_mean", "mean length", mean.size(),
          "== image length " + std::to_string(batch.dim()));
  batch.x.rowwise() -= mean;
  batch.x_prime.rowwise() -= mean;
}

}  // namespace cldyn::data
