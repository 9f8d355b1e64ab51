#pragma once
// Test-only data and known-answer problems. Not installed, not part of the public API.

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn::test {

/// N × d two-view batch: x0 ~ N(0, diag(scales²)), views x0 + σ·ξ. Seeded.
TwoViewBatch gaussian_batch(Eigen::Index n, Eigen::Index d, double sigma, std::uint64_t seed);

/// Symmetric d × d matrix with the given eigenvalues and a random orthonormal eigenbasis
/// (returned in `basis`, columns in the order of `eigenvalues`).
Eigen::MatrixXd prescribed_spectrum(const Eigen::VectorXd& eigenvalues, std::uint64_t seed,
                                    Eigen::MatrixXd* basis = nullptr);

/// Relative error ‖a − b‖_F / max(‖b‖_F, floor).
double relative_error(const Eigen::Ref<const Eigen::MatrixXd>& a,
                      const Eigen::Ref<const Eigen::MatrixXd>& b, double floor = 1e-300);

/// A general (non-uniform, non-symmetric) α: entries i.i.d. U(0.1, 2.1) off the diagonal,
/// zero diagonal. Seeded.
PairwiseImportance random_alpha(Eigen::Index n, std::uint64_t seed);

/// |cos| of the angle between two nonzero vectors.
double abs_cos(const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::VectorXd>& b);

/// min over both views, samples and columns of W of |xᵀw_k| / (‖x‖·‖w_k‖): how far the batch
/// stays from every gate boundary of W (0 if some sample sits on one).
double gate_margin(const TwoViewBatch& batch, const Eigen::Ref<const Eigen::MatrixXd>& w);

/// Runs `fn`, which must throw std::invalid_argument, and returns its what(). Returns the
/// marker "<no exception thrown>" if fn returns normally; any other exception type propagates
/// (and fails the calling test).
template <class Fn>
std::string invalid_argument_message(Fn&& fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<no exception thrown>";
}

}  // namespace cldyn::test
