#pragma once
// Test-only data and known-answer problems. Not installed, not part of the public API.

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/data/class_model.hpp"

namespace cldyn::test {

/// N × d two-view batch: x0 ~ N(0, diag(scales²)), views x0 + σ·ξ. Seeded.
TwoViewBatch gaussian_batch(Eigen::Index n, Eigen::Index d, double sigma, std::uint64_t seed);

/// Outputs F, F' (N × p) of the two views.
struct Outputs {
  Eigen::MatrixXd f, f_prime;
};

/// F = scale·G and F' = F + 0.3·scale·G' (G, G' i.i.d. standard normal N × p). Seeded.
Outputs random_outputs(Eigen::Index n, Eigen::Index p, double scale, std::uint64_t seed);

/// Symmetric d × d matrix with the given eigenvalues and a random orthonormal eigenbasis
/// (returned in `basis`, columns in the order of `eigenvalues`).
Eigen::MatrixXd prescribed_spectrum(const Eigen::VectorXd& eigenvalues, std::uint64_t seed,
                                    Eigen::MatrixXd* basis = nullptr);

/// One unit filter w_k per receptive field of the class model (length d_k), each the normalised
/// column of a standard normal draw, k = 0, 1, … in turn. Seeded.
std::vector<Eigen::VectorXd> random_filters(const data::ClassModel& m, std::uint64_t seed);

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

/// A loss with the name a parametrised test reports it by.
struct NamedLoss {
  std::string name;
  Loss loss;
};

/// Runs `fn`, which must throw an `Error` (or a type derived from it), and returns its what().
/// Returns the marker "<no exception thrown>" if fn returns normally; any other exception type
/// propagates (and fails the calling test).
template <class Error, class Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no exception thrown>";
}

/// error_message for a std::invalid_argument (the argument checks).
template <class Fn>
std::string invalid_argument_message(Fn&& fn) {
  return error_message<std::invalid_argument>(std::forward<Fn>(fn));
}

/// error_message for a std::runtime_error (the readers' refusals of a file).
template <class Fn>
std::string runtime_error_message(Fn&& fn) {
  return error_message<std::runtime_error>(std::forward<Fn>(fn));
}

}  // namespace cldyn::test
