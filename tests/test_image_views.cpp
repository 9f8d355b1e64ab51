// data::image_views and its parts (lib/cldyn/data/image_views.hpp): exact shifts with zero
// padding, flips, crops, the noise's statistics, the shift distribution, per-image streams and
// seed determinism, and the per-pixel mean removal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <stdexcept>
#include <utility>

#include "cldyn/data/image_views.hpp"

namespace cldyn {
namespace {

using data::ImageViewOptions;
using testing::HasSubstr;

/// A 5 × 7 image with pixel (r, c) = 1 + 10 r + c (all distinct and nonzero).
Eigen::VectorXd numbered(Eigen::Index h = 5, Eigen::Index w = 7) {
  Eigen::VectorXd x(h * w);
  for (Eigen::Index r = 0; r < h; ++r)
    for (Eigen::Index c = 0; c < w; ++c) x(r * w + c) = 1.0 + 10.0 * static_cast<double>(r) + static_cast<double>(c);
  return x;
}

/// N images, each a copy of x (one per row).
Eigen::MatrixXd copies(const Eigen::VectorXd& x, Eigen::Index n) { return x.transpose().replicate(n, 1); }

TEST(ImageViews, ShiftMovesEveryPixelExactlyAndPadsWithZeros) {
  const Eigen::Index h = 5, w = 7;
  const Eigen::VectorXd x = numbered(h, w);
  for (Eigen::Index sr = -3; sr <= 3; ++sr)
    for (Eigen::Index sc = -3; sc <= 3; ++sc) {
      const Eigen::VectorXd y = data::shift_image(x, h, w, sr, sc);
      for (Eigen::Index r = 0; r < h; ++r)
        for (Eigen::Index c = 0; c < w; ++c) {
          const Eigen::Index r_src = r - sr, c_src = c - sc;
          const bool inside = r_src >= 0 && r_src < h && c_src >= 0 && c_src < w;
          EXPECT_EQ(y(r * w + c), inside ? x(r_src * w + c_src) : 0.0) << sr << " " << sc << " " << r << " " << c;
        }
    }
  // A single bright pixel at (1, 2) shifted by (+2, −1) lands at (3, 1); nothing else is lit.
  Eigen::VectorXd dot = Eigen::VectorXd::Zero(h * w);
  dot(1 * w + 2) = 1.0;
  const Eigen::VectorXd moved = data::shift_image(dot, h, w, 2, -1);
  EXPECT_EQ(moved(3 * w + 1), 1.0);
  EXPECT_EQ(moved.sum(), 1.0);
  // Moved past the border: gone.
  EXPECT_EQ(data::shift_image(dot, h, w, 4, 0).sum(), 0.0);
  EXPECT_EQ(data::shift_image(dot, h, w, 0, -3).sum(), 0.0);
}

TEST(ImageViews, FlipMirrorsLeftRight) {
  const Eigen::VectorXd x = numbered();
  const Eigen::VectorXd y = data::flip_image(x, 5, 7);
  for (Eigen::Index r = 0; r < 5; ++r)
    for (Eigen::Index c = 0; c < 7; ++c) EXPECT_EQ(y(r * 7 + c), x(r * 7 + 6 - c));
  EXPECT_EQ(data::flip_image(y, 5, 7), x);
}

TEST(ImageViews, NoiselessViewsAreShiftsWithinRangeAndEveryShiftOccursUniformly) {
  // 2000 images, noise 0: each view must equal shift_image by some (s_r, s_c) in [−2, 2]²
  // (the numbered image identifies the shift uniquely), and the 25 shifts must be uniform:
  // chi-square with 24 degrees of freedom over 4000 views, below its 1e-6 quantile 72.0.
  const Eigen::Index h = 5, w = 7, n = 2000;
  const Eigen::VectorXd x = numbered(h, w);
  const ImageViewOptions opt{.noise_sigma = 0.0};
  const TwoViewBatch b = data::image_views(copies(x, n), h, w, opt, Rng(7));
  std::vector<long> counts(25, 0);
  for (const Eigen::MatrixXd* v : {&b.x, &b.x_prime})
    for (Eigen::Index i = 0; i < n; ++i) {
      int found = -1;
      for (int sr = -2; sr <= 2 && found < 0; ++sr)
        for (int sc = -2; sc <= 2 && found < 0; ++sc)
          if (v->row(i).transpose() == data::shift_image(x, h, w, sr, sc)) found = (sr + 2) * 5 + (sc + 2);
      ASSERT_GE(found, 0) << "view of image " << i << " is no shift in [-2, 2]^2";
      ++counts[static_cast<std::size_t>(found)];
    }
  const double expected = 2.0 * static_cast<double>(n) / 25.0;
  double chi2 = 0.0;
  for (const long c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  EXPECT_LT(chi2, 72.0);
  // The two views of one image are drawn independently: they differ in about 24/25 of images
  // (binomial(2000, 0.96), mean 1920, sd 8.8; bounds at ±6 sd).
  long differ = 0;
  for (Eigen::Index i = 0; i < n; ++i) differ += b.x.row(i) == b.x_prime.row(i) ? 0 : 1;
  EXPECT_GT(differ, 1920 - 53);
  EXPECT_LT(differ, 1920 + 53);
}

TEST(ImageViews, PixelNoiseHasTheStatedMeanAndVariance) {
  // Zero images, no shift: every entry is N(0, σ²). n = 2·500·784 = 784 000 values.
  const Eigen::Index h = 28, w = 28, n = 500;
  ImageViewOptions opt;
  opt.max_shift = 0;
  opt.noise_sigma = 0.1;
  const TwoViewBatch b = data::image_views(Eigen::MatrixXd::Zero(n, h * w), h, w, opt, Rng(11));
  const double count = 2.0 * static_cast<double>(n * h * w);
  const double mean = (b.x.sum() + b.x_prime.sum()) / count;
  // The sample mean has sd σ/√count = 1.1e-4; bound at 6 sd.
  EXPECT_LT(std::abs(mean), 6.0 * 0.1 / std::sqrt(count));
  // Σ v²/σ² is chi-square with `count` degrees of freedom: mean count, sd √(2·count) = 1252;
  // bound at 6 sd (relative 0.96%).
  const double chi2 = (b.x.squaredNorm() + b.x_prime.squaredNorm()) / (0.1 * 0.1);
  EXPECT_LT(std::abs(chi2 - count), 6.0 * std::sqrt(2.0 * count));
  // The two views' noises are independent: their correlation is N(0, 1/(count/2)) → |r| < 6/√392000.
  const double r = (b.x.array() * b.x_prime.array()).sum() / std::sqrt(b.x.squaredNorm() * b.x_prime.squaredNorm());
  EXPECT_LT(std::abs(r), 6.0 / std::sqrt(count / 2.0));
}

TEST(ImageViews, CropKeepsOneWindowAndFlipHappensHalfTheTime) {
  const Eigen::Index h = 5, w = 7, n = 4000;
  const Eigen::VectorXd x = numbered(h, w);
  const ImageViewOptions opt{.max_shift = 0, .noise_sigma = 0.0, .crop = 3, .hflip = true};
  const TwoViewBatch b = data::image_views(copies(x, n), h, w, opt, Rng(3));
  const Eigen::VectorXd flipped = data::flip_image(x, h, w);
  long flips = 0;
  std::set<std::pair<Eigen::Index, Eigen::Index>> corners;
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::VectorXd v = b.x.row(i).transpose();
    // The nonzero pixels form one 3 × 3 window, equal to x or to its mirror image there.
    Eigen::Index top = h, left = w, nonzero = 0;
    for (Eigen::Index r = 0; r < h; ++r)
      for (Eigen::Index c = 0; c < w; ++c)
        if (v(r * w + c) != 0.0) {
          ++nonzero;
          top = std::min(top, r);
          left = std::min(left, c);
        }
    ASSERT_EQ(nonzero, 9);
    corners.insert({top, left});
    bool is_flipped = true, is_plain = true;
    for (Eigen::Index r = top; r < top + 3; ++r)
      for (Eigen::Index c = left; c < left + 3; ++c) {
        is_plain = is_plain && v(r * w + c) == x(r * w + c);
        is_flipped = is_flipped && v(r * w + c) == flipped(r * w + c);
      }
    ASSERT_TRUE(is_plain != is_flipped) << i;
    flips += is_flipped ? 1 : 0;
  }
  // Every corner in [0, 2] × [0, 4] occurs; flips ~ binomial(4000, 1/2): sd 31.6, bound 6 sd.
  EXPECT_EQ(corners.size(), 15u);
  EXPECT_LT(std::abs(static_cast<double>(flips) - 2000.0), 6.0 * 31.63);
}

TEST(ImageViews, SameSeedSameViewsAndEachImageHasItsOwnStream) {
  const Eigen::Index h = 6, w = 6, n = 40;
  Rng data_rng(5);
  const Eigen::MatrixXd images = data_rng.normal_matrix(n, h * w);
  ImageViewOptions opt;
  opt.hflip = true;
  opt.crop = 5;
  const TwoViewBatch a = data::image_views(images, h, w, opt, Rng(42, 3));
  const TwoViewBatch b = data::image_views(images, h, w, opt, Rng(42, 3));
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.x_prime, b.x_prime);
  const TwoViewBatch c = data::image_views(images, h, w, opt, Rng(43, 3));
  EXPECT_NE(a.x, c.x);
  // Image i's views come from substream i alone: the views of rows 10..19 computed on their own
  // (with the matching substreams) are the same as inside the whole set.
  for (Eigen::Index i = 10; i < 20; ++i) {
    Rng r = Rng(42, 3).substream(static_cast<std::uint64_t>(i));
    const Eigen::VectorXd img = images.row(i).transpose();
    EXPECT_EQ(data::augment_image(img, h, w, opt, r), a.x.row(i).transpose());
    EXPECT_EQ(data::augment_image(img, h, w, opt, r), a.x_prime.row(i).transpose());
  }
}

TEST(ImageViews, PixelMeanRemoval) {
  Eigen::MatrixXd train(3, 4);
  train << 1, 2, 3, 4, 3, 2, 1, 0, 2, 2, 2, 2;
  const Eigen::RowVectorXd mean = data::pixel_mean(train);
  EXPECT_EQ(mean, Eigen::RowVectorXd::Constant(4, 2.0));
  const Eigen::MatrixXd centred = data::remove_pixel_mean(train, mean);
  EXPECT_EQ(centred.row(0), (Eigen::RowVectorXd(4) << -1, 0, 1, 2).finished());
  EXPECT_LT(data::remove_pixel_mean(train, data::pixel_mean(train)).colwise().sum().cwiseAbs().maxCoeff(), 1e-15);
  TwoViewBatch b{train, 2.0 * train};
  data::remove_pixel_mean(b, mean);
  EXPECT_EQ(b.x, centred);
  EXPECT_EQ(b.x_prime, 2.0 * train - Eigen::MatrixXd::Constant(3, 4, 2.0));
}

TEST(ImageViews, BadOptionsAndShapesAreRefusedByName) {
  const Eigen::MatrixXd images = Eigen::MatrixXd::Zero(3, 12);
  auto message = [&](ImageViewOptions o, Eigen::Index h, Eigen::Index w) {
    try {
      data::image_views(images, h, w, o, Rng(1));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("<no exception thrown>");
  };
  ImageViewOptions o;
  EXPECT_THAT(message(o, 3, 5), HasSubstr("image length (columns) = 12 violates H * W = 3 * 5"));
  o.max_shift = 3;
  EXPECT_THAT(message(o, 3, 4), HasSubstr("max_shift = 3 violates 0 <= max_shift < min(H, W) = 3"));
  o = {};
  o.noise_sigma = -0.1;
  EXPECT_THAT(message(o, 3, 4), HasSubstr("noise_sigma = -0.1 violates noise_sigma >= 0"));
  o = {};
  o.crop = 4;
  EXPECT_THAT(message(o, 3, 4), HasSubstr("crop = 4 violates 0 (off) or 1 <= crop <= min(H, W) = 3"));
  EXPECT_THAT([&] {
    try {
      data::image_views(Eigen::MatrixXd::Zero(1, 12), 3, 4, {}, Rng(1));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  }(), HasSubstr("N (images) = 1 violates N >= 2"));
}

}  // namespace
}  // namespace cldyn
