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
  Eigen::MatrixXd work;
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
  const Eigen::Index bp = b - b % kPacket;  // rows handled by packets; the rest scalar

  // Per-row state: ½‖f_i‖², the shift m_i (initially l⁺_i), Z_i, r_i.
  Eigen::VectorXd h = half_sq_.segment(i0, b);
  Eigen::VectorXd m(b), pos_logit(b), pos_term(b);
  Eigen::VectorXd z = Eigen::VectorXd::Zero(b);  // Σ_j e_ij in pass 2, then Z_i
  for (Eigen::Index i = 0; i < b; ++i) {
    pos_logit(i) = eps_ > 0.0 ? log_eps_ - d2_pos_(i0 + i) / tau_ : -inf;
    m(i) = pos_logit(i);
  }

  // Pass 1: logits l_ij = −max(((−G_ij) + h_i) + h_j, 0)/τ in place, l_ii = −∞; row maxima.
  const Packet p_tau = ei::pset1<Packet>(tau_);
  const Packet p_zero = ei::pset1<Packet>(0.0);
  for (Eigen::Index j = 0; j < n; ++j) {
    double* col = w + j * b;
    const double hj = half_sq_(j);
    const Packet p_hj = ei::pset1<Packet>(hj);
    const bool diagonal = j >= i0 && j < i0 + b;
    for (Eigen::Index i = 0; i < bp; i += kPacket) {
      Packet d2 = ei::padd(ei::padd(ei::pnegate(ei::ploadu<Packet>(col + i)),
                                    ei::ploadu<Packet>(h.data() + i)),
                           p_hj);
      d2 = ei::pmax(d2, p_zero);
      const Packet l = ei::pdiv(ei::pnegate(d2), p_tau);
      ei::pstoreu(col + i, l);
      if (!diagonal) ei::pstoreu(m.data() + i, ei::pmax(ei::ploadu<Packet>(m.data() + i), l));
    }
    for (Eigen::Index i = bp; i < b; ++i) {
      const double d2 = std::max((-col[i] + h(i)) + hj, 0.0);
      col[i] = -d2 / tau_;
      if (!diagonal) m(i) = std::max(m(i), col[i]);
    }
    if (diagonal) {
      col[j - i0] = -inf;
      for (Eigen::Index i = 0; i < b; ++i) m(i) = std::max(m(i), col[i]);
    }
  }
  for (Eigen::Index i = 0; i < b; ++i) {
    require(std::isfinite(m(i)), where_,
            "log-sum-exp shift of row " + std::to_string(i0 + i), m(i),
            "finite (every d2/tau of the row overflows)");
    pos_term(i) = eps_ > 0.0 ? std::exp(pos_logit(i) - m(i)) : 0.0;
  }

  // Pass 2: e_ij = exp(l_ij − m_i) (0 below −708, so 0 on the diagonal); s_i = Σ_j e_ij.
  const Packet p_lo = ei::pset1<Packet>(kLogMinNormal);
  for (Eigen::Index j = 0; j < n; ++j) {
    double* col = w + j * b;
    for (Eigen::Index i = 0; i < bp; i += kPacket) {
      const Packet x = ei::psub(ei::ploadu<Packet>(col + i), ei::ploadu<Packet>(m.data() + i));
      const Packet e = ei::pand(exp_nonpositive(x), ei::pcmp_le(p_lo, x));
      ei::pstoreu(col + i, e);
      ei::pstoreu(z.data() + i, ei::padd(ei::ploadu<Packet>(z.data() + i), e));
    }
    for (Eigen::Index i = bp; i < b; ++i) {
      const double x = col[i] - m(i);
      col[i] = x >= kLogMinNormal ? std::exp(x) : 0.0;
      z(i) += col[i];
    }
  }
  // Z_i = s_i + e^{l⁺_i − m_i}; r_i = Σ_j α_ij = s_i/Z_i (≤ N ulps from summing the α_ij).
  Eigen::VectorXd r(b);
  for (Eigen::Index i = 0; i < b; ++i) {
    const double s_i = z(i);
    z(i) = s_i + pos_term(i);
    r(i) = s_i / z(i);
    if (p_pos != nullptr) p_pos[i] = pos_term(i) / z(i);
    if (log_z != nullptr) log_z[i] = m(i) + std::log(z(i));
  }

  // Pass 3: α_ij = e_ij · (1/Z_i) into dest (one multiplication: ≤ 1 ulp from e_ij / Z_i);
  // column sums.
  const Eigen::VectorXd inv_z = z.cwiseInverse();
  for (Eigen::Index j = 0; j < n; ++j) {
    const double* col = w + j * b;
    double* out = dest + j * dest_stride;
    Packet p_col = p_zero;
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
  if (row_sums != nullptr)
    for (Eigen::Index i = 0; i < b; ++i) row_sums[i] = r(i);
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
  Eigen::MatrixXd work;
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
