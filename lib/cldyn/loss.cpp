#include "cldyn/loss.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>

#include "cldyn/batch.hpp"
#include "cldyn/detail/infonce_blocks.hpp"
#include "cldyn/validate.hpp"

namespace cldyn {
namespace {

void validate_outputs(const Eigen::Ref<const Eigen::MatrixXd>& f,
                      const Eigen::Ref<const Eigen::MatrixXd>& f_prime, const char* where) {
  require(f.rows() >= 2, where, "N (rows of F)", f.rows(), "N >= 2");
  require(f.cols() >= 1, where, "p (columns of F)", f.cols(), "p >= 1");
  require_shape(f_prime, f.rows(), f.cols(), where, "F'");
  require_finite(f, where, "F");
  require_finite(f_prime, where, "F'");
}

/// Row-wise softmax of InfoNCE: p_ik = e^{−d²_ik/τ}/Z_i (k ≠ i), p⁺_i = ε·e^{−d²_i/τ}/Z_i and
/// log Z_i, all with the row maximum of the logits subtracted before exponentiating. Computed
/// in row blocks (detail::InfoNceRowBlocks): the N × N distances are never formed.
struct InfoNceRows {
  Eigen::MatrixXd p;       // N × N, zero diagonal; this is α (empty unless materialised)
  Eigen::VectorXd p_pos;   // N
  Eigen::VectorXd log_z;   // N
  Eigen::VectorXd d2_pos;  // N
  Eigen::VectorXd r, c;    // row and column sums of p (empty unless materialised)
};

/// The b × N block buffer, kept per thread between calls (about 1 MiB: default_block_rows).
/// A fresh buffer per call let the allocator hand it back to the system and fault it in again
/// on the next call: 16 % of the time of α at N = 256 in BM_PairwiseImportanceInfoNCE.
Eigen::MatrixXd& block_scratch() {
  thread_local Eigen::MatrixXd work;
  return work;
}

InfoNceRows infonce_rows(const Eigen::Ref<const Eigen::MatrixXd>& f,
                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau, double eps,
                         const char* where, bool materialise = true) {
  const detail::InfoNceRowBlocks blocks(f, f_prime, tau, eps, where);
  const Eigen::Index n = f.rows();
  const Eigen::Index b = detail::InfoNceRowBlocks::default_block_rows(n);
  InfoNceRows out;
  out.d2_pos = blocks.d2_pos();
  out.p_pos.resize(n);
  out.log_z.resize(n);
  if (materialise) {
    out.p.resize(n, n);
    out.r.resize(n);
    out.c = Eigen::VectorXd::Zero(n);
  }
  Eigen::MatrixXd& work = block_scratch();
  for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
    const Eigen::Index rows = std::min(b, n - i0);
    if (materialise) {
      blocks.compute(i0, rows, work, out.p.data() + i0, n, out.p_pos.data() + i0,
                     out.log_z.data() + i0, out.r.data() + i0, out.c.data());
    } else {
      blocks.compute(i0, rows, work, nullptr, 0, out.p_pos.data() + i0,
                     out.log_z.data() + i0, nullptr, nullptr);
    }
  }
  return out;
}

}  // namespace

// ---- detail::InfoNceRowBlocks -----------------------------------------------------------------

