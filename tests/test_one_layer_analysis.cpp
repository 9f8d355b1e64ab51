// analysis::analyze_one_layer: every quantity cldyn-analyze reports, with α streamed in row
// blocks, against the dense functions it replaces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/models/one_layer.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using analysis::OneLayerAnalysis;
using analysis::OneLayerAnalysisOptions;
using testing::HasSubstr;

/// The streamed sums add the same products as the dense functions in another order (block by
/// block, with other GEMM shapes), so they differ by rounding only: a few ε·(number of terms)
/// relative to the size of the terms, about 1e-14 here. 1e-12 leaves room for the cancellation
/// between the curvature and the softmax-covariance terms of the InfoNCE Hessian, and is far
/// below any formula error (a wrong or missing term changes the result by O(1) relative).
constexpr double kRelTol = 1e-12;

std::vector<test::NamedLoss> losses() {
  return {{"quadratic", Loss::quadratic()},
          {"infonce(0.5,1)", Loss::infonce(0.5, 1.0)},
          {"infonce(0.5,0)", Loss::infonce(0.5, 0.0)},
          {"infonce(0.2,1)", Loss::infonce(0.2, 1.0)},
          {"infonce(0.2,0)", Loss::infonce(0.2, 0.0)}};
}

std::vector<Activation> activations() {
  return {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.2)};
}

/// Weights of norm ~0.7 keep the InfoNCE logits (distances/τ) of order one even at τ = 0.2,
/// so the softmax is neither uniform nor one-hot and every term of the Hessian matters.
OneLayerNetwork network(Eigen::Index d, Eigen::Index k, Activation act, std::uint64_t seed) {
  Rng rng(seed);
  return OneLayerNetwork(0.7 * rng.normal_matrix(d, k) / std::sqrt(static_cast<double>(d)), act);
}

/// The dense quantities analyze_one_layer replaces.
OneLayerAnalysis dense(const OneLayerNetwork& net, const TwoViewBatch& batch, const Loss& loss) {
  const LossEvaluation ev = loss.evaluate(net.forward(batch.x), net.forward(batch.x_prime));
  OneLayerAnalysis out;
  out.loss = ev.value;
  out.energy = net.energy(batch, ev.alpha);
  out.input_covariance = analysis::input_covariance(batch, ev.alpha);
  for (Eigen::Index k = 0; k < net.width(); ++k) {
    out.gated_covariance.push_back(analysis::frozen_alpha_jacobian(net, batch, ev.alpha, k));
    out.loss_hessian.push_back(analysis::loss_hessian(net, batch, loss, k));
  }
  out.energy_gradient = net.energy_gradient(batch, ev.alpha);
  out.loss_gradient = net.loss_gradient(batch, loss);
  return out;
}

/// Worst relative error over every field (the loss is compared exactly by the callers).
double worst_error(const OneLayerAnalysis& a, const OneLayerAnalysis& ref) {
  double worst = std::abs(a.energy - ref.energy) / std::abs(ref.energy);
  auto add = [&](const Eigen::MatrixXd& x, const Eigen::MatrixXd& y) {
    EXPECT_EQ(x.rows(), y.rows());
    EXPECT_EQ(x.cols(), y.cols());
    if (x.rows() == y.rows() && x.cols() == y.cols())
      worst = std::max(worst, test::relative_error(x, y));
  };
  add(a.input_covariance, ref.input_covariance);
  add(a.energy_gradient, ref.energy_gradient);
  add(a.loss_gradient, ref.loss_gradient);
  EXPECT_EQ(a.gated_covariance.size(), ref.gated_covariance.size());
  EXPECT_EQ(a.loss_hessian.size(), ref.loss_hessian.size());
  for (std::size_t k = 0; k < a.gated_covariance.size() && k < ref.gated_covariance.size(); ++k)
    add(a.gated_covariance[k], ref.gated_covariance[k]);
  for (std::size_t k = 0; k < a.loss_hessian.size() && k < ref.loss_hessian.size(); ++k)
    add(a.loss_hessian[k], ref.loss_hessian[k]);
  return worst;
}

/// Every field bit for bit.
bool identical(const OneLayerAnalysis& a, const OneLayerAnalysis& b) {
  return a.loss == b.loss && a.energy == b.energy && a.input_covariance == b.input_covariance &&
         a.gated_covariance == b.gated_covariance && a.energy_gradient == b.energy_gradient &&
         a.loss_gradient == b.loss_gradient && a.loss_hessian == b.loss_hessian;
}

