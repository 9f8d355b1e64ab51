#include "cldyn/analysis/finite_difference.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

Eigen::MatrixXd central_difference_gradient(
    const std::function<double(const Eigen::MatrixXd&)>& f, const Eigen::MatrixXd& theta,
    const FiniteDifferenceOptions& options) {
  constexpr const char* where = "central_difference_gradient";
  require(options.relative_step > 0.0, where, "relative_step", options.relative_step, "> 0");
  require(options.typical_scale > 0.0, where, "typical_scale", options.typical_scale, "> 0");
  require_finite(theta, where, "theta");
  Eigen::MatrixXd g(theta.rows(), theta.cols());
  Eigen::MatrixXd probe = theta;
  for (Eigen::Index i = 0; i < theta.size(); ++i) {
    const double base = theta(i);
    const double h = options.relative_step * std::max(std::abs(base), options.typical_scale);
    probe(i) = base + h;
    const double up = f(probe);
    probe(i) = base - h;
    const double down = f(probe);
    probe(i) = base;
    g(i) = (up - down) / (2.0 * h);
  }
  return g;
}

GradientCheckResult check_gradient(const std::function<double(const Eigen::MatrixXd&)>& f,
                                   const Eigen::MatrixXd& theta, const Eigen::MatrixXd& analytic,
                                   const FiniteDifferenceOptions& options) {
  require_shape(analytic, theta.rows(), theta.cols(), "check_gradient", "analytic gradient");
  GradientCheckResult r;
  r.numerical = central_difference_gradient(f, theta, options);
  r.analytic = analytic;
  r.max_abs_error = (r.numerical - analytic).cwiseAbs().maxCoeff();
  r.relative_error = (r.numerical - analytic).norm() /
                     std::max(analytic.norm(), std::numeric_limits<double>::min());
  return r;
}

}  // namespace cldyn::analysis