namespace detail {
namespace {

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;
constexpr Eigen::Index kPacket = ei::packet_traits<double>::size;
/// Shifted logits below this give exactly 0: e^{−708} ≈ 3.3e-308 is within 1.5× of DBL_MIN, so
/// every exponential kept is a normal double (subnormal α entries carry no information and slow
/// every later product with α), and 2^n below stays a normal scale factor.
constexpr double kLogMinNormal = -708.0;

/// e^x for x ∈ [−708, 0] (other x: garbage, masked by the caller), as Eigen packets. Cody–Waite
/// reduction x = n·ln2 + r, |r| ≤ ln2/2, n = round(x/ln2) ∈ [−1021, 0] (by the 1.5·2^52 shifter,
/// whose low mantissa bits then hold n); e^r by its degree-13 Taylor polynomial (truncation
/// ≤ (ln2/2)^14/14! ≈ 4e-18 relative) in Horner form; the scale 2^n is added to the exponent
/// bits. About 1–2 ulp, like std::exp; no FMA and no division, so the same bits on every
/// x86-64 of one instruction set, and about 2–3× faster than Eigen's generic pexp (which
/// emulates floor and ldexp). e^0 = 1 exactly. Packets of 2 (SSE2) or 4 (AVX2) doubles; other
/// targets (AVX without AVX2, AVX-512, non-x86) use Eigen's pexp.
inline Packet exp_nonpositive(const Packet& x) {
#if (defined(EIGEN_VECTORIZE_SSE2) && !defined(EIGEN_VECTORIZE_AVX)) || \
    (defined(EIGEN_VECTORIZE_AVX2) && !defined(EIGEN_VECTORIZE_AVX512))
  const Packet shifter = ei::pset1<Packet>(6755399441055744.0);  // 1.5·2^52
  const Packet t = ei::padd(ei::pmul(x, ei::pset1<Packet>(1.4426950408889634074)), shifter);
  const Packet n = ei::psub(t, shifter);
  Packet r = ei::psub(x, ei::pmul(n, ei::pset1<Packet>(6.93147180369123816490e-01)));  // ln2_hi
  r = ei::psub(r, ei::pmul(n, ei::pset1<Packet>(1.90821492927058770002e-10)));         // ln2_lo
  constexpr double kInvFactorial[14] = {
      1.0,
      1.0,
      1.0 / 2.0,
      1.0 / 6.0,
      1.0 / 24.0,
      1.0 / 120.0,
      1.0 / 720.0,
      1.0 / 5040.0,
      1.0 / 40320.0,
      1.0 / 362880.0,
      1.0 / 3628800.0,
      1.0 / 39916800.0,
      1.0 / 479001600.0,
      1.0 / 6227020800.0};
  Packet p = ei::pset1<Packet>(kInvFactorial[13]);
  for (int k = 12; k >= 0; --k) p = ei::padd(ei::pmul(p, r), ei::pset1<Packet>(kInvFactorial[k]));
#if defined(EIGEN_VECTORIZE_AVX2)
  const __m256i scale = _mm256_slli_epi64(_mm256_castpd_si256(t), 52);  // n·2^52 (mod 2^64)
  return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), scale));
#else
  const __m128i scale = _mm_slli_epi64(_mm_castpd_si128(t), 52);  // n·2^52 (mod 2^64)
  return _mm_castsi128_pd(_mm_add_epi64(_mm_castpd_si128(p), scale));
#endif
#else
  return ei::pexp(x);  // other targets: Eigen's vectorised exp
#endif
}

}  // namespace

InfoNceRowBlocks::InfoNceRowBlocks(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau,
                                   double eps, const char* where)
    : f_(f), n_(f.rows()), tau_(tau), eps_(eps), where_(where) {
  half_sq_ = 0.5 * f.rowwise().squaredNorm();
  d2_pos_ = positive_squared_distances(f, f_prime);
  for (Eigen::Index i = 0; i < n_; ++i) {
    require(std::isfinite(half_sq_(i)), where, "||f_" + std::to_string(i) + "||^2 / 2",
            half_sq_(i), "finite (no overflow)");
    require(std::isfinite(d2_pos_(i)), where, "d2_pos(" + std::to_string(i) + ")", d2_pos_(i),
            "finite (no overflow)");
  }
  log_eps_ = eps > 0.0 ? std::log(eps) : -std::numeric_limits<double>::infinity();
}

Eigen::Index InfoNceRowBlocks::default_block_rows(Eigen::Index n) {
  constexpr Eigen::Index kBlockDoubles = Eigen::Index{1} << 17;  // 1 MiB of logits
  Eigen::Index b = (kBlockDoubles / std::max<Eigen::Index>(n, 1)) / 8 * 8;
  b = std::max<Eigen::Index>(b, 8);
  return std::min(b, n);
}