TEST(OneLayerAnalysis, EveryFieldEqualsTheDenseFunctions) {
  // N = 45 is not a multiple of 7, so block_rows = 7 leaves a short last block.
  const Eigen::Index n = 45, d = 6, kk = 3;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 31);
  for (const Activation act : activations()) {
    const OneLayerNetwork net = network(d, kk, act, 32);
    for (const test::NamedLoss& c : losses()) {
      const OneLayerAnalysis ref = dense(net, batch, c.loss);
      for (const Eigen::Index b : {Eigen::Index{1}, Eigen::Index{7}, n, Eigen::Index{0}}) {
        OneLayerAnalysisOptions options;
        options.block_rows = b;
        const OneLayerAnalysis got = analysis::analyze_one_layer(net, batch, c.loss, options);
        const std::string where = act.name() + " " + c.name + " block_rows=" + std::to_string(b);
        // The loss comes from the same log Z as Loss::evaluate (same row blocks): exact.
        EXPECT_EQ(got.loss, ref.loss) << where;
        EXPECT_LE(worst_error(got, ref), kRelTol) << where;
      }
    }
  }
}

TEST(OneLayerAnalysis, SinkSeesEveryRowOnceAndTheRowsAreExactlyAlpha) {
  // N = 400 > 362 makes the library cut α into row blocks of 320 and 80 (default_block_rows),
  // so blocks of 7 and 333 straddle a library block (computed once, copied from a cache), and
  // 320 and the default take them in place.
  const Eigen::Index n = 400, d = 3, kk = 2;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 41);
  const OneLayerNetwork net = network(d, kk, Activation::relu(), 42);
  for (const test::NamedLoss& c : {losses()[0], losses()[1], losses()[4]}) {
    const Eigen::MatrixXd alpha =
        c.loss.pairwise_importance(net.forward(batch.x), net.forward(batch.x_prime)).matrix();
    for (const Eigen::Index b : {Eigen::Index{1}, Eigen::Index{7}, Eigen::Index{320},
                                 Eigen::Index{333}, n, Eigen::Index{0}}) {
      Eigen::MatrixXd seen = Eigen::MatrixXd::Constant(n, n, -1.0);
      Eigen::Index next = 0, calls = 0;
      OneLayerAnalysisOptions options;
      options.block_rows = b;
      options.gated_covariance = false;
      options.hessian = false;
      options.alpha_sink = [&](Eigen::Index row0, const Eigen::Ref<const Eigen::MatrixXd>& rows) {
        ++calls;
        EXPECT_EQ(row0, next) << "blocks out of order or repeated";
        ASSERT_EQ(rows.cols(), n);
        ASSERT_GE(rows.rows(), 1);
        ASSERT_LE(row0 + rows.rows(), n);
        seen.middleRows(row0, rows.rows()) = rows;
        next = row0 + rows.rows();
      };
      analysis::analyze_one_layer(net, batch, c.loss, options);
      const std::string where = c.name + " block_rows=" + std::to_string(b);
      EXPECT_EQ(next, n) << where;
      const Eigen::Index rows_per_call = analysis::one_layer_analysis_block_rows(n, b);
      EXPECT_EQ(calls, (n + rows_per_call - 1) / rows_per_call) << where;
      EXPECT_TRUE(seen == alpha) << where
                                 << ": max |diff| = " << (seen - alpha).cwiseAbs().maxCoeff();
    }
  }
}

TEST(OneLayerAnalysis, OptionsLeaveTheSkippedFieldsEmptyAndTheRestUnchanged) {
  const Eigen::Index n = 30, d = 4, kk = 3;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 51);
  for (const Activation act : activations()) {
    const OneLayerNetwork net = network(d, kk, act, 52);
    for (const test::NamedLoss& c : {losses()[0], losses()[1]}) {
      OneLayerAnalysis ref = dense(net, batch, c.loss);
      for (const bool gated : {false, true}) {
        for (const bool hessian : {false, true}) {
          OneLayerAnalysisOptions options;
          options.gated_covariance = gated;
          options.hessian = hessian;
          options.block_rows = 7;
          const OneLayerAnalysis got = analysis::analyze_one_layer(net, batch, c.loss, options);
          const std::string where = act.name() + " " + c.name + " gated=" + std::to_string(gated) +
                                    " hessian=" + std::to_string(hessian);
          EXPECT_EQ(got.gated_covariance.size(), gated ? static_cast<std::size_t>(kk) : 0u)
              << where;
          EXPECT_EQ(got.loss_hessian.size(), hessian ? static_cast<std::size_t>(kk) : 0u) << where;
          OneLayerAnalysis expected = ref;
          if (!gated) expected.gated_covariance.clear();
          if (!hessian) expected.loss_hessian.clear();
          EXPECT_EQ(got.loss, expected.loss) << where;
          EXPECT_LE(worst_error(got, expected), kRelTol) << where;
        }
      }
    }
  }
}

TEST(OneLayerAnalysis, BitIdenticalAtOneAndTwoThreads) {
  const Eigen::Index n = 50, d = 5, kk = 4;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 61);
  const int saved = omp_get_max_threads();
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    const OneLayerNetwork net = network(d, kk, act, 62);
    for (const test::NamedLoss& c : {losses()[0], losses()[2], losses()[3]}) {
      OneLayerAnalysisOptions options;
      options.block_rows = 7;
      omp_set_num_threads(1);
      const OneLayerAnalysis one = analysis::analyze_one_layer(net, batch, c.loss, options);
      omp_set_num_threads(2);
      const OneLayerAnalysis two = analysis::analyze_one_layer(net, batch, c.loss, options);
      EXPECT_TRUE(identical(one, two)) << act.name() << " " << c.name;
    }
  }
  omp_set_num_threads(saved);
}

