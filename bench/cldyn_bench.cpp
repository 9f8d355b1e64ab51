/// \file cldyn_bench.cpp
/// Google Benchmark binary `cldyn_bench` (docs/performance.md): kernels, one α-CL training
/// step, eigen-solvers and fixed-point solvers.
///
/// Every benchmark reports its time and a work rate (counter "FLOPS" as an iteration-invariant
/// rate, or items_per_second), and, where its result is checkable, an accuracy counter computed
/// outside the timed loop (expensive references are computed once per size and cached), so that
/// speed never hides a wrong answer. Inputs are built outside the timed loop from fixed seeds
/// (cldyn::Rng). Eigen runs single-threaded (EIGEN_DONT_PARALLELIZE, set by cldyn::core).
///
/// Argument order is part of the names: BM_Gemm/<shape>/N/d, BM_ContrastiveCovariance/N/d,
/// BM_PairwiseImportanceInfoNCE/N/p, BM_OneLayerStep/<loss>/N/d/K, BM_TopEigen/<method>/d,
/// BM_PopulationGatedCovariance/d, BM_FixedPointSolve/d, BM_FixedPointSweep/threads,
/// BM_AnalyzeOneLayer/<method>/N/d/K, BM_TwoLayerStep/<loss>/N/K/M, BM_TokenBatch/B, BM_TokenStep/<precision>/beta, BM_TokenRun/<precision>/steps.

#include <benchmark/benchmark.h>
#include <omp.h>
#include <sys/resource.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cldyn/analysis/fixed_points.hpp"
#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/analysis/population.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/reference.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/streaming.hpp"
#include "cldyn/data/latent_model.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/models/two_layer.hpp"
#include "cldyn/train/token_experiment.hpp"