namespace {

/// A tile is kTile packets of consecutive rows of a block (16 rows with AVX2, 8 with SSE2): the
/// per-row state of the three passes (h, shift, sums, 1/Z) lives in registers while the tile
/// sweeps the N columns, so each pass reads an entry once and keeps nothing else in memory.
constexpr int kTile = 4;
constexpr Eigen::Index kTileRows = kTile * kPacket;

/// Per-row inputs and results of one tile (padding rows: h = l⁺ = 0).
struct TileRows {
  alignas(64) double h[kTileRows];          // ½‖f_i‖²
  alignas(64) double pos_logit[kTileRows];  // l⁺_i
  alignas(64) double m[kTileRows];          // shift m_i
  alignas(64) double s[kTileRows];          // Σ_j e_ij
};

/// Passes 1 and 2 over one tile: the shifts m and the sums s into `rows`. `g` holds G_I for
/// the tile's rows (column stride g_stride) and is overwritten with e_ij. `diag0` is the column
/// of the diagonal entry of the tile's first row; the first `valid` rows are real.
void tile_passes(double* g, Eigen::Index g_stride, Eigen::Index n, Eigen::Index diag0,
                 Eigen::Index valid, const double* half_sq, double neg_inv_tau, TileRows& rows) {
  const double inf = std::numeric_limits<double>::infinity();
  const Packet p_nit = ei::pset1<Packet>(neg_inv_tau);
  const Packet p_zero = ei::pset1<Packet>(0.0);
  const Packet p_lo = ei::pset1<Packet>(kLogMinNormal);
  Packet h[kTile], m[kTile];
  for (int k = 0; k < kTile; ++k) {
    h[k] = ei::pload<Packet>(rows.h + k * kPacket);
    m[k] = ei::pload<Packet>(rows.pos_logit + k * kPacket);
  }
  // l_ij = −max(((−G_ij) + h_i) + h_j, 0)·(1/τ) for the tile's rows of column j; l_ii = −∞.
  auto logits = [&](const double* col, Eigen::Index j, Packet* l) {
    const Packet p_hj = ei::pset1<Packet>(half_sq[j]);
    for (int k = 0; k < kTile; ++k) {
      const Packet d2 = ei::pmax(
          ei::padd(ei::padd(ei::pnegate(ei::ploadu<Packet>(col + k * kPacket)), h[k]), p_hj),
          p_zero);
      l[k] = ei::pmul(d2, p_nit);
    }
    if (j >= diag0 && j < diag0 + valid) {
      alignas(64) double tmp[kTileRows];
      for (int k = 0; k < kTile; ++k) ei::pstore(tmp + k * kPacket, l[k]);
      tmp[j - diag0] = -inf;
      for (int k = 0; k < kTile; ++k) l[k] = ei::pload<Packet>(tmp + k * kPacket);
    }
  };

  // Pass 1: m_i = max(l⁺_i, max_{j≠i} l_ij).
  for (Eigen::Index j = 0; j < n; ++j) {
    Packet l[kTile];
    logits(g + j * g_stride, j, l);
    for (int k = 0; k < kTile; ++k) m[k] = ei::pmax(m[k], l[k]);
  }
  for (int k = 0; k < kTile; ++k) ei::pstore(rows.m + k * kPacket, m[k]);

  // Pass 2: e_ij = exp(l_ij − m_i) (0 below −708, so 0 on the diagonal) into g; s_i = Σ_j e_ij
  // in the order j = 0…N−1.
  Packet s[kTile];
  for (int k = 0; k < kTile; ++k) s[k] = p_zero;
  for (Eigen::Index j = 0; j < n; ++j) {
    double* col = g + j * g_stride;
    Packet l[kTile];
    logits(col, j, l);
    for (int k = 0; k < kTile; ++k) {
      const Packet x = ei::psub(l[k], m[k]);
      const Packet e = ei::pand(exp_nonpositive(x), ei::pcmp_le(p_lo, x));
      ei::pstoreu(col + k * kPacket, e);
      s[k] = ei::padd(s[k], e);
    }
  }
  for (int k = 0; k < kTile; ++k) ei::pstore(rows.s + k * kPacket, s[k]);
}

}  // namespace

