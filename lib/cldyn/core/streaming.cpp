#include "cldyn/core/streaming.hpp"

#include <algorithm>
#include <cmath>

#include "cldyn/core/detail/infonce_blocks.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn {

Eigen::MatrixXd contrastive_covariance_infonce_streamed(
    const Eigen::Ref<const Eigen::MatrixXd>& f, const Eigen::Ref<const Eigen::MatrixXd>& f_prime,
    const Eigen::Ref<const Eigen::MatrixXd>& x, const Eigen::Ref<const Eigen::MatrixXd>& x_prime,
    double tau, double eps, Eigen::Index block_rows) {
  constexpr const char* where = "contrastive_covariance_infonce_streamed";
  require(std::isfinite(tau) && tau > 0.0, where, "tau", tau, "tau > 0");
  require(std::isfinite(eps) && eps >= 0.0, where, "eps", eps, "eps >= 0");
  require(block_rows >= 0, where, "block_rows", block_rows, "block_rows >= 0 (0: default)");
  require(f.rows() >= 2, where, "N (rows of F)", f.rows(), "N >= 2");
  require(f.cols() >= 1, where, "p (columns of F)", f.cols(), "p >= 1");
  require_shape(f_prime, f.rows(), f.cols(), where, "F'");
  require_finite(f, where, "F");
  require_finite(f_prime, where, "F'");
  const Eigen::Index n = f.rows();
  require(x.rows() == n, where, "rows of X", x.rows(), "rows == N = " + std::to_string(n));
  require_shape(x_prime, x.rows(), x.cols(), where, "X'");
  require_finite(x, where, "X");
  require_finite(x_prime, where, "X'");

  const detail::InfoNceRowBlocks blocks(f, f_prime, tau, eps, where);
  const Eigen::Index d = x.cols();
  Eigen::Index b = block_rows;
  if (b == 0) {
    constexpr Eigen::Index kBlockDoubles = Eigen::Index{1} << 23;  // 64 MiB of α
    b = std::max<Eigen::Index>(64, kBlockDoubles / n);
  }
  b = std::min(b, n);

  Eigen::VectorXd r(n), c = Eigen::VectorXd::Zero(n);
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(d, d);    // Xᵀ α X
  Eigen::MatrixXd pos = Eigen::MatrixXd::Zero(d, d);  // (X − X')ᵀ diag(r) (X − X')
  Eigen::MatrixXd work, alpha_x, delta;
  for (Eigen::Index i0 = 0; i0 < n; i0 += b) {
    const Eigen::Index rows = std::min(b, n - i0);
    blocks.compute(i0, rows, work, nullptr, 0, nullptr, nullptr, r.data() + i0, c.data());
    alpha_x.noalias() = work * x;  // α_I X (rows × d)
    m.noalias() += x.middleRows(i0, rows).transpose() * alpha_x;
    delta = x.middleRows(i0, rows) - x_prime.middleRows(i0, rows);
    pos.noalias() += delta.transpose() * (r.segment(i0, rows).asDiagonal() * delta);
  }
  work.resize(0, 0);

  // Xᵀ diag(r + c) X, a few thousand rows at a time (no N × d temporary).
  const Eigen::VectorXd rc = r + c;
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(d, d);
  const Eigen::Index b2 = std::max<Eigen::Index>(1, std::min<Eigen::Index>(n, 4096));
  Eigen::MatrixXd weighted;
  for (Eigen::Index i0 = 0; i0 < n; i0 += b2) {
    const Eigen::Index rows = std::min(b2, n - i0);
    weighted.noalias() = rc.segment(i0, rows).asDiagonal() * x.middleRows(i0, rows);
    out.noalias() += x.middleRows(i0, rows).transpose() * weighted;
  }
  out -= m;
  out -= m.transpose();
  out -= pos;
  const double nn = static_cast<double>(n);
  out /= 2.0 * nn * nn;
  // Symmetric in exact arithmetic; remove the rounding asymmetry of the products.
  return 0.5 * (out + out.transpose());
}

}  // namespace cldyn
