#pragma once
/// \file gated_covariance.hpp
/// Gated covariance A(w) := C_α[x̃_w] of one node (theory §3), x̃_w = h'(wᵀx)·x per view and
/// sample, and the input covariance C_α[x] (A(w) for linear h). Identity B: ∇_w E_α = A(w)·w.
/// A(w) is invariant to positive rescaling of w.

#include <Eigen/Core>

#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/pairwise_importance.hpp"

namespace cldyn::analysis {

/// C_α[x] of the batch's raw inputs (d × d).
Eigen::MatrixXd input_covariance(const TwoViewBatch& batch, const PairwiseImportance& alpha);

/// A(w) = C_α[x̃_w] from a batch, d × d (w: length d, finite).
Eigen::MatrixXd gated_covariance(const TwoViewBatch& batch, const PairwiseImportance& alpha,
                                 const Eigen::Ref<const Eigen::VectorXd>& w,
                                 const Activation& activation);

/// The same A(w) as a matrix-free operator (for Spectra); never forms the d × d matrix.
ContrastiveCovarianceOperator gated_covariance_operator(const TwoViewBatch& batch,
                                                        const PairwiseImportance& alpha,
                                                        const Eigen::Ref<const Eigen::VectorXd>& w,
                                                        const Activation& activation);

}  // namespace cldyn::analysis
