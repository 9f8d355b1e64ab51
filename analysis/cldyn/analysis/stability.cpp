#include "cldyn/analysis/stability.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <cmath>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::stable: return "stable";
    case Verdict::saddle: return "saddle";
    case Verdict::minimum: return "minimum";
    case Verdict::degenerate: return "degenerate";
  }
  return "unknown";
}

Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& w) {
  require(w.norm() > 0.0, "tangent_basis", "norm of w", w.norm(), "w != 0");
  const Eigen::Index d = w.size();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(w);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  return q.rightCols(d - 1);
}

StabilityResult analyze_stability(const NodeLandscape& landscape,
                                  const Eigen::Ref<const Eigen::VectorXd>& w_in,
                                  const StabilityOptions& options) {
  constexpr const char* where = "analyze_stability";
  require(w_in.size() == landscape.dim(), where, "size of w", w_in.size(),
          "== d = " + std::to_string(landscape.dim()));
  require_finite(w_in, where, "w");
  require(w_in.norm() > 0.0, where, "norm of w", w_in.norm(), "w != 0");
  require(options.zero_tolerance >= 0.0, where, "zero_tolerance", options.zero_tolerance, ">= 0");
  require(options.fd_step > 0.0, where, "fd_step", options.fd_step, "> 0");
  const Eigen::VectorXd w = w_in.normalized();
  const Eigen::Index d = w.size();
  StabilityResult r;
  const Eigen::VectorXd g = landscape.gradient(w);
  Eigen::MatrixXd h = landscape.hessian(w);
  h = 0.5 * (h + h.transpose());
  const Eigen::MatrixXd a = landscape.gated_covariance(w);
  if (!g.allFinite() || !h.allFinite() || !a.allFinite()) {
    r.status = Status::non_finite;
    r.message = "non-finite gradient, Hessian or A(w*)";
    return r;
  }
  r.lambda = w.dot(g);
  r.gate_margin = landscape.gate_margin(w);

  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> hs(h, Eigen::EigenvaluesOnly);
  r.hessian_norm = hs.eigenvalues().cwiseAbs().maxCoeff();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> as(0.5 * (a + a.transpose()), Eigen::EigenvaluesOnly);
  r.gated_eigenvalues = as.eigenvalues().reverse();
  r.eigengap = d >= 2 ? r.gated_eigenvalues(0) - r.gated_eigenvalues(1) : 0.0;
  const double a_norm = r.gated_eigenvalues.cwiseAbs().maxCoeff();
  r.is_top = r.lambda >= r.gated_eigenvalues(0) - options.zero_tolerance * std::max(a_norm, 1e-300);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> rs(h - 0.5 * (a + a.transpose()), Eigen::EigenvaluesOnly);
  r.remainder_norm = rs.eigenvalues().cwiseAbs().maxCoeff();

  if (d >= 2) {
    const Eigen::MatrixXd b = tangent_basis(w);
    const Eigen::MatrixXd hr = b.transpose() * (h - r.lambda * Eigen::MatrixXd::Identity(d, d)) * b;
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ts(0.5 * (hr + hr.transpose()));
    r.tangent_eigenvalues = ts.eigenvalues().reverse();
    r.tangent_top_vector = (b * ts.eigenvectors().rightCols(1)).normalized();
    const double tol = options.zero_tolerance * std::max({r.hessian_norm, std::abs(r.lambda), 1e-300});
    const double top = r.tangent_eigenvalues(0), bottom = r.tangent_eigenvalues(d - 2);
    if (top < -tol) {
      r.verdict = Verdict::stable;
    } else if (bottom > tol) {
      r.verdict = Verdict::minimum;
    } else if (top > tol && bottom < -tol) {
      r.verdict = Verdict::saddle;
    } else {
      r.verdict = Verdict::degenerate;
    }
  } else {
    r.tangent_eigenvalues.resize(0);
    r.verdict = Verdict::stable;  // S^0 is two points: each is isolated
  }

  if (options.finite_difference_check) {
    Eigen::MatrixXd fd(d, d);
    for (Eigen::Index i = 0; i < d; ++i) {
      const double step = options.fd_step;  // w is unit: absolute = relative step
      Eigen::VectorXd up = w, down = w;
      up(i) += step;
      down(i) -= step;
      fd.col(i) = (landscape.gradient(up) - landscape.gradient(down)) / (2.0 * step);
    }
    fd = 0.5 * (fd + fd.transpose());
    r.fd_relative_error = (fd - h).norm() / std::max(h.norm(), 1e-300);
  }
  r.message = std::string(to_string(r.verdict));
  if (a_norm == 0.0)
    r.message += ": A(w*) = 0 (every gate closed: a dead node; E is flat around w*)";
  return r;
}

}  // namespace cldyn::analysis
