#pragma once
// Test-only data and known-answer problems. Not installed, not part of the public API.

#include <Eigen/Core>

#include "cldyn/batch.hpp"
#include "cldyn/rng.hpp"

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

}  // namespace cldyn::test
