// check_fashion_mnist — the theory on real images (issue 16): one-layer α-CL on augmented
// Fashion-MNIST views (docs/theory.md, "Views of real images"), linear and ReLU nodes under the
// quadratic loss and InfoNCE at two temperatures, with the theory's prediction and the training
// side by side on the same fixed batch.
//
//  - Claim 1 on real data (asserted): linear nodes under the quadratic loss all end at ± the top
//    eigenvector of C_α[x] of the views (uniform α; Spectra on d = 784), |cos| ≥ 0.99.
//  - The prediction: certified fixed points of the sample landscape of one node (the same batch,
//    activation and loss) from random starts, each with its stability verdict, energy and basin;
//    every trained node's cosine to the nearest predicted point. Asserted for the quadratic loss,
//    where α is uniform and the nodes are independent ascents on exactly that landscape;
//    reported for InfoNCE, whose α couples the K nodes (a K-node landscape, not the one-node one).
//  - What nonlinearity buys, over several seeds (each seed its own images, views and starts):
//    distinct directions among the trained nodes and a linear probe's test accuracy on the labels
//    (closed-form ridge regression on the features of clean train images, scored on the test
//    split). Asserted: ReLU above linear under the quadratic loss in every seed, with every
//    seed's Clopper–Pearson interval of ReLU above every seed's interval of linear.
//
// Without the Debian package dataset-fashion-mnist (or the folder --data names) the check prints
// one line saying so and exits 0.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Cholesky>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/data/image_views.hpp"
#include "common/check.hpp"
#include "common/shape.hpp"
#include "idx.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

/// This check's random streams (contributing.md, Naming; values fixed by the goldens).
enum Stream : std::uint64_t {
  kViews = 0,  // the augmented views, one substream per seed
  kTrainingRuns = 1,  // parallel_runs over settings x seeds
  kInit = 2,  // initial weights, one substream per seed
  kSearch = 3,  // the certified search, per setting and seed
};

struct FashionOptions {
  std::string data = tools::kFashionMnistDir;  ///< folder of the four IDX files
  /// Images of the train split used (the first ones): the batch, the probe's fit and the pixel
  /// mean come from them.
  Eigen::Index train_images = 60000;
  Eigen::Index n = 500;        ///< training images in the fixed two-view batch
  Eigen::Index k = 16;         ///< nodes
  Eigen::Index seeds = 5;      ///< independent repetitions (images, views, starts)
  Eigen::Index steps = 200;    ///< full-batch ascent steps (fewer when the quadratic loss converges)
  double lr = 1.0;             ///< learning rate of the quadratic loss
  double nce_lr = 0.0;         ///< InfoNCE learning rate; 0: lr·(N−1)
  std::vector<double> taus = {5.0, 50.0};
  Eigen::Index max_shift = 2;
  double noise = 0.1;
  Eigen::Index crop = 0;
  bool hflip = false;
  Eigen::Index probe_train = 10000;  ///< clean train images the probe is fitted on
  Eigen::Index probe_test = 10000;   ///< test images it is scored on
  double ridge = 1e-3;               ///< ridge λ relative to tr(ΦᵀΦ)/(K + 1)
  Eigen::Index starts = 8;           ///< random starts of the certified search, quadratic loss
  /// Random starts of the certified search under InfoNCE (ascent only, no polish: the Newton
  /// polish forms the full InfoNCE loss Hessian, O(N²d²), a minute per start at d = 784).
  Eigen::Index nce_starts = 2;
  Eigen::Index nce_ascent_iterations = 1000;  ///< ascent budget of those starts
  Eigen::Index prediction_seeds = 1; ///< seeds (the first ones) whose landscapes are searched
  double cos_threshold = 0.99;       ///< Claim 1: |cos| to the top eigenvector
  double match_cos = 0.99;           ///< a node sits at a predicted point
  double distinct_cos = 0.99;        ///< two nodes are one direction
  double confidence = 0.95;          ///< intervals

