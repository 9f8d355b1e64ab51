#pragma once
/// \file colinearity.hpp
/// Co-linearity of the gradients inside a receptive field and diversity of trained filters
/// (theory §5, Claim 6).
///
/// For RF k of a TwoLayerNetwork the gradient matrix is G_k = [∇w_{k1} … ∇w_{kM}] (d_k × M).
/// For linear h, G_k = C_α[x_k, f]·V_k (V_k: the p × M block of V for RF k), so rank(G_k) ≤ p and,
/// for p = 1, every pair of columns is co-linear (|cos| = 1 to rounding). For ReLU the gates make
/// the columns differ and the rank generically reaches min(d_k, M).
///
/// Numerical rank: the number of singular values σ_i > τ·σ_1 with τ = kDefaultRankTolerance
/// (1e-10) unless given. Reason: G_k is a sum over O(N) samples of O(1) terms, so a direction
/// that is exactly absent carries σ ≈ ε·σ_1·(small factor) ≲ 1e-14·σ_1, while a genuine
/// direction of a ReLU RF carries σ ≳ 1e-4·σ_1 on the problems of this project; 1e-10 sits
/// orders of magnitude away from both.
///
/// Filter diversity of a trained W_k (d_k × M):
///   - mean pairwise |cos| between its columns (1: all duplicates up to sign);
///   - effective rank erank(W) = exp(H(q)), q_i = σ_i/Σ_j σ_j, H(q) = −Σ q_i log q_i (Roy &
///     Vetterli 2007, "The effective rank: a measure of effective dimensionality"), computed on
///     the column-normalised W_k so that every filter counts equally; 1 for duplicates, up to
///     min(d_k, M) for well-spread filters.

#include <Eigen/Core>
#include <vector>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/models/two_layer.hpp"

namespace cldyn::analysis {

/// Relative singular-value threshold of the numerical rank (see the file comment).
inline constexpr double kDefaultRankTolerance = 1e-10;

/// Pairwise |cos| between the columns of a matrix, skipping zero columns.
struct ColumnCosines {
  Eigen::MatrixXd abs_cos;         ///< M × M, |cos| of columns i and j (NaN if either is zero)
  Eigen::Index zero_columns = 0;   ///< columns with norm 0 (excluded from the statistics)
  Eigen::Index pairs = 0;          ///< pairs i < j of nonzero columns
  double min_abs_cos = 1.0;        ///< over those pairs (1 when there are none)
  double mean_abs_cos = 1.0;       ///< over those pairs (1 when there are none)
  /// max over pairs of 1 − |cos| (0 when there are none).
  double max_one_minus_abs_cos = 0.0;
};

/// |cos| of every pair of columns of `m` (d × M, M ≥ 1, finite).
ColumnCosines column_cosines(const Eigen::Ref<const Eigen::MatrixXd>& m);

/// Co-linearity of one gradient matrix G (d_k × M).
struct GradientColinearity {
  Eigen::VectorXd singular_values;  ///< min(d_k, M), descending
  Eigen::Index rank = 0;            ///< #{σ_i > rank_tolerance·σ_1} (0 for G = 0)
  double rank_tolerance = kDefaultRankTolerance;
  ColumnCosines cosines;
};

/// Singular values (Eigen::JacobiSVD), numerical rank and pairwise |cos| of G (d × M, finite,
/// M ≥ 1); rank_tolerance in (0, 1).
GradientColinearity gradient_colinearity(const Eigen::Ref<const Eigen::MatrixXd>& g,
                                         double rank_tolerance = kDefaultRankTolerance);

/// G_k = ∇_{W_k} E_α (α frozen) for every RF k of the network on the batch, and its co-linearity.
std::vector<GradientColinearity> field_gradient_colinearity(const TwoLayerNetwork& net,
                                                            const TwoViewBatch& batch,
                                                            const PairwiseImportance& alpha,
                                                            double rank_tolerance = kDefaultRankTolerance);

/// Diversity of the filters of one RF (see the file comment).
struct FilterDiversity {
  double mean_abs_cos = 1.0;       ///< mean pairwise |cos| of the nonzero columns
  double min_abs_cos = 1.0;        ///< min pairwise |cos|
  double effective_rank = 1.0;     ///< exp of the entropy of the normalised singular values
  Eigen::VectorXd singular_values; ///< of the column-normalised W_k, descending
};

/// Filter diversity of W (d × M, finite, at least one nonzero column).
FilterDiversity filter_diversity(const Eigen::Ref<const Eigen::MatrixXd>& w);

/// exp(−Σ q_i log q_i), q = s/Σs, for nonnegative singular values s with a positive sum
/// (terms with q_i = 0 contribute 0).
double effective_rank(const Eigen::Ref<const Eigen::VectorXd>& singular_values);

}  // namespace cldyn::analysis