void InfoNceRowBlocks::compute(Eigen::Index i0, Eigen::Index b, Eigen::MatrixXd& work,
                               double* dest, Eigen::Index dest_stride, double* p_pos,
                               double* log_z, double* row_sums, double* col_sums) const {
  const Eigen::Index n = n_;
  const double inf = std::numeric_limits<double>::infinity();
  work.resize(b, n);
  work.noalias() = f_.middleRows(i0, b) * f_.transpose();  // G_I = F_I·Fᵀ
  double* w = work.data();
  if (dest == nullptr) {  // normalise in place
    dest = w;
    dest_stride = b;
  }
  const double neg_inv_tau = -(1.0 / tau_);
  Eigen::VectorXd inv_z(b);

  // Passes 1 and 2 for rows [t, t + valid) of the block, whose G is at g (column stride
  // g_stride); then Z_i = s_i + e^{l⁺_i − m_i}, r_i = Σ_j α_ij = s_i/Z_i (≤ N ulps from summing
  // the α_ij), p⁺_i and log Z_i.
  auto run_tile = [&](double* g, Eigen::Index g_stride, Eigen::Index t, Eigen::Index valid) {
    TileRows rows;
    for (Eigen::Index k = 0; k < kTileRows; ++k) {
      const bool real = k < valid;
      rows.h[k] = real ? half_sq_(i0 + t + k) : 0.0;
      rows.pos_logit[k] =
          !real ? 0.0 : (eps_ > 0.0 ? log_eps_ - d2_pos_(i0 + t + k) / tau_ : -inf);
    }
    tile_passes(g, g_stride, n, i0 + t, valid, half_sq_.data(), neg_inv_tau, rows);
    for (Eigen::Index k = 0; k < valid; ++k) {
      const Eigen::Index i = t + k;
      const double m = rows.m[k];
      require(std::isfinite(m), where_, "log-sum-exp shift of row " + std::to_string(i0 + i), m,
              "finite (every d2/tau of the row overflows)");
      const double pos_term = eps_ > 0.0 ? std::exp(rows.pos_logit[k] - m) : 0.0;
      const double z = rows.s[k] + pos_term;
      inv_z(i) = 1.0 / z;
      if (row_sums != nullptr) row_sums[i] = rows.s[k] / z;
      if (p_pos != nullptr) p_pos[i] = pos_term / z;
      if (log_z != nullptr) log_z[i] = m + std::log(z);
    }
  };
  const Eigen::Index full = b - b % kTileRows;
  for (Eigen::Index t = 0; t < full; t += kTileRows) run_tile(w + t, b, t, kTileRows);
  if (full < b) {
    // The last rows: a zero-padded copy, so the same packet code (and the same bits per row).
    const Eigen::Index valid = b - full;
    Eigen::MatrixXd tail = Eigen::MatrixXd::Zero(kTileRows, n);
    tail.topRows(valid) = work.middleRows(full, valid);
    run_tile(tail.data(), kTileRows, full, valid);
    work.middleRows(full, valid) = tail.topRows(valid);
  }

  // Pass 3, column by column (contiguous stores): α_ij = e_ij·(1/Z_i) into dest (one
  // multiplication: ≤ 1 ulp from e_ij/Z_i); column sums.
  const Eigen::Index bp = b - b % kPacket;
  for (Eigen::Index j = 0; j < n; ++j) {
    const double* col = w + j * b;
    double* out = dest + j * dest_stride;
    Packet p_col = ei::pset1<Packet>(0.0);
    for (Eigen::Index i = 0; i < bp; i += kPacket) {
      const Packet a = ei::pmul(ei::ploadu<Packet>(col + i), ei::ploadu<Packet>(inv_z.data() + i));
      ei::pstoreu(out + i, a);
      p_col = ei::padd(p_col, a);
    }
    double c_j = ei::predux(p_col);
    for (Eigen::Index i = bp; i < b; ++i) {
      const double a = col[i] * inv_z(i);
      out[i] = a;
      c_j += a;
    }
    if (col_sums != nullptr) col_sums[j] += c_j;
  }
}

}  // namespace detail

Eigen::MatrixXd pairwise_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f) {
  const Eigen::VectorXd sq = f.rowwise().squaredNorm();
  Eigen::MatrixXd d2(f.rows(), f.rows());
  d2.noalias() = -f * f.transpose();
  d2.colwise() += 0.5 * sq;
  d2.rowwise() += 0.5 * sq.transpose();
  // Rounding in the Gram form can leave tiny negatives; distances are nonnegative.
  d2 = d2.cwiseMax(0.0);
  d2.diagonal().setZero();
  return d2;
}

Eigen::VectorXd positive_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                           const Eigen::Ref<const Eigen::MatrixXd>& f_prime) {
  return 0.5 * (f - f_prime).rowwise().squaredNorm();
}