namespace {

using cldyn::Activation;
using cldyn::Loss;
using cldyn::PairwiseImportance;
using cldyn::Rng;
using cldyn::TwoViewBatch;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

/// One seed for every input; each benchmark family draws from its own stream.
constexpr std::uint64_t kSeed = 20230501;

/// InfoNCE temperature of every α built here (the project's default example, theory §2).
constexpr double kTau = 0.5;

// ---- helpers ---------------------------------------------------------------------------------

/// The timed loop of a benchmark whose result is a matrix: c = compute() every iteration, kept
/// from being optimised away. Returns the last c (for the accuracy counters). The inputs compute
/// captures are plain references, not structured bindings (clang < 16 cannot capture those).
template <class Compute>
MatrixXd timed_result(benchmark::State& state, Compute&& compute) {
  MatrixXd c;
  for (auto _ : state) {
    c = compute();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  return c;
}

/// The options of the benchmarks' latent mixture in dimension d: L = 5 patterns, σ = 0.2.
cldyn::data::LatentModelOptions latent_options(Index d) {
  cldyn::data::LatentModelOptions options;
  options.d = d;
  options.L = 5;
  options.sigma = 0.2;
  return options;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOPS"] =
      benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

/// max_ij |x_ij − ref_ij| / max_ij |ref_ij|: the error relative to the scale of the reference
/// (entrywise relative error is meaningless for entries that cancel to ~0).
double max_rel_err(const MatrixXd& x, const MatrixXd& ref) {
  const double scale = ref.cwiseAbs().maxCoeff();
  const double diff = (x - ref).cwiseAbs().maxCoeff();
  return scale > 0.0 ? diff / scale : diff;
}

double dbl(Index n) { return static_cast<double>(n); }

/// Two views X (N × d, i.i.d. N(0,1)) and X' = X + 0.5·ξ.
std::pair<MatrixXd, MatrixXd> random_views(Index n, Index d, std::uint64_t stream) {
  Rng rng(kSeed, stream);
  MatrixXd x = rng.normal_matrix(n, d);
  MatrixXd x_prime = x + 0.5 * rng.normal_matrix(n, d);
  return {std::move(x), std::move(x_prime)};
}

/// Outputs F (N × p) with entries N(0, 1/p), so d²_ij = ½‖f_i − f_j‖² ≈ 1 (α neither uniform nor
/// one-hot at τ = 0.5), and F' = F + 0.3·N(0, 1/p).
std::pair<MatrixXd, MatrixXd> random_outputs(Index n, Index p, std::uint64_t stream) {
  Rng rng(kSeed, stream);
  const double s = 1.0 / std::sqrt(dbl(p));
  MatrixXd f = s * rng.normal_matrix(n, p);
  MatrixXd f_prime = f + 0.3 * s * rng.normal_matrix(n, p);
  return {std::move(f), std::move(f_prime)};
}

/// The InfoNCE α (τ = 0.5, ε = 1) at random outputs with p = 16, cached per N (building it at
/// N = 4096 costs N² exponentials; Google Benchmark calls a benchmark function several times).
const PairwiseImportance& infonce_alpha(Index n) {
  static std::map<Index, PairwiseImportance> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    const auto [f, f_prime] = random_outputs(n, 16, 100);
    it = cache.emplace(n, Loss::infonce(kTau).pairwise_importance(f, f_prime)).first;
  }
  return it->second;
}

// ---- BM_Gemm: Eigen's dense product, the reference peak ---------------------------------------
// The shapes the fast contrastive covariance uses: (d×N)·(N×d) (Xᵀ·(L X)), (N×N)·(N×d) (α·B),
// and the (N×p)·(p×N) Gram product of pairwise_squared_distances. FLOPS = 2·m·n·k. Accuracy:
// ‖C v − A (B v)‖ / ‖A (B v)‖ for a random v (matrix-vector products only, computed once).

double product_check(const MatrixXd& c, const MatrixXd& a, const MatrixXd& b) {
  Rng rng(kSeed, 999);
  const VectorXd v = rng.normal_matrix(c.cols(), 1).col(0);
  const VectorXd ref = a * (b * v);
  return (c * v - ref).norm() / ref.norm();
}

void BM_Gemm_dN_Nd(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const auto [x, y] = random_views(n, d, 1);
  MatrixXd c(d, d);
  for (auto _ : state) {
    c.noalias() = x.transpose() * y;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * dbl(d) * dbl(d) * dbl(n));
  state.counters["check_rel_err"] = product_check(c, x.transpose(), y);
}

void BM_Gemm_NN_Nd(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const auto [b, unused] = random_views(n, d, 2);
  (void)unused;
  Rng rng(kSeed, 3);
  const MatrixXd a = rng.normal_matrix(n, n);
  MatrixXd c(n, d);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * dbl(n) * dbl(d) * dbl(n));
  state.counters["check_rel_err"] = product_check(c, a, b);
}

void BM_Gemm_Np_pN(benchmark::State& state) {
  const Index n = state.range(0), p = state.range(1);
  const auto [f, unused] = random_outputs(n, p, 4);
  (void)unused;
  MatrixXd c(n, n);
  for (auto _ : state) {
    c.noalias() = -f * f.transpose();  // as in cldyn::pairwise_squared_distances
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * dbl(n) * dbl(n) * dbl(p));
  state.counters["check_rel_err"] = product_check(c, -f, f.transpose());
}

// ---- BM_ContrastiveCovariance: fast form C_α[x] -----------------------------------------------
// Accuracy: the leading k×k block (k = min(d, 16)) against the naive double sum on the first k
// columns (C_α[x_S, x_S] is exactly that block of C_α[x]); the naive cost N²k² is affordable up
// to N = 1024, so the counter is omitted at N = 4096. The naive block is cached per (N, d, α).

double naive_block_check(const PairwiseImportance& alpha, const MatrixXd& x,
                         const MatrixXd& x_prime, const MatrixXd& fast, bool uniform) {
  static std::map<std::tuple<Index, Index, bool>, MatrixXd> cache;
  const Index k = std::min<Index>(x.cols(), 16);
  const auto key = std::make_tuple(x.rows(), x.cols(), uniform);
  auto it = cache.find(key);
  if (it == cache.end()) {
    it = cache
             .emplace(key, cldyn::reference::naive_contrastive_covariance(
                               alpha, x.leftCols(k), x_prime.leftCols(k), x.leftCols(k),
                               x_prime.leftCols(k)))
             .first;
  }
  return max_rel_err(fast.topLeftCorner(k, k), it->second);
}

constexpr Index kMaxNaiveCheckN = 1024;

void BM_ContrastiveCovariance(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const PairwiseImportance& alpha = infonce_alpha(n);
  const auto views = random_views(n, d, 10);
  const MatrixXd &x = views.first, &x_prime = views.second;
  const MatrixXd c = timed_result(state, [&] { return cldyn::contrastive_covariance(alpha, x, x_prime); });
  // L_α·X: α·X and αᵀ·X (2·N²·d each); Xᵀ(L_α X) (2·N·d²); Δᵀ(R Δ) (2·N·d²). O(N·d) omitted.
  set_flops(state, 4.0 * dbl(n) * dbl(n) * dbl(d) + 4.0 * dbl(n) * dbl(d) * dbl(d));
  if (n <= kMaxNaiveCheckN) state.counters["max_rel_err"] = naive_block_check(alpha, x, x_prime, c, false);
}

void BM_ContrastiveCovarianceUniform(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const PairwiseImportance alpha = PairwiseImportance::uniform(n);
  const auto views = random_views(n, d, 10);
  const MatrixXd &x = views.first, &x_prime = views.second;
  const MatrixXd c = timed_result(state, [&] { return cldyn::contrastive_covariance(alpha, x, x_prime); });
  // L·X is O(N·d) for a uniform α; Xᵀ(L X) and Δᵀ(R Δ) are 2·N·d² each. O(N·d) omitted.
  set_flops(state, 4.0 * dbl(n) * dbl(d) * dbl(d));
  if (n <= kMaxNaiveCheckN) state.counters["max_rel_err"] = naive_block_check(alpha, x, x_prime, c, true);
}

void BM_ContrastiveCovarianceNaive(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const PairwiseImportance& alpha = infonce_alpha(n);
  const auto views = random_views(n, d, 10);
  const MatrixXd &x = views.first, &x_prime = views.second;
  const MatrixXd c =
      timed_result(state, [&] { return cldyn::reference::naive_contrastive_covariance(alpha, x, x_prime, x, x_prime); });
  // Per pair i ≠ j: two outer products, subtract, scale, accumulate (5·d²); O(d) terms omitted.
  set_flops(state, 5.0 * dbl(n) * dbl(n - 1) * dbl(d) * dbl(d));
  // Accuracy: the naive result against the fast form (both computed here, the fast one once).
  state.counters["max_rel_err"] = max_rel_err(cldyn::contrastive_covariance(alpha, x, x_prime), c);
}

// ---- BM_PairwiseImportanceInfoNCE: α = InfoNCE softmax at outputs F, F' ------------------------
// items = N² entries of α. Accuracy: rows 0, N/2, N−1 recomputed from the literal formula of
// theory §2 with distances taken directly (not via the Gram product), max error relative to the
// largest entry of those rows.

double infonce_rows_check(const PairwiseImportance& alpha, const MatrixXd& f,
                          const MatrixXd& f_prime) {
  const Index n = f.rows();
  double worst = 0.0, scale = 0.0;
  for (const Index i : {Index{0}, n / 2, n - 1}) {
    VectorXd logits(n);
    const double pos = /*log ε = 0*/ -0.5 * (f.row(i) - f_prime.row(i)).squaredNorm() / kTau;
    double m = pos;
    for (Index j = 0; j < n; ++j) {
      logits(j) = j == i ? -std::numeric_limits<double>::infinity()
                         : -0.5 * (f.row(i) - f.row(j)).squaredNorm() / kTau;
      m = std::max(m, logits(j));
    }
    const VectorXd e = (logits.array() - m).exp().matrix();
    const double z = std::exp(pos - m) + e.sum();
    for (Index j = 0; j < n; ++j) {
      const double ref = e(j) / z;
      worst = std::max(worst, std::abs(alpha(i, j) - ref));
      scale = std::max(scale, std::abs(ref));
    }
  }
  return scale > 0.0 ? worst / scale : worst;
}

/// α time ÷ time of its N×N×p Gram product (BM_Gemm/Np_pN's operation), the two timed
/// alternately, untimed by the framework, for at least 0.2 s and 5 pairs: both see the same
/// machine state, so the ratio is steadier than one of two separate benchmarks (on this KVM
/// guest their times drift by ±20 % between runs).
double alpha_over_gram(const Loss& loss, const MatrixXd& f, const MatrixXd& f_prime) {
  using clock = std::chrono::steady_clock;
  MatrixXd c(f.rows(), f.rows());
  std::chrono::duration<double> gram{0}, alpha{0};
  for (int k = 0; k < 5 || (gram + alpha).count() < 0.2; ++k) {
    const auto t0 = clock::now();
    c.noalias() = -f * f.transpose();
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
    const auto t1 = clock::now();
    {
      const PairwiseImportance a = loss.pairwise_importance(f, f_prime);
      benchmark::DoNotOptimize(&a);
      benchmark::ClobberMemory();
    }
    const auto t2 = clock::now();
    gram += t1 - t0;
    alpha += t2 - t1;
  }
  return alpha / gram;
}

void BM_PairwiseImportanceInfoNCE(benchmark::State& state) {
  const Index n = state.range(0), p = state.range(1);
  const auto [f, f_prime] = random_outputs(n, p, 20);
  const Loss loss = Loss::infonce(kTau);
  std::optional<PairwiseImportance> alpha;
  for (auto _ : state) {
    alpha.emplace(loss.pairwise_importance(f, f_prime));
    benchmark::DoNotOptimize(&*alpha);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n * n);
  if (alpha) state.counters["max_rel_err"] = infonce_rows_check(*alpha, f, f_prime);
  state.counters["alpha_over_gram"] = alpha_over_gram(loss, f, f_prime);
}

// ---- BM_ContrastiveCovarianceStreamed: C_α[x] for InfoNCE α without forming α ---------------
// contrastive_covariance_infonce_streamed(F, F', X, X', τ = 0.5, ε = 1, block_rows): α is
// produced block_rows rows at a time and consumed at once (peak memory O(N·(p+d) + block·N)).
// FLOPS = 2·N²·p (distances) + 2·N²·d (α_I·X) + 6·N·d² (X_Iᵀ(α_I X), Xᵀdiag(r+c)X, Δᵀdiag(r)Δ).
// Accuracy (N ≤ 4096 only: the dense check needs the N×N α): max_rel_err against
// contrastive_covariance(Loss::infonce(0.5).pairwise_importance(F, F'), X, X').
// Args: N, p, d, block_rows (0: the library's default). One iteration: N = 65536 takes minutes.

void BM_ContrastiveCovarianceStreamed(benchmark::State& state) {
  const Index n = state.range(0), p = state.range(1), d = state.range(2), b = state.range(3);
  const auto outputs = random_outputs(n, p, 21);
  const auto views = random_views(n, d, 11);
  const MatrixXd &f = outputs.first, &f_prime = outputs.second, &x = views.first, &x_prime = views.second;
  const MatrixXd c = timed_result(
      state, [&] { return cldyn::contrastive_covariance_infonce_streamed(f, f_prime, x, x_prime, kTau, 1.0, b); });
  set_flops(state, 2.0 * dbl(n) * dbl(n) * dbl(p + d) + 6.0 * dbl(n) * dbl(d) * dbl(d));
  if (n <= 4096) {
    const MatrixXd dense = cldyn::contrastive_covariance(
        Loss::infonce(kTau).pairwise_importance(f, f_prime), x, x_prime);
    state.counters["max_rel_err"] = max_rel_err(c, dense);
  }
}

// ---- BM_OneLayerStep: one α-CL step of the trainer ---------------------------------------------
// The work of one step of cldyn::train (renormalize mode): forward both views, loss value and
// α, energy E_α, ∇_W E_α (α frozen), stationarity residual, update, renormalise. ReLU nodes on
// a latent-mixture batch (L = 5, σ = 0.2). items = N samples per step. Accuracy: Identity A,
// ‖∇L + 2N²·∇E_sg(α)‖ / ‖∇L‖ at the initial weights.

enum class LossKind { quadratic, infonce };

void BM_OneLayerStep(benchmark::State& state, LossKind kind) {
  const Index n = state.range(0), d = state.range(1), k = state.range(2);
  const cldyn::data::LatentModel model(latent_options(d), kSeed);
  Rng rng(kSeed, 30);
  const TwoViewBatch batch = model.sample(n, rng);
  cldyn::OneLayerNetwork net = cldyn::OneLayerNetwork::random(d, k, Activation::relu(), rng);
  const Loss loss = kind == LossKind::infonce ? Loss::infonce(kTau) : Loss::quadratic();

  {
    const MatrixXd f = net.forward(batch.x), f_prime = net.forward(batch.x_prime);
    const MatrixXd energy_grad = net.energy_gradient(batch, loss.pairwise_importance(f, f_prime));
    const MatrixXd loss_grad = net.loss_gradient(batch, loss);
    state.counters["identityA_rel_err"] =
        (loss_grad + 2.0 * dbl(n) * dbl(n) * energy_grad).norm() / loss_grad.norm();
  }

  const double learning_rate = 0.05;
  MatrixXd w = net.weights();
  for (auto _ : state) {
    net.set_weights(w);
    const MatrixXd f = net.forward(batch.x);
    const MatrixXd f_prime = net.forward(batch.x_prime);
    const cldyn::LossEvaluation eval = loss.evaluate(f, f_prime);
    const double energy = cldyn::contrastive_energy(eval.alpha, f, f_prime);
    const MatrixXd grad = net.energy_gradient(batch, eval.alpha);
    MatrixXd tangent = grad;  // P⊥_{w_k} g_k per column, for the residual
    for (Index j = 0; j < k; ++j) tangent.col(j) -= w.col(j).dot(grad.col(j)) * w.col(j);
    const double residual = tangent.norm() / grad.norm();
    w += learning_rate * grad;
    w.colwise().normalize();
    benchmark::DoNotOptimize(eval.value);
    benchmark::DoNotOptimize(energy);
    benchmark::DoNotOptimize(residual);
    benchmark::DoNotOptimize(w.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n);
}

// ---- BM_TopEigen: top-5 eigenpairs of A(w), matrix-free Spectra vs dense ----------------------
// One ReLU node, random unit w, uniform α, a latent-mixture batch (L = 5, σ = 0.2) of fixed
// N = 1024 (so the dense path's cost grows as d²·N + d³ and the matrix-free one as N·d per
// product). The timed work of each method includes building its input (the gated views for
// Spectra, the d × d matrix A(w) for dense). Accuracy: the certificate ‖Av − λv‖/‖A‖ of each
// method, and max_i |λ_i − λ_i'|/|λ_i'| between the two methods (each computed once per d).

constexpr Index kTopEigenN = 1024;
constexpr Index kTopEigenK = 5;

struct TopEigenProblem {
  TwoViewBatch batch;
  PairwiseImportance alpha = PairwiseImportance::uniform(2);
  VectorXd w;
};

const TopEigenProblem& top_eigen_problem(Index d) {
  static std::map<Index, TopEigenProblem> cache;
  auto it = cache.find(d);
  if (it == cache.end()) {
    const cldyn::data::LatentModel model(latent_options(d), kSeed);
    Rng rng(kSeed, 40);
    TopEigenProblem p;
    p.batch = model.sample(kTopEigenN, rng);
    p.alpha = PairwiseImportance::uniform(kTopEigenN);
    p.w = rng.normal_matrix(d, 1).col(0).normalized();
    it = cache.emplace(d, std::move(p)).first;
  }
  return it->second;
}

/// Spectra operator wrapper counting the products (the matrix-free method's unit of work).
class CountingOperator {
 public:
  using Scalar = double;
  explicit CountingOperator(const cldyn::ContrastiveCovarianceOperator& op) : op_(op) {}
  Index rows() const { return op_.rows(); }
  Index cols() const { return op_.cols(); }
  void perform_op(const Scalar* x_in, Scalar* y_out) const {
    ++count_;
    op_.perform_op(x_in, y_out);
  }
  long count() const { return count_; }

 private:
  const cldyn::ContrastiveCovarianceOperator& op_;
  mutable long count_ = 0;
};

enum class EigenMethod { dense, spectra };

cldyn::analysis::EigenResult solve_top_eigen(const TopEigenProblem& p, EigenMethod method,
                                             long* products = nullptr) {
  const Activation relu = Activation::relu();
  if (method == EigenMethod::dense) {
    const MatrixXd a = cldyn::analysis::gated_covariance(p.batch, p.alpha, p.w, relu);
    return cldyn::analysis::top_eigenpairs(a, kTopEigenK);
  }
  const cldyn::ContrastiveCovarianceOperator op =
      cldyn::analysis::gated_covariance_operator(p.batch, p.alpha, p.w, relu);
  const CountingOperator counting(op);
  cldyn::analysis::EigenResult r = cldyn::analysis::top_eigenpairs_matrix_free(counting, kTopEigenK);
  if (products != nullptr) *products += counting.count();
  return r;
}

/// Eigenvalues found by each method, per d (filled by whichever benchmark runs first).
std::map<std::pair<Index, EigenMethod>, VectorXd>& eigenvalue_cache() {
  static std::map<std::pair<Index, EigenMethod>, VectorXd> cache;
  return cache;
}

void BM_TopEigen(benchmark::State& state, EigenMethod method) {
  const Index d = state.range(0);
  const TopEigenProblem& problem = top_eigen_problem(d);
  std::optional<cldyn::analysis::EigenResult> result;
  long products = 0;
  for (auto _ : state) {
    result.emplace(solve_top_eigen(problem, method, &products));
    benchmark::DoNotOptimize(result->values.data());
    benchmark::ClobberMemory();
  }
  if (!result || result->status != cldyn::Status::success) {
    state.SkipWithError("eigen-solver did not converge");
    return;
  }
  const double n = dbl(kTopEigenN), dd = dbl(d);
  if (method == EigenMethod::dense) {
    // Forming A (uniform α): Xᵀ(L X) + Δᵀ(R Δ) = 4·N·d²; symmetric QR with eigenvectors ≈ 9·d³
    // (Golub & Van Loan's count; an estimate of Eigen's SelfAdjointEigenSolver).
    set_flops(state, 4.0 * n * dd * dd + 9.0 * dd * dd * dd);
  } else {
    // One product: X v, Δ v, Xᵀ u, Δᵀ u' (2·N·d each); Lanczos orthogonalisation omitted.
    const double per_solve = dbl(products) / dbl(state.iterations());
    state.counters["products"] = per_solve;
    set_flops(state, per_solve * 8.0 * n * dd);
  }
  state.counters["residual"] = result->residual;
  auto& cache = eigenvalue_cache();
  cache[{d, method}] = result->values;
  const EigenMethod other = method == EigenMethod::dense ? EigenMethod::spectra : EigenMethod::dense;
  auto it = cache.find({d, other});
  if (it == cache.end()) {
    const cldyn::analysis::EigenResult r = solve_top_eigen(problem, other);
    if (r.status != cldyn::Status::success) {
      state.SkipWithError("reference eigen-solver did not converge");
      return;
    }
    it = cache.emplace(std::make_pair(d, other), r.values).first;
  }
  const VectorXd& dense = method == EigenMethod::dense ? result->values : it->second;
  const VectorXd& spectra = method == EigenMethod::dense ? it->second : result->values;
  state.counters["eig_rel_diff"] =
      ((spectra - dense).array().abs() / dense.array().abs()).maxCoeff();
}

// ---- population: A_pop(w) and one fixed-point solve --------------------------------------------
// The reference mixture of theory §4: L = 5 orthonormal patterns, σ = 0.2,
// p ∝ (0.2, 0.3, 0.4, 0.5, 0.6); ReLU.

cldyn::analysis::DiscretePopulation reference_population(Index d) {
  cldyn::data::LatentModelOptions options = latent_options(d);
  options.probabilities = cldyn::data::normalise_probabilities({0.2, 0.3, 0.4, 0.5, 0.6});
  const cldyn::data::LatentModel model(options, kSeed);
  return cldyn::analysis::DiscretePopulation::from_model(model);
}

VectorXd random_unit(Index d, std::uint64_t stream) {
  Rng rng(kSeed, stream);
  return rng.normal_matrix(d, 1).col(0).normalized();
}

void BM_PopulationGatedCovariance(benchmark::State& state) {
  const Index d = state.range(0);
  const cldyn::analysis::DiscretePopulation population = reference_population(d);
  const VectorXd w = random_unit(d, 50);
  const Activation relu = Activation::relu();
  MatrixXd a;
  for (auto _ : state) {
    a = cldyn::analysis::population_gated_covariance(population, w, relu);
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  // Σ_s p_s (μ̃_s − μ̄)(μ̃_s − μ̄)ᵀ as one d×S×d product: 2·S·d²; O(S·d) terms omitted.
  set_flops(state, 2.0 * dbl(population.size()) * dbl(d) * dbl(d));
  // Accuracy: A_pop(w)·w against ∇E(w) = Cov(μ̃, g), computed independently.
  const VectorXd grad = cldyn::analysis::population_energy_gradient(population, w, relu);
  state.counters["gradient_rel_err"] = (a * w - grad).norm() / grad.norm();
}

void BM_FixedPointSolve(benchmark::State& state) {
  const Index d = state.range(0);
  const cldyn::analysis::PopulationLandscape landscape(reference_population(d), Activation::relu());
  const VectorXd w0 = random_unit(d, 60);
  std::optional<cldyn::analysis::FixedPoint> fp;
  for (auto _ : state) {
    fp.emplace(cldyn::analysis::find_fixed_point(landscape, w0));
    benchmark::DoNotOptimize(fp->w.data());
    benchmark::ClobberMemory();
  }
  if (!fp) return;
  // Work: ascent iterations (one gradient ∇E(w), O(S·d), each).
  state.SetItemsProcessed(state.iterations() * fp->iterations);
  state.counters["ascent_iterations"] = dbl(fp->iterations);
  state.counters["residual"] = fp->residual;
  state.counters["converged"] = fp->status == cldyn::Status::success ? 1.0 : 0.0;
}

// ---- BM_FixedPointSweep: enumerate_fixed_points over OpenMP threads ----------------------------
// 64 seeded starts on the d = 20 reference population (ReLU), at `threads` OpenMP threads, wall
// time. "identical" = 1 iff the distinct points, their order and the start assignment are
// bitwise those of the 1-thread run (computed once).

constexpr Index kSweepStarts = 64;
constexpr Index kSweepDim = 20;

bool same_search(const cldyn::analysis::FixedPointSearch& a,
                 const cldyn::analysis::FixedPointSearch& b) {
  if (a.points.size() != b.points.size() || a.assignment != b.assignment) return false;
  for (std::size_t i = 0; i < a.points.size(); ++i) {
    const VectorXd& u = a.points[i].w;
    const VectorXd& v = b.points[i].w;
    if (u.size() != v.size() || !(u.array() == v.array()).all()) return false;
  }
  return true;
}

/// Restores the OpenMP thread count on scope exit.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()) { omp_set_num_threads(threads); }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

void BM_FixedPointSweep(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const cldyn::analysis::PopulationLandscape landscape(reference_population(kSweepDim),
                                                      Activation::relu());
  static const cldyn::analysis::FixedPointSearch reference = [&] {
    const OmpThreads one(1);
    return cldyn::analysis::enumerate_fixed_points(landscape, kSweepStarts, kSeed);
  }();
  const OmpThreads scoped(threads);
  std::optional<cldyn::analysis::FixedPointSearch> search;
  for (auto _ : state) {
    search.emplace(cldyn::analysis::enumerate_fixed_points(landscape, kSweepStarts, kSeed));
    benchmark::DoNotOptimize(search->points.data());
    benchmark::ClobberMemory();
  }
  if (!search) return;
  state.SetItemsProcessed(state.iterations() * kSweepStarts);  // starts per second
  state.counters["points"] = dbl(static_cast<Index>(search->points.size()));
  state.counters["converged"] = dbl(search->converged);
  state.counters["identical"] = same_search(*search, reference) ? 1.0 : 0.0;
}

// ---- registration ------------------------------------------------------------------------------

void covariance_sizes(benchmark::internal::Benchmark* b) {
  for (const int n : {256, 1024, 4096})
    for (const int d : {64, 256}) b->Args({n, d});
}

}  // namespace

BENCHMARK(BM_Gemm_dN_Nd)->Name("BM_Gemm/dN_Nd")->Apply(covariance_sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm_NN_Nd)->Name("BM_Gemm/NN_Nd")->Apply(covariance_sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Gemm_Np_pN)
    ->Name("BM_Gemm/Np_pN")
    ->ArgsProduct({{256, 1024, 4096}, {16, 64}})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_ContrastiveCovariance)->Apply(covariance_sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ContrastiveCovarianceUniform)->Apply(covariance_sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ContrastiveCovarianceNaive)
    ->ArgsProduct({{32, 64, 128}, {16, 64}})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_PairwiseImportanceInfoNCE)
    ->ArgsProduct({{256, 1024, 4096}, {16, 64}})
    ->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_ContrastiveCovarianceStreamed)
    ->Args({4096, 64, 256, 0})
    ->Args({16384, 64, 256, 256})
    ->Args({32768, 64, 256, 256})
    ->Args({65536, 64, 256, 256})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

