#pragma once
/// \file stability.hpp
/// Stability of a fixed point on the sphere (theory §3). With λ = w*ᵀ∇E(w*) the Lagrange
/// multiplier, the Riemannian Hessian is H_R = P⊥(∇²E − λI)P⊥ restricted to the tangent space
/// (d − 1 eigenvalues). w* is a strict local maximum of E on the sphere (stable under the
/// ascent) iff every tangent eigenvalue is < 0. Also reported: the spectrum of A(w*) with its
/// eigengap λ1 − λ2, whether λ* is its top eigenvalue, and the size ‖(∂A/∂w)[·]w*‖₂ = ‖∇²E − A‖₂
/// of the term by which the Hessian differs from A(w*).

#include <Eigen/Core>
#include <string>
#include <string_view>

#include "cldyn/analysis/landscape.hpp"
#include "cldyn/core/status.hpp"

namespace cldyn::analysis {

enum class Verdict {
  stable,      ///< every tangent eigenvalue < −tol: strict local maximum of E on the sphere
  saddle,      ///< tangent eigenvalues of both signs (beyond ±tol)
  minimum,     ///< every tangent eigenvalue > tol
  degenerate,  ///< some tangent eigenvalue within ±tol of 0: second order does not decide
};
std::string_view to_string(Verdict v);

struct StabilityOptions {
  /// A tangent eigenvalue counts as zero when |μ| ≤ zero_tolerance·max(‖∇²E‖₂, |λ|).
  double zero_tolerance = 1e-9;
  /// Also compute ∇²E by central differences of the analytic gradient (relative step).
  bool finite_difference_check = true;
  double fd_step = 1e-6;
};

struct StabilityResult {
  Status status = Status::success;
  std::string message;
  Verdict verdict = Verdict::degenerate;
  double lambda = 0.0;                 ///< w*ᵀ∇E(w*)
  Eigen::VectorXd tangent_eigenvalues;  ///< d − 1 eigenvalues of H_R, descending
  Eigen::VectorXd tangent_top_vector;   ///< unit tangent eigenvector of the largest one
  Eigen::VectorXd gated_eigenvalues;    ///< eigenvalues of A(w*), descending
  double eigengap = 0.0;               ///< λ1(A) − λ2(A) (0 when d = 1)
  bool is_top = false;                 ///< λ* equals λ1(A) (within zero_tolerance·‖A‖)
  double remainder_norm = 0.0;         ///< ‖∇²E − A(w*)‖₂ = ‖(∂A/∂w)[·]w*‖₂
  double hessian_norm = 0.0;           ///< ‖∇²E‖₂
  /// ‖∇²E_fd − ∇²E‖_F / ‖∇²E‖_F, or −1 when not run.
  double fd_relative_error = -1.0;
  double gate_margin = 0.0;            ///< landscape.gate_margin(w*)
};

/// Classifies the fixed point w* (unit, length d) of `landscape`.
StabilityResult analyze_stability(const NodeLandscape& landscape,
                                  const Eigen::Ref<const Eigen::VectorXd>& w,
                                  const StabilityOptions& options = {});

/// d × (d − 1) orthonormal basis of the tangent space {v : vᵀw = 0} (w ≠ 0).
Eigen::MatrixXd tangent_basis(const Eigen::Ref<const Eigen::VectorXd>& w);

}  // namespace cldyn::analysis