InfoNceSoftmax infonce_softmax(const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau,
                               double eps) {
  constexpr const char* where = "infonce_softmax";
  require(std::isfinite(tau) && tau > 0.0, where, "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, where, "eps", eps, "eps >= 0");
  validate_outputs(f, f_prime, where);
  InfoNceRows rows = infonce_rows(f, f_prime, tau, eps, where);
  return {std::move(rows.p), std::move(rows.p_pos), std::move(rows.log_z)};
}

Loss Loss::infonce(double tau, double eps) {
  require(std::isfinite(tau) && tau > 0.0, "Loss::infonce", "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, "Loss::infonce", "eps", eps, "eps >= 0");
  return Loss(Kind::infonce, tau, eps);
}

std::string Loss::name() const {
  if (kind_ == Kind::quadratic) return "quadratic";
  return "infonce(tau=" + shortest(tau_) + ",eps=" + shortest(eps_) + ")";
}

PairwiseImportance Loss::pairwise_importance(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  constexpr const char* where = "Loss::pairwise_importance";
  validate_outputs(f, f_prime, where);
  if (kind_ == Kind::quadratic) return PairwiseImportance::uniform(f.rows());
  // Finite, nonnegative, zero diagonal by construction (detail/infonce_blocks.hpp): no re-check.
  InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, where);
  return PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c));
}

double Loss::value(const Eigen::Ref<const Eigen::MatrixXd>& f,
                   const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::value");
  const double n = static_cast<double>(f.rows());
  if (kind_ == Kind::quadratic) {
    // Σ_{i≠j} d²_ij = N·Σ‖f_i‖² − ‖Σ f_i‖²
    const double neg = n * f.squaredNorm() - f.colwise().sum().squaredNorm();
    return (n - 1.0) * positive_squared_distances(f, f_prime).sum() - neg;
  }
  // Only log Z is needed: the blocks of α are computed and discarded (same blocks, hence
  // bitwise the same value, as evaluate()).
  const InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, "Loss::value", false);
  return rows.d2_pos.sum() + tau_ * rows.log_z.sum();
}

LossEvaluation Loss::evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                              const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::evaluate");
  if (kind_ == Kind::quadratic) return {value(f, f_prime), PairwiseImportance::uniform(f.rows())};
  InfoNceRows rows = infonce_rows(f, f_prime, tau_, eps_, "Loss::evaluate");
  const double v = rows.d2_pos.sum() + tau_ * rows.log_z.sum();
  return {v, PairwiseImportance::trusted(std::move(rows.p), std::move(rows.r), std::move(rows.c))};
}

std::pair<Eigen::MatrixXd, Eigen::MatrixXd> Loss::output_gradient(
    const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const {
  validate_outputs(f, f_prime, "Loss::output_gradient");
  const Eigen::MatrixXd delta = f - f_prime;  // ∂d²_i/∂f_i
  if (kind_ == Kind::quadratic) {
    const double n = static_cast<double>(f.rows());
    Eigen::MatrixXd df = (n - 1.0) * delta - 2.0 * n * f;
    df.rowwise() += 2.0 * f.colwise().sum();
    return {df, -(n - 1.0) * delta};
  }
  // ∂L/∂d²_i = 1 − p⁺_i, ∂L/∂d²_ik = −p_ik. α·F and αᵀ·F are accumulated block by block, so
  // α is never held whole.
  constexpr const char* where = "Loss::output_gradient";
  const detail::InfoNceRowBlocks blocks(f, f_prime, tau_, eps_, where);
  const Eigen::Index n = f.rows();
  const Eigen::Index b = detail::InfoNceRowBlocks::default_block_rows(n);
  Eigen::VectorXd p_pos(n), r(n), c = Eigen::VectorXd::Zero(n);
  Eigen::MatrixXd alpha_f(n, f.cols());
  Eigen::MatrixXd alpha_t_f = Eigen::MatrixXd::Zero(n, f.cols());
  Eigen::MatrixXd& work = block_scratch();
  for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
    const Eigen::Index rows = std::min(b, n - i0);
    blocks.compute(i0, rows, work, nullptr, 0, p_pos.data() + i0, nullptr, r.data() + i0,
                   c.data());
    alpha_f.middleRows(i0, rows).noalias() = work * f;
    alpha_t_f.noalias() += work.transpose() * f.middleRows(i0, rows);
  }
  const Eigen::VectorXd w_pos = Eigen::VectorXd::Ones(n) - p_pos;
  Eigen::MatrixXd df = w_pos.asDiagonal() * delta;
  df -= r.asDiagonal() * f;
  df -= c.asDiagonal() * f;
  df += alpha_f;
  df += alpha_t_f;
  Eigen::MatrixXd df_prime = -(w_pos.asDiagonal() * delta);
  return {df, df_prime};
}

}  // namespace cldyn