  void describe(OptionSet& set) {
    set.add("--data", data, "Folder of the Fashion-MNIST IDX files (Debian package dataset-fashion-mnist)");
    set.add("--train-images", train_images, "Images of the train split used (the first ones)")
        ->check(CLI::Range(2, 60000));
    set.add("--n", n, "Training images in the fixed two-view batch")->check(CLI::Range(2, 60000));
    set.add("--k", k, "Nodes K")->check(CLI::Range(1, 4096));
    set.add("--seeds", seeds, "Seeds (each: its own images, views and initial nodes)")->check(CLI::Range(1, 1000));
    set.add("--steps", steps, "Full-batch ascent steps per run")->check(CLI::Range(1, 10000000));
    set.add("--lr", lr, "Learning rate of the quadratic loss")->check(positive_number());
    set.add("--nce-lr", nce_lr, "InfoNCE learning rate; 0 means lr·(N−1) (InfoNCE α rows sum to at most 1)",
            "nce_learning_rate")
        ->check(non_negative_number());
    set.add("--taus", taus, "InfoNCE temperatures τ")->check(positive_number());
    set.add("--max-shift", max_shift, "Views: shifts uniform in [-s, s] pixels per axis", "views/max_shift")
        ->check(CLI::Range(0, 27));
    set.add("--noise", noise, "Views: pixel noise σ", "views/noise_sigma")->check(non_negative_number());
    set.add("--crop", crop, "Views: side of the kept random window (0: off)", "views/crop")->check(CLI::Range(0, 28));
    set.add("--hflip", hflip, "Views: mirror left-right with probability 1/2", "views/hflip");
    set.add("--probe-train", probe_train, "Clean train images the linear probe is fitted on")
        ->check(CLI::Range(10, 60000));
    set.add("--probe-test", probe_test, "Test images the probe is scored on")->check(CLI::Range(10, 10000));
    set.add("--ridge", ridge, "Probe ridge λ, relative to tr(ΦᵀΦ)/(K+1)")->check(positive_number());
    set.add("--starts", starts, "Random starts of the certified fixed-point search per setting")
        ->check(CLI::Range(1, 100000));
    set.add("--nce-starts", nce_starts, "Random starts of the certified search under InfoNCE (ascent only)")
        ->check(CLI::Range(0, 100000));
    set.add("--nce-ascent-iterations", nce_ascent_iterations, "Ascent iterations of those starts")
        ->check(CLI::Range(1, 10000000));
    set.add("--prediction-seeds", prediction_seeds, "Seeds whose landscapes get the certified search")
        ->check(CLI::Range(1, 1000));
    set.add("--cos-threshold", cos_threshold, "Claim 1: |cos| to the top eigenvector")->check(CLI::Range(0.0, 1.0));
    set.add("--match-cos", match_cos, "Cosine at which a trained node sits at a predicted point")
        ->check(CLI::Range(0.0, 1.0));
    set.add("--distinct-cos", distinct_cos, "Cosine at which two nodes are one direction")
        ->check(CLI::Range(0.0, 1.0));
    set.record("confidence", confidence);
    set.record("optimizer", optimizer);
  }
  void validate() const {
    require(n <= train_images, "--n", "training images in the batch", n,
            "<= --train-images = " + std::to_string(train_images));
    require(probe_train <= train_images, "--probe-train", "probe images", probe_train,
            "<= --train-images = " + std::to_string(train_images));
    require(prediction_seeds <= seeds, "--prediction-seeds", "seeds searched", prediction_seeds,
            "<= --seeds = " + std::to_string(seeds));
    require(crop == 0 || crop > max_shift, "--crop", "window side", crop,
            "0 (off) or > --max-shift = " + std::to_string(max_shift));
  }
  /// Without the data set the check says so and exits 0 (run_check): it is optional at run time.
  std::optional<std::string> skip_reason() const {
    if (tools::idx_dataset_present(data)) return std::nullopt;
    return "the package dataset-fashion-mnist is not installed (no Fashion-MNIST IDX files in '" + data +
           "'; scripts/setup installs it, --data DIR points elsewhere)";
  }
  void use_smoke_sizes() {
    n = std::min<Eigen::Index>(n, 200);
    k = std::min<Eigen::Index>(k, 8);
    steps = std::min<Eigen::Index>(steps, 100);
    probe_train = std::min<Eigen::Index>(probe_train, 2000);
    // probe_test stays: the Clopper-Pearson intervals of the probe claim need the test images.
    starts = std::min<Eigen::Index>(starts, 6);
    train_images = std::min<Eigen::Index>(train_images, 10000);
    nce_starts = std::min<Eigen::Index>(nce_starts, 1);
    nce_ascent_iterations = std::min<Eigen::Index>(nce_ascent_iterations, 300);
  }
  /// Peak memory estimate (bytes): the train and test images as doubles, per seed its two views
  /// and probe images, and the InfoNCE N × N matrices of the runs in flight (2 threads).
  double memory_bytes() const {
    const double d = 784.0, images = static_cast<double>(train_images + probe_test);
    const double per_seed = static_cast<double>(2 * n + probe_train) * d;
    return 8.0 * (images * d + static_cast<double>(seeds) * per_seed) + 2.0 * infonce_batch_bytes(n);
  }
  std::string memory_what() const {
    return "the run on " + std::to_string(train_images) + " train images and N = " + std::to_string(n);
  }
  data::ImageViewOptions views() const {
    data::ImageViewOptions v;
    v.max_shift = max_shift;
    v.noise_sigma = noise;
    v.crop = crop;
    v.hflip = hflip;
    return v;
  }
  double nce_rate() const { return nce_lr > 0.0 ? nce_lr : lr * static_cast<double>(n - 1); }
  std::string optimizer = "full batch (fixed views), plain ascent, renormalize, tolerance 1e-10";
};

/// One activation × loss combination.
struct Setting {
  std::string name;  // "linear/quadratic", "relu/infonce(tau=5)", …
  Activation activation = Activation::linear();
  Loss loss = Loss::quadratic();
  bool quadratic = true;
  double tau = 0.0;
};

