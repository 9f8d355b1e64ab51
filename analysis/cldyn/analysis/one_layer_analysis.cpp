#include "cldyn/analysis/one_layer_analysis.hpp"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/core/detail/infonce_blocks.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr const char* kWhere = "analyze_one_layer";
/// Rows per chunk of the final diagonal forms Bᵀ diag(v) B (a chunk of B is 4096 × d).
constexpr Index kChunkRows = 4096;

/// The InfoNCE α, a block of rows [i0, i0 + b) at a time, for any b. α is computed by the
/// library's row blocks at the rows where Loss::pairwise_importance cuts them
/// (InfoNceRowBlocks::default_block_rows), so every row, r, c, p⁺ and log Z are bitwise those
/// of Loss::evaluate: a library block inside the requested rows is written in place, one that
/// straddles their boundary is computed once into a cache and copied from it (blocks are asked
/// for in increasing order, so one cached block suffices).
class InfoNceAlphaRows {
 public:
  InfoNceAlphaRows(const Eigen::Ref<const MatrixXd>& f, const Eigen::Ref<const MatrixXd>& f_prime,
                   double tau, double eps)
      : blocks_(f, f_prime, tau, eps, kWhere),
        n_(f.rows()),
        lib_(detail::InfoNceRowBlocks::default_block_rows(f.rows())),
        p_pos_(n_),
        log_z_(n_),
        r_(n_),
        c_(VectorXd::Zero(n_)) {}

  /// Rows [i0, i0 + b) of α into dest (resized to b × N); fills p⁺, log Z, r of those rows and
  /// adds their column sums to c.
  void rows(Index i0, Index b, MatrixXd& dest) {
    dest.resize(b, n_);
    const Index i1 = i0 + b;
    for (Index j = i0 / lib_; j * lib_ < i1; ++j) {
      const Index s = j * lib_, e = std::min(s + lib_, n_);
      if (s >= i0 && e <= i1) {
        blocks_.compute(s, e - s, work_, dest.data() + (s - i0), b, p_pos_.data() + s,
                        log_z_.data() + s, r_.data() + s, c_.data());
        continue;
      }
      if (cached_ != j) {
        blocks_.compute(s, e - s, cache_, nullptr, 0, p_pos_.data() + s, log_z_.data() + s,
                        r_.data() + s, c_.data());
        cached_ = j;
      }
      const Index from = std::max(s, i0), count = std::min(e, i1) - from;
      dest.middleRows(from - i0, count) = cache_.middleRows(from - s, count);
    }
  }

  const VectorXd& d2_pos() const { return blocks_.d2_pos(); }
  const VectorXd& p_pos() const { return p_pos_; }
  const VectorXd& log_z() const { return log_z_; }
  const VectorXd& row_sums() const { return r_; }
  const VectorXd& col_sums() const { return c_; }

 private:
  detail::InfoNceRowBlocks blocks_;
  Index n_, lib_;
  VectorXd p_pos_, log_z_, r_, c_;
  MatrixXd work_, cache_;
  Index cached_ = -1;
};

/// Per-node sums over the row blocks (theory: see the header).
struct NodeSums {
  MatrixXd m_alpha;   ///< M_k = aᵀ α a
  MatrixXd m_beta;    ///< aᵀ β a
  MatrixXd m_rows;    ///< Σ_i m_i m_iᵀ
  VectorXd beta_row;  ///< β·1 (N)
  VectorXd beta_col;  ///< βᵀ·1 (N)
};

/// The samples whose gate h_j of one node is open (nonzero): list[t] = j and slot[j] = t, or
/// slot[j] = −1 for a closed gate.
struct OpenGates {
  std::vector<Index> list, slot;
};

/// Scratch of one thread.
struct Scratch {
  MatrixXd scaled;    ///< b × (open gates): α_I, q_I or β_I, column j multiplied by the gate h_j
  MatrixXd x_open;    ///< (open gates) × d: the rows of X with an open gate
  MatrixXd prod;      ///< b × d: scaled · (open rows of X)
  MatrixXd a_rows;    ///< b × d: a_I (or, in the final forms, a chunk of a)
  MatrixXd da_rows;   ///< b × d: Δa_I (or a chunk of Δa)
  MatrixXd m_rows;    ///< b × d: the rows m_i of block I
  MatrixXd weighted;  ///< a chunk of diag(v)·B
  VectorXd q_sums;    ///< b: (q·1)_i
};

