#pragma once
/// \file finite_difference.hpp
/// Central finite-difference gradient checker (in the spirit of Ceres' GradientChecker): the
/// numerical gradient of a scalar function, compared with an analytic one, returned as a full
/// result rather than a yes/no.

#include <Eigen/Core>
#include <functional>

namespace cldyn::analysis {

struct FiniteDifferenceOptions {
  /// Relative step: h_i = relative_step · max(|θ_i|, typical_scale).
  /// The default ≈ ε^{1/3} balances the O(h²) truncation and O(ε/h) rounding errors.
  double relative_step = 6e-6;
  double typical_scale = 1.0;
};

struct GradientCheckResult {
  Eigen::MatrixXd numerical;     ///< central differences, same shape as θ
  Eigen::MatrixXd analytic;      ///< the gradient that was checked
  double max_abs_error = 0.0;    ///< max_i |numerical_i − analytic_i|
  double relative_error = 0.0;   ///< ‖numerical − analytic‖_F / max(‖analytic‖_F, tiny)
};

/// Central differences of f at θ (any shape; f sees the perturbed matrix).
Eigen::MatrixXd central_difference_gradient(
    const std::function<double(const Eigen::MatrixXd&)>& f, const Eigen::MatrixXd& theta,
    const FiniteDifferenceOptions& options = {});

/// Compares `analytic` with central differences of f at θ.
GradientCheckResult check_gradient(const std::function<double(const Eigen::MatrixXd&)>& f,
                                   const Eigen::MatrixXd& theta, const Eigen::MatrixXd& analytic,
                                   const FiniteDifferenceOptions& options = {});

}  // namespace cldyn::analysis
