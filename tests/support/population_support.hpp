#pragma once
// Test-only helpers for the latent model and population tests (header-only). Not installed,
// not part of the public API.

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>

namespace cldyn::test {

/// Central-difference Jacobian (rows: outputs, columns: inputs) of f at w, step
/// h_i = relative_step·max(|w_i|, 1). The default ≈ ε^{1/3} balances the O(h²) truncation
/// and O(ε/h) rounding errors of a central difference.
inline Eigen::MatrixXd central_difference_jacobian(
    const std::function<Eigen::VectorXd(const Eigen::VectorXd&)>& f, const Eigen::VectorXd& w,
    double relative_step = 6e-6) {
  const Eigen::Index d = w.size();
  Eigen::MatrixXd jac;
  for (Eigen::Index i = 0; i < d; ++i) {
    const double h = relative_step * std::max(std::abs(w(i)), 1.0);
    Eigen::VectorXd plus = w, minus = w;
    plus(i) += h;
    minus(i) -= h;
    const Eigen::VectorXd diff = (f(plus) - f(minus)) / ((plus(i) - minus(i)));
    if (i == 0) jac.resize(diff.size(), d);
    jac.col(i) = diff;
  }
  return jac;
}

/// Running mean and standard error of i.i.d. matrix-valued samples (Welford).
class MeanAccumulator {
 public:
  void add(const Eigen::Ref<const Eigen::MatrixXd>& x) {
    if (count_ == 0) {
      mean_ = Eigen::MatrixXd::Zero(x.rows(), x.cols());
      m2_ = Eigen::MatrixXd::Zero(x.rows(), x.cols());
    }
    ++count_;
    const Eigen::MatrixXd delta = x - mean_;
    mean_ += delta / static_cast<double>(count_);
    m2_ += delta.cwiseProduct(x - mean_);
  }
  long count() const { return count_; }
  const Eigen::MatrixXd& mean() const { return mean_; }
  /// Standard error of the mean per entry: sqrt(sample variance / n).
  Eigen::MatrixXd standard_error() const {
    return (m2_ / static_cast<double>(count_ - 1) / static_cast<double>(count_)).cwiseSqrt();
  }

 private:
  long count_ = 0;
  Eigen::MatrixXd mean_, m2_;
};

/// Largest |estimate − exact| / standard_error over the entries (standard errors floored at
/// `floor` so that entries that are exact in every sample, e.g. structural zeros, compare
/// to rounding).
inline double max_standard_errors(const Eigen::Ref<const Eigen::MatrixXd>& estimate,
                                  const Eigen::Ref<const Eigen::MatrixXd>& standard_error,
                                  const Eigen::Ref<const Eigen::MatrixXd>& exact,
                                  double floor = 1e-12) {
  return ((estimate - exact).cwiseAbs().array() / standard_error.array().max(floor)).maxCoeff();
}

/// Runs `statement`, expecting std::invalid_argument whose message contains every `needle`.
inline void expect_invalid_argument(const std::function<void()>& statement,
                                    std::initializer_list<std::string> needles) {
  try {
    statement();
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const std::string& needle : needles)
      EXPECT_NE(what.find(needle), std::string::npos)
          << "message \"" << what << "\" does not contain \"" << needle << "\"";
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected std::invalid_argument, got: " << e.what();
  }
}

}  // namespace cldyn::test