/// out += Bᵀ diag(v) B for one chunk B of rows [row0, row0 + B.rows()) (v: all N entries).
void add_diag_form(const VectorXd& v, const MatrixXd& b_chunk, Index row0, MatrixXd& out,
                   MatrixXd& weighted) {
  weighted.noalias() = v.segment(row0, b_chunk.rows()).asDiagonal() * b_chunk;
  out.noalias() += b_chunk.transpose() * weighted;
}

/// Runs task(t, scratch) for t = 0 … tasks − 1 over the OpenMP threads, each task on one
/// thread with that thread's scratch; rethrows the first exception a task threw.
template <class Task>
void parallel_tasks(Index tasks, std::vector<Scratch>& scratch, Task&& task) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(tasks));
  const int threads = static_cast<int>(scratch.size());
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (long t = 0; t < static_cast<long>(tasks); ++t) {
    try {
      task(static_cast<Index>(t), scratch[static_cast<std::size_t>(omp_get_thread_num())]);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

int thread_count(Index tasks) {
  return static_cast<int>(std::max<Index>(1, std::min<Index>(omp_get_max_threads(), tasks)));
}

// ---- quadratic loss: uniform α, the dense closed forms (O(N·d²)) -------------------------------

OneLayerAnalysis analyze_quadratic(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                   const Loss& loss, const OneLayerAnalysisOptions& options,
                                   Index b) {
  const Index n = batch.size(), kk = net.width();
  const PairwiseImportance alpha = PairwiseImportance::uniform(n);
  if (options.alpha_sink) {
    MatrixXd rows;
    for (Index i0 = 0; i0 < n; i0 += b) {
      const Index m = std::min(b, n - i0);
      rows.setConstant(m, n, 1.0);
      for (Index i = 0; i < m; ++i) rows(i, i0 + i) = 0.0;
      options.alpha_sink(i0, rows);
    }
  }
  OneLayerAnalysis out;
  out.loss = loss.value(net.forward(batch.x), net.forward(batch.x_prime));
  out.energy = net.energy(batch, alpha);
  out.input_covariance = input_covariance(batch, alpha);
  const double nn = static_cast<double>(n);
  for (Index k = 0; k < kk; ++k) {
    if (options.gated_covariance || options.hessian) {
      MatrixXd a = frozen_alpha_jacobian(net, batch, alpha, k);
      // ∇²_{w_k} L_q = −2N²·A(w_k) (loss_hessian.hpp): the same O(N·d²) matrix, formed once.
      if (options.hessian) out.loss_hessian.push_back(-2.0 * nn * nn * a);
      if (options.gated_covariance) out.gated_covariance.push_back(std::move(a));
    }
    if (options.progress)
      options.progress(static_cast<double>(k + 1) / static_cast<double>(kk + 1));
  }
  out.energy_gradient = net.energy_gradient(batch, alpha);
  out.loss_gradient = net.loss_gradient(batch, loss);
  if (options.progress) options.progress(1.0);
  return out;
}

// ---- InfoNCE: α streamed in row blocks ----------------------------------------------------------

OneLayerAnalysis analyze_infonce(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                 const Loss& loss, const OneLayerAnalysisOptions& options,
                                 Index b) {
  const Index n = batch.size(), d = batch.dim(), kk = net.width();
  const MatrixXd& x = batch.x;
  const MatrixXd& x_prime = batch.x_prime;
  const MatrixXd f = net.forward(x), f_prime = net.forward(x_prime);
  const MatrixXd gates = net.gates(x), gates_prime = net.gates(x_prime);
  const bool linear = net.activation().is_linear();
  // Linear gates are all 1: a = X and M_k = M (the input's), computed once.
  const bool node_alpha = !linear && (options.gated_covariance || options.hessian);
  const bool hessian = options.hessian;
  const bool node_work = node_alpha || hessian;

  InfoNceAlphaRows source(f, f_prime, loss.tau(), loss.eps());
  MatrixXd m_input = MatrixXd::Zero(d, d);                     // M = Xᵀ α X
  MatrixXd alpha_f(n, kk), alpha_t_f = MatrixXd::Zero(n, kk);  // αF, αᵀF
  std::vector<NodeSums> sums(static_cast<std::size_t>(kk));
  for (NodeSums& s : sums) {
    if (node_alpha) s.m_alpha = MatrixXd::Zero(d, d);
    if (hessian) {
      s.m_beta = MatrixXd::Zero(d, d);
      s.m_rows = MatrixXd::Zero(d, d);
      s.beta_row.resize(n);
      s.beta_col = VectorXd::Zero(n);
    }
  }
  // Node k's open gates (h_j ≠ 0; for ReLU about half the samples): only they contribute to
  // α_I a = Σ_j α_ij h_j x_j, so the per-node products skip the closed columns.
  std::vector<OpenGates> open(static_cast<std::size_t>(node_work ? kk : 0));
  for (std::size_t k = 0; k < open.size(); ++k) {
    OpenGates& og = open[k];
    og.slot.assign(static_cast<std::size_t>(n), -1);
    for (Index j = 0; j < n; ++j) {
      if (gates(j, static_cast<Index>(k)) == 0.0) continue;
      og.slot[static_cast<std::size_t>(j)] = static_cast<Index>(og.list.size());
      og.list.push_back(j);
    }
  }
  // Task 0: C_α[x]'s M; task 1 + k: node k (only when there is per-node work).
  const Index tasks = node_work ? 1 + kk : 1;
  std::vector<Scratch> scratch(static_cast<std::size_t>(thread_count(tasks)));

  MatrixXd alpha;  // α_I, b × N
  for (Index i0 = 0; i0 < n; i0 += b) {
    const Index rows = std::min(b, n - i0);
    source.rows(i0, rows, alpha);
    if (options.alpha_sink) options.alpha_sink(i0, alpha);
    alpha_f.middleRows(i0, rows).noalias() = alpha * f;
    alpha_t_f.noalias() += alpha.transpose() * f.middleRows(i0, rows);
    const VectorXd& p_pos = source.p_pos();

    parallel_tasks(tasks, scratch, [&](Index t, Scratch& s) {
      if (t == 0) {
        s.prod.noalias() = alpha * x;  // α_I X
        m_input.noalias() += x.middleRows(i0, rows).transpose() * s.prod;
        return;
      }
      const Index k = t - 1;
      NodeSums& acc = sums[static_cast<std::size_t>(k)];
      const OpenGates& og = open[static_cast<std::size_t>(k)];
      const auto h = gates.col(k);
      const auto u = f.col(k);
      const Index m = static_cast<Index>(og.list.size());
      s.a_rows.noalias() = h.segment(i0, rows).asDiagonal() * x.middleRows(i0, rows);  // a_I
      // The products (G_I ∘ hᵀ)·X = G_I a (G = α, q or β) run over the open columns only.
      const bool all_open = m == n;
      if (!all_open) {
        s.x_open.resize(m, d);
        for (Index j = 0; j < m; ++j) s.x_open.row(j) = x.row(og.list[static_cast<std::size_t>(j)]);
      }
      const MatrixXd& xo = all_open ? x : s.x_open;
      s.scaled.resize(rows, m);
      if (node_alpha) {
        for (Index j = 0; j < n; ++j) {
          const Index col = og.slot[static_cast<std::size_t>(j)];
          if (col < 0) continue;
          const double hj = h(j);
          for (Index i = 0; i < rows; ++i) s.scaled(i, col) = alpha(i, j) * hj;
        }
        s.prod.noalias() = s.scaled * xo;  // α_I a
        acc.m_alpha.noalias() += s.a_rows.transpose() * s.prod;
      }
      if (!hessian) return;
      // q_ij = p_ij (u_i − u_j): row sums (over every j) and q_I a.
      s.q_sums = VectorXd::Zero(rows);
      for (Index j = 0; j < n; ++j) {
        const Index col = og.slot[static_cast<std::size_t>(j)];
        const double uj = u(j), hj = h(j);
        for (Index i = 0; i < rows; ++i) {
          const double q = alpha(i, j) * (u(i0 + i) - uj);
          s.q_sums(i) += q;
          if (col >= 0) s.scaled(i, col) = q * hj;
        }
      }
      s.prod.noalias() = s.scaled * xo;  // q_I a
      // m_i = (q·1)_i a_i − (q a)_i + p⁺_i δ_i Δa_i (row i's mean distance gradient).
      s.da_rows.noalias() = s.a_rows;
      s.da_rows.noalias() -=
          gates_prime.col(k).segment(i0, rows).asDiagonal() * x_prime.middleRows(i0, rows);
      const VectorXd pos = p_pos.segment(i0, rows).cwiseProduct(
          u.segment(i0, rows) - f_prime.col(k).segment(i0, rows));  // p⁺_i δ_i
      s.m_rows.noalias() = s.q_sums.asDiagonal() * s.a_rows;
      s.m_rows -= s.prod;
      s.m_rows.noalias() += pos.asDiagonal() * s.da_rows;
      acc.m_rows.noalias() += s.m_rows.transpose() * s.m_rows;
      // β_ij = q_ij (u_i − u_j): row and column sums and β_I a.
      for (Index i = 0; i < rows; ++i) acc.beta_row(i0 + i) = 0.0;
      for (Index j = 0; j < n; ++j) {
        const Index col = og.slot[static_cast<std::size_t>(j)];
        const double uj = u(j), hj = h(j);
        double col_sum = 0.0;
        for (Index i = 0; i < rows; ++i) {
          const double du = u(i0 + i) - uj;
          const double beta = (alpha(i, j) * du) * du;
          acc.beta_row(i0 + i) += beta;
          col_sum += beta;
          if (col >= 0) s.scaled(i, col) = beta * hj;
        }
        acc.beta_col(j) += col_sum;
      }
      s.prod.noalias() = s.scaled * xo;  // β_I a
      acc.m_beta.noalias() += s.a_rows.transpose() * s.prod;
    });
    if (options.progress) options.progress(static_cast<double>(i0 + rows) / static_cast<double>(n));
  }
  alpha.resize(0, 0);

  const VectorXd& r = source.row_sums();
  const VectorXd& c = source.col_sums();
  const VectorXd& p_pos = source.p_pos();
  const VectorXd rc = r + c;
  const double nn = static_cast<double>(n);
  const double inv_2n2 = 1.0 / (2.0 * nn * nn);

  OneLayerAnalysis out;
  out.loss = source.d2_pos().sum() + loss.tau() * source.log_z().sum();

  // E = [tr(Fᵀ L_α F) − Σ_i r_i ‖Δ_i‖²] / (4N²), L_α F = diag(r + c) F − αF − αᵀF.
  const MatrixXd delta = f - f_prime;
  MatrixXd lf = rc.asDiagonal() * f;
  lf -= alpha_f;
  lf -= alpha_t_f;
  const double negatives = f.cwiseProduct(lf).sum();
  const double positives = r.dot(delta.rowwise().squaredNorm());
  out.energy = (negatives - positives) / (4.0 * nn * nn);

  // ∇_W E: back-propagate ∂E/∂F = (L_α F − R Δ)/(2N²), ∂E/∂F' = R Δ/(2N²).
  const MatrixXd r_delta = inv_2n2 * (r.asDiagonal() * delta);
  const MatrixXd d_e = inv_2n2 * lf - r_delta;
  out.energy_gradient = net.backpropagate(batch, d_e, r_delta);
  lf.resize(0, 0);

  // ∇_W L: ∂L/∂F = (1 − p⁺)∘Δ − (r + c)∘F + αF + αᵀF, ∂L/∂F' = −(1 − p⁺)∘Δ.
  const VectorXd w_pos = VectorXd::Ones(n) - p_pos;
  MatrixXd d_l = w_pos.asDiagonal() * delta;
  d_l -= r.asDiagonal() * f;
  d_l -= c.asDiagonal() * f;
  d_l += alpha_f;
  d_l += alpha_t_f;
  const MatrixXd d_l_prime = -(w_pos.asDiagonal() * delta);
  out.loss_gradient = net.backpropagate(batch, d_l, d_l_prime);

  // The diagonal forms, now that c and βᵀ1 are complete; then C_α[x], A(w_k), ∇²_{w_k} L.
  const Index out_tasks = node_work || options.gated_covariance ? 1 + kk : 1;
  if (options.gated_covariance) out.gated_covariance.resize(static_cast<std::size_t>(kk));
  if (hessian) out.loss_hessian.resize(static_cast<std::size_t>(kk));
  auto symmetric = [](const MatrixXd& m) -> MatrixXd { return 0.5 * (m + m.transpose()); };
  parallel_tasks(out_tasks, scratch, [&](Index t, Scratch& s) {
    const bool input = t == 0;
    const Index k = t - 1;
    MatrixXd d_a = MatrixXd::Zero(d, d);  // aᵀ diag(r + c) a
    MatrixXd d_r = MatrixXd::Zero(d, d);  // Δaᵀ diag(r) Δa
    MatrixXd d_w, d_beta, d_pd;
    VectorXd beta_deg, pos_w;
    if (!input && hessian) {
      const NodeSums& acc = sums[static_cast<std::size_t>(k)];
      d_w = MatrixXd::Zero(d, d);     // Δaᵀ diag(1 − p⁺) Δa
      d_beta = MatrixXd::Zero(d, d);  // aᵀ diag(β1 + βᵀ1) a
      d_pd = MatrixXd::Zero(d, d);    // Δaᵀ diag(p⁺δ²) Δa
      beta_deg = acc.beta_row + acc.beta_col;
      const VectorXd dk = f.col(k) - f_prime.col(k);
      pos_w = p_pos.cwiseProduct(dk).cwiseProduct(dk);
    }
    for (Index i0 = 0; i0 < n; i0 += kChunkRows) {
      const Index rows = std::min(kChunkRows, n - i0);
      if (input) {
        s.a_rows = x.middleRows(i0, rows);
      } else {
        s.a_rows.noalias() = gates.col(k).segment(i0, rows).asDiagonal() * x.middleRows(i0, rows);
      }
      s.da_rows.noalias() = s.a_rows;
      if (input) {
        s.da_rows -= x_prime.middleRows(i0, rows);
      } else {
        s.da_rows.noalias() -=
            gates_prime.col(k).segment(i0, rows).asDiagonal() * x_prime.middleRows(i0, rows);
      }
      add_diag_form(rc, s.a_rows, i0, d_a, s.weighted);
      add_diag_form(r, s.da_rows, i0, d_r, s.weighted);
      if (!input && hessian) {
        add_diag_form(w_pos, s.da_rows, i0, d_w, s.weighted);
        add_diag_form(beta_deg, s.a_rows, i0, d_beta, s.weighted);
        add_diag_form(pos_w, s.da_rows, i0, d_pd, s.weighted);
      }
    }
    const MatrixXd& m = input || linear ? m_input : sums[static_cast<std::size_t>(k)].m_alpha;
    MatrixXd lap = d_a;  // aᵀ L_α a
    lap -= m;
    lap -= m.transpose();
    if (input) {
      out.input_covariance = symmetric(inv_2n2 * (lap - d_r));
      return;
    }
    if (options.gated_covariance)
      out.gated_covariance[static_cast<std::size_t>(k)] = symmetric(inv_2n2 * (lap - d_r));
    if (!hessian) return;
    const NodeSums& acc = sums[static_cast<std::size_t>(k)];
    MatrixXd spread = d_beta;  // aᵀ L_β a + Δaᵀ diag(p⁺δ²) Δa − Σ m_i m_iᵀ
    spread -= acc.m_beta;
    spread -= acc.m_beta.transpose();
    spread += d_pd;
    spread -= acc.m_rows;
    MatrixXd h = d_w - lap;
    h += spread / loss.tau();
    out.loss_hessian[static_cast<std::size_t>(k)] = symmetric(h);
  });
  return out;
}

}  // namespace

Index one_layer_analysis_block_rows(Index n, Index block_rows) {
  constexpr const char* where = "one_layer_analysis_block_rows";
  require(n >= 1, where, "N", n, "N >= 1");
  require(block_rows >= 0, where, "block_rows", block_rows, "block_rows >= 0 (0: default)");
  if (block_rows > 0) return std::min(block_rows, n);
  // About 64 MiB of α, in whole library blocks (then each is computed in place, no copy).
  constexpr Index kBlockDoubles = Index{1} << 23;
  const Index lib = detail::InfoNceRowBlocks::default_block_rows(n);
  const Index b = std::max<Index>(64, kBlockDoubles / n);
  return std::min(std::max(lib, b / lib * lib), n);
}

OneLayerAnalysis analyze_one_layer(const OneLayerNetwork& net, const TwoViewBatch& batch,
                                   const Loss& loss, const OneLayerAnalysisOptions& options) {
  batch.validate(kWhere);
  require(batch.dim() == net.input_dim(), kWhere, "d of the batch", batch.dim(),
          "d == input dimension of W = " + std::to_string(net.input_dim()));
  require(options.block_rows >= 0, kWhere, "block_rows", options.block_rows,
          "block_rows >= 0 (0: default)");
  const Index b = one_layer_analysis_block_rows(batch.size(), options.block_rows);
  if (options.progress) options.progress(0.0);
  if (loss.uniform_alpha()) return analyze_quadratic(net, batch, loss, options, b);
  return analyze_infonce(net, batch, loss, options, b);
}

double analyze_one_layer_peak_bytes(Index n, Index d, Index k,
                                    const OneLayerAnalysisOptions& options) {
  constexpr const char* where = "analyze_one_layer_peak_bytes";
  require(n >= 2, where, "N", n, "N >= 2");
  require(d >= 1, where, "d", d, "d >= 1");
  require(k >= 1, where, "K", k, "K >= 1");
  require(options.block_rows >= 0, where, "block_rows", options.block_rows,
          "block_rows >= 0 (0: default)");
  const double nd = static_cast<double>(n), dd = static_cast<double>(d),
               kd = static_cast<double>(k);
  const double b = static_cast<double>(one_layer_analysis_block_rows(n, options.block_rows));
  const double lib = static_cast<double>(detail::InfoNceRowBlocks::default_block_rows(n));
  const double threads = static_cast<double>(thread_count(1 + k));
  const double chunk = static_cast<double>(std::min(kChunkRows, n));
  // InfoNCE, in doubles: α_I; the library block scratch and cache (with its padded tile);
  // F, F', gates, αF, αᵀF, L_αF and the output gradients (≈ 12 N×K); per-row vectors;
  // β·1, βᵀ·1 and the open-gate lists per node; per node M_k, aᵀβa, Σ m mᵀ and the two
  // outputs; per thread the gated α_I (at most b × N), the open rows of X (at most N × d),
  // five b × d (or chunk × d) buffers and six d × d diagonal forms.
  double doubles = b * nd + 2.0 * lib * nd + 16.0 * nd + 12.0 * nd * kd + 10.0 * nd +
                   4.0 * kd * nd + 5.0 * kd * dd * dd +
                   threads * (b * nd + nd * dd + 5.0 * std::max(b, chunk) * dd + 8.0 * dd * dd);
  // Quadratic: the dense closed forms hold about six N × d matrices at once, plus a sink block.
  const double quadratic = 6.0 * nd * dd + b * nd + 12.0 * nd * kd + 5.0 * kd * dd * dd;
  doubles = std::max(doubles, quadratic);
  // Eigen's GEMM packing buffers (a few MiB per thread) and the allocator's slack.
  constexpr double kSlackBytes = 16.0 * 1024 * 1024;
  return 8.0 * doubles + threads * kSlackBytes;
}

}  // namespace cldyn::analysis