BENCHMARK_CAPTURE(BM_OneLayerStep, infonce, LossKind::infonce)
    ->ArgsProduct({{256, 1024}, {64}, {8, 64}})
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_OneLayerStep, quadratic, LossKind::quadratic)
    ->ArgsProduct({{256, 1024}, {64}, {8, 64}})
    ->Unit(benchmark::kMicrosecond);

// ---- BM_AnalyzeOneLayer: everything cldyn-analyze reports, dense vs streamed ------------------
// At W with α = α(W), InfoNCE (τ = 0.5, ε = 1), ReLU nodes of unit norm on Gaussian views: the
// loss, E, C_α[x], A(w_k), ∇_W E, ∇_W L and ∇²_{w_k} L for every node. "dense" is what
// cldyn-analyze did before analyze_one_layer (Loss::evaluate's N × N α, then the dense
// functions node by node: loss_hessian recomputes the softmax and four N × N matrices per
// node); "streamed" is analysis::analyze_one_layer (α in blocks of ~64 MiB, never N × N).
// items = N² entries of α. maxrss_MiB: the process's peak resident set so far (getrusage), so
// meaningful when one benchmark runs alone (--benchmark_filter). max_rel_err (dense rows only,
// computed after the timed loop): the worst relative error of the streamed fields against the
// dense ones. Args: N, d, K (N = 20 000 streamed only: the dense α would need 3.2 GB). One
// iteration each.