std::vector<Setting> settings_of(const FashionOptions& o) {
  std::vector<Setting> out;
  for (const Activation& a : {Activation::linear(), Activation::relu()}) {
    const std::string an = a.is_linear() ? "linear" : "relu";
    out.push_back({an + "/quadratic", a, Loss::quadratic(), true, 0.0});
    for (double tau : o.taus) out.push_back({an + "/infonce(tau=" + shortest(tau) + ")", a, Loss::infonce(tau, 1.0), false, tau});
  }
  return out;
}

/// A certified point of one setting's landscape.
struct PredictedPoint {
  Eigen::VectorXd w;
  double energy = 0.0, lambda = 0.0, residual = 0.0;
  bool stable = false;
  std::string kind;
  Eigen::Index basin = 0;      ///< random starts that certified here
  Eigen::Index active_set = 0;
};

struct Prediction {
  std::vector<PredictedPoint> points;
  Eigen::Index starts = 0, certified = 0;
  double seconds = 0.0;
};

struct Run {
  TrainResult result;
  Eigen::MatrixXd w;                 ///< d × K, unit columns
  Eigen::Index distinct = 0;
  std::vector<Eigen::Index> cluster_sizes;
  long correct = 0, tested = 0;
  double accuracy = 0.0;
  analysis::BinomialInterval interval;
  std::vector<double> cos_top;       ///< |cos| of each node to the top eigenvector of C_α[x]
  std::vector<double> cos_nearest;   ///< prediction seeds: cos to the nearest predicted point
  std::vector<Eigen::Index> nearest; ///< its index (−1: none)
  double seconds = 0.0;              ///< wall time of training and probe
};

struct SeedData {
  Eigen::VectorXd top;      ///< top eigenvector of C_α[x] (uniform α) of the views
  Eigen::VectorXd eigenvalues;  ///< its top 3 eigenvalues
  double eigen_residual = 0.0;
};

struct FashionResult {
  std::vector<Setting> settings;
  std::vector<SeedData> seeds;
  std::vector<std::vector<Run>> runs;                ///< [setting][seed]
  std::vector<std::vector<Prediction>> predictions;  ///< [setting][prediction seed]
  Eigen::Index d = 0, height = 0, width = 0;
  double seconds_load = 0.0, seconds_train = 0.0, seconds_predict = 0.0;
};

/// Closed-form ridge probe: Φ = [features, 1] of the train images, B = (ΦᵀΦ + λI)⁻¹ΦᵀY with Y
/// one-hot (10 classes), accuracy of argmax(Φ_test B) on the test labels. λ = ridge·tr(ΦᵀΦ)/(K+1).
long probe_correct(const Eigen::MatrixXd& f_train, const std::vector<int>& y_train, const Eigen::MatrixXd& f_test,
                   const std::vector<int>& y_test, double ridge) {
  const Eigen::Index n = f_train.rows(), k = f_train.cols();
  Eigen::MatrixXd phi(n, k + 1);
  phi << f_train, Eigen::VectorXd::Ones(n);
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(n, 10);
  for (Eigen::Index i = 0; i < n; ++i) y(i, y_train[static_cast<std::size_t>(i)]) = 1.0;
  Eigen::MatrixXd g = phi.transpose() * phi;
  const double lambda = ridge * g.trace() / static_cast<double>(k + 1);
  g.diagonal().array() += lambda;
  const Eigen::MatrixXd b = g.ldlt().solve(phi.transpose() * y);
  Eigen::MatrixXd phi_test(f_test.rows(), k + 1);
  phi_test << f_test, Eigen::VectorXd::Ones(f_test.rows());
  const Eigen::MatrixXd scores = phi_test * b;
  long correct = 0;
  for (Eigen::Index i = 0; i < scores.rows(); ++i) {
    Eigen::Index best = 0;
    scores.row(i).maxCoeff(&best);
    correct += best == y_test[static_cast<std::size_t>(i)] ? 1 : 0;
  }
  return correct;
}

