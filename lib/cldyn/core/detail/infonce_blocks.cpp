/// \file core/detail/infonce_blocks.cpp
/// The InfoNCE block kernel of detail/infonce_blocks.hpp: the vectorised exp (exp_nonpositive),
/// the tile passes and the InfoNceRowBlocks methods. Internal (not part of the public API).
#include "cldyn/core/detail/infonce_blocks.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "cldyn/core/loss.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::detail {
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
/// Always inlined into both call sites of compute(), as GCC did while this code lived in
/// loss.cpp: with -march=native GCC contracts the packet products and sums into FMAs, and
/// compiled as a separate function (GCC's choice in this smaller file) the results changed in
/// the last bits (the goldens and InfoNceBlocks.RowBitsIndependentOfBlockPosition failed).
[[gnu::always_inline]] inline void tile_passes(double* g, Eigen::Index g_stride, Eigen::Index n,
                                               Eigen::Index diag0, Eigen::Index valid,
                                               const double* half_sq, double neg_inv_tau,
                                               TileRows& rows) {
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

}  // namespace cldyn::detail