cldyn::analysis::OneLayerAnalysis dense_one_layer_analysis(const cldyn::OneLayerNetwork& net,
                                                           const TwoViewBatch& batch,
                                                           const Loss& loss) {
  const cldyn::LossEvaluation ev = loss.evaluate(net.forward(batch.x), net.forward(batch.x_prime));
  cldyn::analysis::OneLayerAnalysis out;
  out.loss = ev.value;
  out.energy = net.energy(batch, ev.alpha);
  out.input_covariance = cldyn::analysis::input_covariance(batch, ev.alpha);
  for (Index k = 0; k < net.width(); ++k) {
    out.gated_covariance.push_back(cldyn::analysis::frozen_alpha_jacobian(net, batch, ev.alpha, k));
    out.loss_hessian.push_back(cldyn::analysis::loss_hessian(net, batch, loss, k));
  }
  out.energy_gradient = net.energy_gradient(batch, ev.alpha);
  out.loss_gradient = net.loss_gradient(batch, loss);
  return out;
}

void BM_AnalyzeOneLayer(benchmark::State& state, bool streamed) {
  const Index n = state.range(0), d = state.range(1), k = state.range(2);
  const auto [x, x_prime] = random_views(n, d, 50);
  const TwoViewBatch batch{x, x_prime};
  Rng rng(kSeed, 51);
  const cldyn::OneLayerNetwork net = cldyn::OneLayerNetwork::random(d, k, Activation::relu(), rng);
  const Loss loss = Loss::infonce(kTau);
  std::optional<cldyn::analysis::OneLayerAnalysis> result;
  for (auto _ : state) {
    result.emplace(streamed ? cldyn::analysis::analyze_one_layer(net, batch, loss)
                            : dense_one_layer_analysis(net, batch, loss));
    benchmark::DoNotOptimize(result->loss);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * n * n);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["maxrss_MiB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss: KiB
  if (!streamed && result) {
    const auto s = cldyn::analysis::analyze_one_layer(net, batch, loss);
    double worst = std::abs(s.loss - result->loss) / std::abs(result->loss);
    worst = std::max(worst, std::abs(s.energy - result->energy) / std::abs(result->energy));
    worst = std::max(worst, max_rel_err(s.input_covariance, result->input_covariance));
    worst = std::max(worst, max_rel_err(s.energy_gradient, result->energy_gradient));
    worst = std::max(worst, max_rel_err(s.loss_gradient, result->loss_gradient));
    for (std::size_t j = 0; j < s.loss_hessian.size(); ++j) {
      worst = std::max(worst, max_rel_err(s.gated_covariance[j], result->gated_covariance[j]));
      worst = std::max(worst, max_rel_err(s.loss_hessian[j], result->loss_hessian[j]));
    }
    state.counters["max_rel_err"] = worst;
  }
}

BENCHMARK_CAPTURE(BM_AnalyzeOneLayer, dense, false)
    ->Args({2000, 64, 8})
    ->Args({2000, 256, 16})
    ->Iterations(1)
    ->Unit(benchmark::kSecond);
BENCHMARK_CAPTURE(BM_AnalyzeOneLayer, streamed, true)
    ->Args({2000, 64, 8})
    ->Args({2000, 256, 16})
    ->Args({20000, 256, 16})  // the size: α alone would be 3.2 GB; takes minutes
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

// ---- BM_TwoLayerStep: one α-CL step of a two-layer network (theory §5) ----------------------------
// Forward both views, loss and α, ∇E_α with α frozen by back-propagation (Identity C), update.
// K RFs of size 8, M ReLU nodes each, p = 16, Gaussian two-view batch. items = N samples.
// Accuracy: Identity A for the two-layer net, ‖∇_V L + 2N²∇_V E_sg(α)‖/‖∇_V L‖ at the start.

void BM_TwoLayerStep(benchmark::State& state, LossKind kind) {
  const Index n = state.range(0), k = state.range(1), m = state.range(2);
  const std::vector<Index> sizes(static_cast<std::size_t>(k), 8);
  Rng rng(kSeed, 40);
  const MatrixXd x = rng.normal_matrix(n, 8 * k);
  const TwoViewBatch batch{x, x + 0.3 * rng.normal_matrix(n, 8 * k)};
  cldyn::TwoLayerNetwork net = cldyn::TwoLayerNetwork::random(sizes, m, 16, Activation::relu(), rng);
  const Loss loss = kind == LossKind::infonce ? Loss::infonce(kTau) : Loss::quadratic();
  {
    const MatrixXd f = net.forward(batch.x), f_prime = net.forward(batch.x_prime);
    const auto eg = net.energy_gradient(batch, loss.pairwise_importance(f, f_prime));
    const auto lg = net.loss_gradient(batch, loss);
    state.counters["identityA_rel_err"] =
        (lg.top + 2.0 * dbl(n) * dbl(n) * eg.top).norm() / lg.top.norm();
  }
  const double learning_rate = 0.01;
  for (auto _ : state) {
    const MatrixXd f = net.forward(batch.x), f_prime = net.forward(batch.x_prime);
    const cldyn::LossEvaluation eval = loss.evaluate(f, f_prime);
    const auto grad = net.energy_gradient(batch, eval.alpha);
    std::vector<MatrixXd> w = net.filters();
    for (std::size_t j = 0; j < w.size(); ++j) w[j] += learning_rate * grad.filters[j];
    net.set_filters(w);
    net.set_top(net.top() + learning_rate * grad.top);
    benchmark::DoNotOptimize(eval.value);
  }
  state.SetItemsProcessed(state.iterations() * n);
}

BENCHMARK_CAPTURE(BM_TwoLayerStep, infonce, LossKind::infonce)
    ->ArgsProduct({{256, 1024}, {4}, {8, 32}})
    ->Unit(benchmark::kMicrosecond);

// ---- token-pattern experiment (theory §6) --------------------------------------------------------
// BM_TokenBatch: drawing one batch of B two-view token samples (reference structure).
// BM_TokenStep: one training step's loss and gradient (forward, InfoNCE, backward, gather and
// scatter-add) on the reference configuration with M = β·P; FLOPS counts the dense products
// (layer 2 forward and both backward products over 2B columns, and the B×B similarity).
// Accuracy: relative difference of the float loss from the double loss at the same weights.
// BM_TokenRun: a whole reference run (5000 steps, data, SGD, metrics), one iteration.

void BM_TokenBatch(benchmark::State& state) {
  Rng srng(kSeed, 1);
  const cldyn::data::TokenPatterns tp(cldyn::data::TokenPatternOptions{}, srng);
  Rng rng(kSeed, 3);
  const int b = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const cldyn::data::TokenBatch batch = tp.sample(b, rng);
    benchmark::DoNotOptimize(batch.view2.data());
  }
  state.SetItemsProcessed(state.iterations() * b);
}