/// `count` distinct indices of [0, n), uniformly (partial Fisher–Yates), in drawn order.
std::vector<Eigen::Index> sample_indices(Eigen::Index n, Eigen::Index count, Rng& rng) {
  std::vector<Eigen::Index> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), Eigen::Index{0});
  for (Eigen::Index i = 0; i < count; ++i) {
    const auto j = i + static_cast<Eigen::Index>(rng.uniform_index(static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
  idx.resize(static_cast<std::size_t>(count));
  return idx;
}

Eigen::MatrixXd rows_of(const Eigen::MatrixXd& m, const std::vector<Eigen::Index>& idx) {
  Eigen::MatrixXd out(static_cast<Eigen::Index>(idx.size()), m.cols());
  for (std::size_t i = 0; i < idx.size(); ++i) out.row(static_cast<Eigen::Index>(i)) = m.row(idx[i]);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

FashionResult compute(const FashionOptions& o, std::uint64_t seed, const Context& ctx = {}) {
  FashionResult res;
  auto t0 = std::chrono::steady_clock::now();
  const tools::IdxDataset ds = tools::load_idx_dataset(o.data, o.train_images, o.probe_test);
  res.height = ds.train.images.rows;
  res.width = ds.train.images.cols;
  res.d = ds.train.images.pixels.cols();
  const Eigen::Index n_train = ds.train.images.count();
  require(o.n <= n_train && o.probe_train <= n_train, "check_fashion_mnist", "--n / --probe-train",
          std::max(o.n, o.probe_train), "<= train images " + std::to_string(n_train));
  // Pixel mean of the train images used: removed from views, probe and test images alike.
  const Eigen::RowVectorXd mean = data::pixel_mean(ds.train.images.pixels);
  const Eigen::MatrixXd test = data::remove_pixel_mean(ds.test.images.pixels, mean);
  res.seconds_load = seconds_since(t0);

  res.settings = settings_of(o);
  const auto n_settings = static_cast<Eigen::Index>(res.settings.size());
  const Rng root(seed);
  // Per seed: the batch images, their views and the probe's train images (stream 0, substream s).
  std::vector<TwoViewBatch> batches(static_cast<std::size_t>(o.seeds));
  std::vector<Eigen::MatrixXd> probe_x(static_cast<std::size_t>(o.seeds));
  std::vector<std::vector<int>> probe_y(static_cast<std::size_t>(o.seeds));
  res.seeds.resize(static_cast<std::size_t>(o.seeds));
  t0 = std::chrono::steady_clock::now();
  parallel_runs(o.seeds, root.substream(kViews), 0, "views", ctx, [&](long s, Rng& rng) {
    const auto su = static_cast<std::size_t>(s);
    const std::vector<Eigen::Index> idx = sample_indices(n_train, o.n, rng);
    TwoViewBatch b = data::image_views(rows_of(ds.train.images.pixels, idx), res.height, res.width, o.views(),
                                       rng.substream(1));
    data::remove_pixel_mean(b, mean);
    const std::vector<Eigen::Index> pidx = sample_indices(n_train, o.probe_train, rng);
    probe_x[su] = data::remove_pixel_mean(rows_of(ds.train.images.pixels, pidx), mean);
    for (const Eigen::Index i : pidx) probe_y[su].push_back(ds.train.labels[static_cast<std::size_t>(i)]);
    // Claim 1's matrix: C_α[x] of the views with uniform α, matrix-free through Spectra.
    const ContrastiveCovarianceOperator op(PairwiseImportance::uniform(o.n), b.x, b.x_prime);
    const analysis::EigenResult eig = analysis::top_eigenpairs_matrix_free(op, 3);
    if (eig.status != Status::success) throw std::runtime_error("Spectra: " + eig.message);
    res.seeds[su].top = eig.vectors.col(0);
    res.seeds[su].eigenvalues = eig.values;
    res.seeds[su].eigen_residual = eig.residual;
    batches[su] = std::move(b);
  });

  // Training: every setting × seed, its own stream; the initial nodes depend on the seed only,
  // so every setting of a seed starts from the same W.
  res.runs.assign(static_cast<std::size_t>(n_settings), std::vector<Run>(static_cast<std::size_t>(o.seeds)));
  parallel_runs(n_settings * o.seeds, root.substream(kTrainingRuns), 0, "training runs", ctx, [&](long i, Rng&) {
    const auto si = static_cast<std::size_t>(i / o.seeds), s = static_cast<std::size_t>(i % o.seeds);
    const Setting& st = res.settings[si];
    Run& run = res.runs[si][s];
    const auto t_run = std::chrono::steady_clock::now();
    Rng init = root.substream(kInit).substream(s);
    OneLayerNetwork net = OneLayerNetwork::random(res.d, o.k, st.activation, init);
    TrainerOptions options;
    options.learning_rate = st.quadratic ? o.lr : o.nce_rate();
    options.max_steps = o.steps;
    options.tolerance = 1e-10;
    options.normalization = Normalization::renormalize;
    options.record_every = std::max<Eigen::Index>(1, o.steps / 20);
    run.result = train(net, st.loss, batches[s], options);
    run.w = net.weights();
    for (Eigen::Index j = 0; j < run.w.cols(); ++j) run.w.col(j).normalize();
    const bool linear = st.activation.is_linear();
    const analysis::DirectionClusters cl = analysis::distinct_directions(run.w, o.distinct_cos, linear);
    run.distinct = cl.size();
    run.cluster_sizes = cl.counts;
    const OneLayerNetwork trained(run.w, st.activation);
    run.tested = static_cast<long>(test.rows());
    run.correct = probe_correct(trained.forward(probe_x[s]), probe_y[s], trained.forward(test), ds.test.labels, o.ridge);
    run.accuracy = static_cast<double>(run.correct) / static_cast<double>(run.tested);
    run.interval = analysis::clopper_pearson(run.correct, run.tested, o.confidence);
    for (Eigen::Index j = 0; j < run.w.cols(); ++j)
      run.cos_top.push_back(std::abs(run.w.col(j).dot(res.seeds[s].top)));
    run.seconds = seconds_since(t_run);
  });
  res.seconds_train = seconds_since(t0);

  // Prediction: certified fixed points of one node's sample landscape on the same batch (the
  // search is parallel over its starts), then each trained node's nearest point.
  t0 = std::chrono::steady_clock::now();
  res.predictions.assign(static_cast<std::size_t>(n_settings),
                         std::vector<Prediction>(static_cast<std::size_t>(o.prediction_seeds)));
  for (Eigen::Index si = 0; si < n_settings; ++si)
    for (Eigen::Index s = 0; s < o.prediction_seeds; ++s) {
      const auto t1 = std::chrono::steady_clock::now();
      const Setting& st = res.settings[static_cast<std::size_t>(si)];
      const analysis::SampleLandscape land(batches[static_cast<std::size_t>(s)], st.activation, st.loss);
      analysis::CertifiedSearchOptions co;
      co.random_starts = st.quadratic ? o.starts : o.nce_starts;
      if (!st.quadratic) {
        co.newton = false;
        co.self_consistent_iterations = 0;
        co.ascent.max_iterations = o.nce_ascent_iterations;
      }
      if (co.random_starts == 0) continue;
      co.seed = root.substream(kSearch).substream(static_cast<std::uint64_t>(si)).substream(static_cast<std::uint64_t>(s)).next_u64();
      const analysis::CertifiedSearch search =
          analysis::certified_fixed_points(land, Eigen::MatrixXd(res.d, 0), co);
      Prediction& p = res.predictions[static_cast<std::size_t>(si)][static_cast<std::size_t>(s)];
      p.starts = search.starts;
      p.certified = search.converged;
      for (const analysis::CertifiedPoint& c : search.points)
        p.points.push_back({c.w, c.energy, c.lambda, c.residual, c.stable, std::string(analysis::to_string(c.kind)),
                            c.basin_count, c.active_set_size});
      p.seconds = seconds_since(t1);
      Run& run = res.runs[static_cast<std::size_t>(si)][static_cast<std::size_t>(s)];
      const bool sym = land.sign_symmetric();
      for (Eigen::Index j = 0; j < run.w.cols(); ++j) {
        double best = -2.0;
        Eigen::Index at = -1;
        for (std::size_t q = 0; q < p.points.size(); ++q) {
          double c = run.w.col(j).dot(p.points[q].w);
          if (sym) c = std::abs(c);
          if (c > best) {
            best = c;
            at = static_cast<Eigen::Index>(q);
          }
        }
        run.cos_nearest.push_back(best);
        run.nearest.push_back(at);
      }
    }
  res.seconds_predict = seconds_since(t0);
  return res;
}

std::vector<double> vec(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

void report(Check& check, const FashionOptions& o, const FashionResult& r) {
  check.add_timing("load", r.seconds_load);
  check.add_timing("train", r.seconds_train);
  check.add_timing("predict", r.seconds_predict);
  const std::size_t n_settings = r.settings.size();
  const auto seeds = static_cast<std::size_t>(o.seeds);
  {
    const SeedData& s0 = r.seeds[0];
    check.report("C_alpha[x] of the views (uniform alpha), seed 0: top eigenvalues " + sci(s0.eigenvalues(0), 4) + ", " +
                 sci(s0.eigenvalues(1), 4) + ", " + sci(s0.eigenvalues(2), 4) + " (Spectra, residual " +
                 sci(s0.eigen_residual, 2) + ")");
  }
  // Per setting: directions, probe accuracy with intervals, prediction.
  nlohmann::json settings_json = nlohmann::json::array();
  std::vector<std::vector<std::string>> probe_rows;
  std::vector<MeanInterval> acc_ci(n_settings), dir_ci(n_settings);
  for (std::size_t si = 0; si < n_settings; ++si) {
    const Setting& st = r.settings[si];
    std::vector<double> acc, dirs;
    nlohmann::json runs = nlohmann::json::array();
    for (std::size_t s = 0; s < seeds; ++s) {
      const Run& run = r.runs[si][s];
      acc.push_back(run.accuracy);
      dirs.push_back(static_cast<double>(run.distinct));
      nlohmann::json j = {{"seed_index", s},
                          {"status", to_string(run.result.status)},
                          {"steps", run.result.steps},
                          {"final_residual", run.result.final_residual},
                          {"final_energy", run.result.final_energy},
                          {"final_loss", run.result.final_loss},
                          {"distinct_directions", run.distinct},
                          {"cluster_sizes", run.cluster_sizes},
                          {"probe_correct", run.correct},
                          {"probe_tested", run.tested},
                          {"probe_accuracy", run.accuracy},
                          {"probe_interval", {run.interval.low, run.interval.high}},
                          {"abs_cos_top_eigenvector", run.cos_top}};
      if (s < static_cast<std::size_t>(o.prediction_seeds)) {
        j["cos_nearest_predicted"] = run.cos_nearest;
        nlohmann::json nearest = nlohmann::json::array();
        for (const Eigen::Index q : run.nearest) nearest.push_back(q >= 0 ? nlohmann::json(q) : nlohmann::json(nullptr));
        j["nearest_predicted"] = nearest;
        if (run.nearest.empty() || run.nearest[0] < 0) j["cos_nearest_predicted"] = nullptr;
      }
      runs.push_back(j);
    }
    {
      double t = 0.0;
      for (const Run& run : r.runs[si]) t += run.seconds;
      check.add_timing("train " + st.name, t);
      double tp = 0.0;
      for (const Prediction& p : r.predictions[si]) tp += p.seconds;
      check.add_timing("predict " + st.name, tp);
    }
    acc_ci[si] = bootstrap_mean_interval(acc, o.confidence, Rng(check.seed(), 100 + si));
    dir_ci[si] = bootstrap_mean_interval(dirs, o.confidence, Rng(check.seed(), 200 + si));
    nlohmann::json preds = nlohmann::json::array();
    for (std::size_t s = 0; s < r.predictions[si].size(); ++s) {
      const Prediction& p = r.predictions[si][s];
      nlohmann::json pts = nlohmann::json::array();
      for (const PredictedPoint& q : p.points)
        pts.push_back({{"energy", q.energy}, {"lambda", q.lambda}, {"residual", q.residual},
                       {"verdict", q.stable ? "stable" : "not stable"}, {"kind", q.kind}, {"basin", q.basin},
                       {"active_set_size", q.active_set}, {"w", vec(q.w)}});
      preds.push_back({{"seed_index", s}, {"starts", p.starts}, {"certified_starts", p.certified}, {"points", pts}});
    }
    settings_json.push_back({{"setting", st.name},
                             {"activation", st.activation.is_linear() ? "linear" : "relu"},
                             {"loss", st.loss.name()},
                             {"learning_rate", st.quadratic ? o.lr : o.nce_rate()},
                             {"probe_accuracy", {{"mean", acc_ci[si].mean}, {"sd", acc_ci[si].sd},
                                                 {"low", acc_ci[si].low}, {"high", acc_ci[si].high}}},
                             {"distinct_directions", {{"mean", dir_ci[si].mean}, {"sd", dir_ci[si].sd},
                                                      {"low", dir_ci[si].low}, {"high", dir_ci[si].high}}},
                             {"runs", runs},
                             {"predicted", preds}});
    probe_rows.push_back({std::to_string(si), st.name, fixed(acc_ci[si].mean, 6), fixed(acc_ci[si].low, 6),
                          fixed(acc_ci[si].high, 6), fixed(dir_ci[si].mean, 3), fixed(dir_ci[si].low, 3),
                          fixed(dir_ci[si].high, 3)});
    // One line per setting.
    std::string line = st.name + ": probe accuracy " + fixed(acc_ci[si].mean, 3) + " [" + fixed(acc_ci[si].low, 3) + ", " +
                       fixed(acc_ci[si].high, 3) + "] over " + counted(static_cast<long long>(seeds), "seed") +
                       ", distinct directions " + fixed(dir_ci[si].mean, 1) + " [" + fixed(dir_ci[si].low, 1) + ", " +
                       fixed(dir_ci[si].high, 1) + "] of K = " + std::to_string(o.k) + "; seed 0: " +
                       std::string(to_string(r.runs[si][0].result.status)) + " after " +
                       counted(r.runs[si][0].result.steps, "step");
    for (std::size_t s = 0; s < r.predictions[si].size(); ++s) {
      const Prediction& p = r.predictions[si][s];
      const Run& run = r.runs[si][s];
      long stable = 0;
      for (const PredictedPoint& q : p.points) stable += q.stable ? 1 : 0;
      long at = 0;
      double min_cos = 1.0;
      for (std::size_t j = 0; j < run.cos_nearest.size(); ++j) {
        min_cos = std::min(min_cos, run.cos_nearest[j]);
        const Eigen::Index q = run.nearest[j];
        if (q >= 0 && p.points[static_cast<std::size_t>(q)].stable && run.cos_nearest[j] >= o.match_cos) ++at;
      }
      line += "; prediction (seed " + std::to_string(s) + "): " + std::to_string(p.certified) + "/" +
              std::to_string(p.starts) + " starts certified onto " + counted(static_cast<long long>(p.points.size()), "point") +
              " (" + std::to_string(stable) + " stable), " + std::to_string(at) + "/" + std::to_string(run.cos_nearest.size()) +
              " nodes at a predicted stable point (cos >= " + fixed(o.match_cos, 2) + "), min cos to the nearest " +
              (p.points.empty() ? std::string("-") : fixed(min_cos, 4)) + " (" + fixed(p.seconds, 1) + " s)";
    }
    check.report(line);
  }
  check.series()["settings"] = settings_json;
  {
    nlohmann::json s = nlohmann::json::array();
    for (const SeedData& sd : r.seeds)
      s.push_back({{"top_eigenvalues", vec(sd.eigenvalues)}, {"eigen_residual", sd.eigen_residual}});
    check.series()["views_covariance"] = s;
  }

  // Figure: probe accuracy and distinct directions per setting, with intervals.
  {
    const std::string note = check.write_figure(
        "fashion_mnist_probe",
        {"index", "setting", "accuracy", "accuracy_low", "accuracy_high", "directions", "directions_low", "directions_high"},
        probe_rows,
        "set multiplot layout 1,2 title 'Fashion-MNIST, one layer, K = " + std::to_string(o.k) + ": mean over " +
            std::to_string(o.seeds) + " seeds with " + fixed(100 * o.confidence, 0) + "% bootstrap intervals'\n"
            "set xtics rotate by -30\nset grid ytics\nset xrange [-0.5:" + std::to_string(n_settings) + "-0.5]\nunset key\n"
            "set title 'linear-probe test accuracy'\nset yrange [0:1]\n"
            "plot 'fashion_mnist_probe.csv' using 1:3:4:5:xtic(2) with yerrorbars pt 7 ps 1.2\n"
            "set title 'distinct directions among the K nodes'\nset yrange [0:" + std::to_string(o.k + 2) + "]\n"
            "plot 'fashion_mnist_probe.csv' using 1:6:7:8:xtic(2) with yerrorbars pt 7 ps 1.2\n"
            "unset multiplot");
    if (!note.empty()) check.report(note);
  }
  // Figure: filters of seed 0 (the distinct directions, up to 8) and predicted stable points (up
  // to 8, by basin) as 28 × 28 tiles, two bands per setting, on one full pixel grid (gnuplot's
  // `with image` needs every grid point; the background between tiles is 0, white).
  {
    const Eigen::Index tiles = 8, h = r.height, w = r.width, gap = 3;
    const auto bands = static_cast<Eigen::Index>(2 * n_settings);
    const Eigen::Index grid_w = tiles * (w + gap), grid_h = bands * (h + gap);
    Eigen::MatrixXd grid = Eigen::MatrixXd::Zero(grid_h, grid_w);
    std::string labels;
    auto add_tile = [&](const Eigen::VectorXd& v, Eigen::Index col, Eigen::Index band) {
      const double scale = std::max(v.cwiseAbs().maxCoeff(), 1e-300);
      for (Eigen::Index y = 0; y < h; ++y)
        for (Eigen::Index x = 0; x < w; ++x) grid(band * (h + gap) + y, col * (w + gap) + x) = v(y * w + x) / scale;
    };
    auto label = [&](const std::string& text, Eigen::Index band) {
      labels += "set label '" + text + "' at -4," + std::to_string(-(band * (h + gap) + h / 2)) + " right font ',9'\n";
    };
    for (std::size_t si = 0; si < n_settings; ++si) {
      const Run& run = r.runs[si][0];
      const bool linear = r.settings[si].activation.is_linear();
      const analysis::DirectionClusters cl = analysis::distinct_directions(run.w, o.distinct_cos, linear);
      const auto band = static_cast<Eigen::Index>(2 * si);
      for (Eigen::Index t = 0; t < std::min(tiles, cl.size()); ++t) add_tile(cl.representatives.col(t), t, band);
      label(r.settings[si].name + ": trained, " + counted(cl.size(), "direction"), band);
      std::vector<const PredictedPoint*> stable;
      if (!r.predictions[si].empty())
        for (const PredictedPoint& q : r.predictions[si][0].points)
          if (q.stable) stable.push_back(&q);
      std::stable_sort(stable.begin(), stable.end(),
                       [](const PredictedPoint* a, const PredictedPoint* b) { return a->basin > b->basin; });
      for (Eigen::Index t = 0; t < std::min<Eigen::Index>(tiles, static_cast<Eigen::Index>(stable.size())); ++t) {
        Eigen::VectorXd v = stable[static_cast<std::size_t>(t)]->w;
        // Linear nodes are sign-symmetric: w and −w are one point, drawn with the trained sign.
        if (linear && cl.size() > 0 && v.dot(cl.representatives.col(0)) < 0.0) v = -v;
        add_tile(v, t, band + 1);
      }
      label("predicted stable: " + std::to_string(stable.size()), band + 1);
    }
    std::vector<std::vector<std::string>> rows;
    rows.reserve(static_cast<std::size_t>(grid_w * grid_h));
    for (Eigen::Index y = 0; y < grid_h; ++y)
      for (Eigen::Index x = 0; x < grid_w; ++x)
        rows.push_back({std::to_string(x), std::to_string(-y), grid(y, x) == 0.0 ? "0" : fixed(grid(y, x), 4)});
    const std::string note = check.write_figure(
        "fashion_mnist_filters", {"x", "y", "value"}, rows,
        "set terminal pngcairo size 1000," + std::to_string(60 + 56 * bands) + " noenhanced font ',10'\n"
        "set output 'fashion_mnist_filters.png.tmp'\n"
        "set title 'Seed 0: trained filters (one per distinct direction) and predicted stable fixed points (by basin), each scaled to max |w| = 1'\n"
        "set size ratio -1\nunset xtics\nunset ytics\nunset border\nunset key\nset lmargin 30\n"
        "set xrange [-0.5:" + std::to_string(grid_w) + "-0.5]\nset yrange [" + std::to_string(-grid_h) + "+0.5:0.5]\n"
        "set palette defined (-1 '#2166ac', 0 'white', 1 '#b2182b')\nset cbrange [-1:1]\nunset colorbox\n" + labels +
        "plot 'fashion_mnist_filters.csv' using 1:2:3 with image");
    if (!note.empty()) check.report(note);
  }

  // ---- claims -------------------------------------------------------------------------------
  // Claim 1: linear + quadratic (setting 0), every node of every seed.
  {
    double min_cos = 1.0;
    long nodes = 0, converged = 0;
    Eigen::Index max_distinct = 0;
    for (const Run& run : r.runs[0]) {
      for (double c : run.cos_top) min_cos = std::min(min_cos, c);
      nodes += static_cast<long>(run.cos_top.size());
      converged += run.result.status == Status::success ? 1 : 0;
      max_distinct = std::max(max_distinct, run.distinct);
    }
    check.add_claim({"1-top-real", "linear nodes, quadratic loss, real augmented views: every node of every seed ends at "
                                   "+-the top eigenvector of C_alpha[x] of the views (" + std::to_string(nodes) +
                                   " nodes, " + counted(static_cast<long long>(seeds), "seed") + ", " +
                                   std::to_string(converged) + " runs converged to residual 1e-10)",
                     "|cos| = 1", "min |cos| " + fixed(min_cos, 6), ">= " + fixed(o.cos_threshold, 2),
                     nodes > 0 && min_cos >= o.cos_threshold});
    check.add_claim({"1-one-real", "linear nodes, quadratic loss: one distinct direction in every seed", "1",
                     std::to_string(max_distinct) + " (max over seeds)", "|cos| >= " + fixed(o.distinct_cos, 2) + " clusters",
                     max_distinct == 1});
  }
  // Prediction = training under the quadratic loss (uniform α: independent one-node ascents).
  for (std::size_t si = 0; si < n_settings; ++si) {
    if (!r.settings[si].quadratic) continue;
    long nodes = 0, at = 0;
    double min_cos = 1.0;
    for (std::size_t s = 0; s < r.predictions[si].size(); ++s) {
      const Prediction& p = r.predictions[si][s];
      const Run& run = r.runs[si][s];
      for (std::size_t j = 0; j < run.cos_nearest.size(); ++j) {
        ++nodes;
        min_cos = std::min(min_cos, run.cos_nearest[j]);
        const Eigen::Index q = run.nearest[j];
        if (q >= 0 && p.points[static_cast<std::size_t>(q)].stable && run.cos_nearest[j] >= o.match_cos) ++at;
      }
    }
    check.add_claim({"5-real-" + r.settings[si].name.substr(0, r.settings[si].name.find('/')),
                     r.settings[si].name + ": every trained node's nearest certified fixed point of the one-node sample "
                     "landscape (" + std::to_string(o.starts) + " random starts per seed, " +
                     counted(o.prediction_seeds, "seed") + ") is stable, with cos >= " + fixed(o.match_cos, 2),
                     std::to_string(nodes) + "/" + std::to_string(nodes),
                     std::to_string(at) + "/" + std::to_string(nodes) + " (min cos " + fixed(min_cos, 4) + ")",
                     "cos >= " + fixed(o.match_cos, 2), nodes > 0 && at == nodes});
  }
  // What ReLU buys under the quadratic loss: every seed's ReLU probe interval above every seed's
  // linear interval (settings 0 and 1 + taus.size()).
  {
    const std::size_t lin = 0, relu = 1 + o.taus.size();
    double relu_low = 1.0, lin_high = 0.0;
    for (std::size_t s = 0; s < seeds; ++s) {
      relu_low = std::min(relu_low, r.runs[relu][s].interval.low);
      lin_high = std::max(lin_high, r.runs[lin][s].interval.high);
    }
    check.add_claim({"relu-probe", "quadratic loss: ReLU's linear-probe test accuracy above linear's in every seed, "
                                   "every seed's " + fixed(100 * o.confidence, 0) + "% Clopper-Pearson interval of ReLU "
                                   "above every seed's interval of linear (" + counted(static_cast<long long>(seeds), "seed") + ")",
                     "relu > linear",
                     "relu " + fixed(acc_ci[relu].mean, 3) + " (min low " + fixed(relu_low, 3) + "), linear " +
                         fixed(acc_ci[lin].mean, 3) + " (max high " + fixed(lin_high, 3) + ")",
                     "min relu low > max linear high", seeds >= 1 && relu_low > lin_high});
  }
}

}  // namespace

const CheckInfo kInfo{"fashion_mnist",
                      "One-layer alpha-CL on real images (Fashion-MNIST, Debian package dataset-fashion-mnist): "
                      "Claim 1, the certified prediction and training side by side, and what ReLU buys"};

CLDYN_REGISTER_CHECK(kInfo, FashionOptions, FashionResult, compute, report)