TEST(OneLayerAnalysis, ProgressRisesToOneOnTheCallingThread) {
  const Eigen::Index n = 40, d = 3, kk = 2;
  const TwoViewBatch batch = test::gaussian_batch(n, d, 0.3, 71);
  const OneLayerNetwork net = network(d, kk, Activation::relu(), 72);
  for (const test::NamedLoss& c : {losses()[0], losses()[1]}) {
    std::vector<double> seen;
    bool on_caller = true;
    OneLayerAnalysisOptions options;
    options.block_rows = 9;
    options.progress = [&](double p) {
      seen.push_back(p);
      on_caller = on_caller && omp_get_thread_num() == 0 && !omp_in_parallel();
    };
    analysis::analyze_one_layer(net, batch, c.loss, options);
    ASSERT_GE(seen.size(), 2u) << c.name;
    EXPECT_EQ(seen.front(), 0.0) << c.name;
    EXPECT_EQ(seen.back(), 1.0) << c.name;
    for (std::size_t i = 1; i < seen.size(); ++i) EXPECT_GE(seen[i], seen[i - 1]) << c.name;
    EXPECT_TRUE(on_caller) << c.name;
  }
}

TEST(OneLayerAnalysis, DefaultBlocksAndPeakBytes) {
  // Default: about 64 MiB of α (2^23 doubles) per block, whole library blocks, at most N.
  EXPECT_EQ(analysis::one_layer_analysis_block_rows(45, 0), 45);
  const Eigen::Index b = analysis::one_layer_analysis_block_rows(20000, 0);
  EXPECT_LE(b * 20000, Eigen::Index{1} << 23);
  EXPECT_GE(b * 20000, (Eigen::Index{1} << 23) / 2);
  EXPECT_EQ(analysis::one_layer_analysis_block_rows(100, 7), 7);
  EXPECT_EQ(analysis::one_layer_analysis_block_rows(100, 1000), 100);
  // The size (N = 20 000, d = 256, K = 16) fits in 1 GiB at two threads, and the
  // estimate covers at least α's block and the per-thread copy of it.
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  const double bytes = analysis::analyze_one_layer_peak_bytes(20000, 256, 16, {});
  // Smaller blocks need less.
  OneLayerAnalysisOptions small;
  small.block_rows = 64;
  const double small_bytes = analysis::analyze_one_layer_peak_bytes(20000, 256, 16, small);
  omp_set_num_threads(saved);
  EXPECT_LT(bytes, 1024.0 * 1024 * 1024);
  EXPECT_GE(bytes, 3.0 * 8.0 * static_cast<double>(b) * 20000);
  EXPECT_LT(small_bytes, bytes);
}

TEST(OneLayerAnalysis, BadInputsThrow) {
  const TwoViewBatch batch = test::gaussian_batch(10, 3, 0.3, 81);
  const OneLayerNetwork net = network(3, 2, Activation::relu(), 82);
  const OneLayerNetwork wide = network(4, 2, Activation::relu(), 83);
  const Loss loss = Loss::infonce(0.5);
  EXPECT_THAT(
      test::invalid_argument_message([&] { analysis::analyze_one_layer(wide, batch, loss); }),
      HasSubstr("d of the batch = 3"));
  OneLayerAnalysisOptions negative;
  negative.block_rows = -1;
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { analysis::analyze_one_layer(net, batch, loss, negative); }),
              HasSubstr("block_rows = -1 violates block_rows >= 0"));
  TwoViewBatch ragged = batch;
  ragged.x_prime = ragged.x_prime.topRows(9).eval();
  EXPECT_THAT(
      test::invalid_argument_message([&] { analysis::analyze_one_layer(net, ragged, loss); }),
      HasSubstr("analyze_one_layer"));
  TwoViewBatch nan = batch;
  nan.x(2, 1) = std::nan("");
  EXPECT_THAT(test::invalid_argument_message(
                  [&] { analysis::analyze_one_layer(net, nan, Loss::quadratic()); }),
              HasSubstr("analyze_one_layer"));
  EXPECT_THAT(
      test::invalid_argument_message([&] { analysis::analyze_one_layer_peak_bytes(1, 3, 2, {}); }),
      HasSubstr("N = 1 violates N >= 2"));
  EXPECT_THAT(
      test::invalid_argument_message([&] { analysis::analyze_one_layer_peak_bytes(10, 0, 2, {}); }),
      HasSubstr("d = 0 violates d >= 1"));
  EXPECT_THAT(
      test::invalid_argument_message([&] { analysis::one_layer_analysis_block_rows(10, -2); }),
      HasSubstr("block_rows = -2"));
}

}  // namespace
}  // namespace cldyn