template <class S>
void BM_TokenStep(benchmark::State& state) {
  cldyn::TokenRunOptions o;
  o.beta = static_cast<double>(state.range(0));
  Rng srng(kSeed, 1), irng(kSeed, 2), rng(kSeed, 3);
  const cldyn::data::TokenPatterns tp(o.data, srng);
  cldyn::TokenNetwork<S> net(o.network(), tp.embedding(), irng);
  const cldyn::data::TokenBatch batch = tp.sample(o.batch_size, rng);
  {
    Rng irng2(kSeed, 2);
    cldyn::TokenNetwork<double> ref(o.network(), tp.embedding(), irng2);
    const double exact = ref.loss(batch, o.loss, nullptr);
    state.counters["loss_rel_diff_vs_double"] =
        std::abs(static_cast<double>(net.loss(batch, o.loss, nullptr)) - exact) / std::abs(exact);
  }
  cldyn::TokenParameters<S> grad;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.loss(batch, o.loss, &grad));
    benchmark::ClobberMemory();
  }
  const double hidden = o.network().hidden(), p = o.output_dim, b = o.batch_size;
  const double flops = 3.0 * 2.0 * p * hidden * 2.0 * b + 2.0 * b * b * p * 2.0;
  state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

template <class S>
void BM_TokenRun(benchmark::State& state) {
  cldyn::TokenRunOptions o;
  o.steps = static_cast<int>(state.range(0));
  o.double_precision = std::is_same_v<S, double>;
  double loc_all = 0.0;
  for (auto _ : state) loc_all = cldyn::run_token_patterns(o).locality.loc_all;
  state.counters["loc_all"] = loc_all;
  state.SetItemsProcessed(state.iterations() * o.steps);
}

BENCHMARK(BM_TokenBatch)->Arg(128)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_TokenStep, float)->Name("BM_TokenStep/float")->Arg(1)->Arg(5)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_TokenStep, double)->Name("BM_TokenStep/double")->Arg(5)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_TokenRun, float)->Name("BM_TokenRun/float")->Arg(5000)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK_TEMPLATE(BM_TokenRun, double)->Name("BM_TokenRun/double")->Arg(5000)->Iterations(1)->Unit(benchmark::kSecond);

// Dense first: it fills the eigenvalue cache the Spectra run compares against. The dense
// d = 4000 solve takes many seconds, hence one iteration at the large sizes.
BENCHMARK_CAPTURE(BM_TopEigen, dense, EigenMethod::dense)->Arg(500)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TopEigen, dense, EigenMethod::dense)
    ->Arg(2000)
    ->Arg(4000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TopEigen, spectra, EigenMethod::spectra)
    ->Arg(500)
    ->Arg(2000)
    ->Arg(4000)
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_PopulationGatedCovariance)->Arg(20)->Arg(200)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FixedPointSolve)->Arg(20)->Arg(200)->Arg(2000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FixedPointSweep)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
