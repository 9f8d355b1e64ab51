#pragma once
/// \file global_modulation.hpp
/// Global modulation (theory §5, Claim 7) on the two-layer class model, exact population
/// quantities (uniform α, N → ∞, covariance over the base samples of augmentation-averaged
/// quantities; the (N−1)/N factor of theory §1 is dropped, it only rescales time).
///
/// M = 1 node per RF with filter w_k. With μ̃_k(x0) = E[x̃_k | x0] (population.hpp) and
/// g_k = w_kᵀ μ̃_k = E[f_k | x0]:
///
///   L_k = E_z V[μ̃_k | z],   Δ_k = E[μ̃_k | z=1] − E[μ̃_k | z=0],   d_k = w_kᵀL_k w_k,  b_k = w_kᵀΔ_k,
///   V[f_1] = diag(d) + p_0 p_1 b bᵀ   (RFs conditionally independent given z).
///
/// λ (top eigenvalue of V[f_1]) is the largest root of the secular equation
///   F(λ) = 1 − p_0 p_1 Σ_k b_k²/(λ − d_k) = 0,   λ ∈ (max d_k, max d_k + p_0 p_1‖b‖²],
/// found with Boost.Math's toms748_solve. Bracket: F → −∞ as λ ↓ d_j (j = argmax d_k, if b_j ≠ 0);
/// F(d_j + ½p_0p_1 b_j²) ≤ 1 − 2 < 0; at λ = d_j + p_0 p_1‖b‖² every λ − d_k ≥ p_0p_1‖b‖², so
/// F ≥ 0. Then s_k = b_k/(Z(λ − d_k)), Z² = Σ_k b_k²/(λ − d_k)², and the global-modulated
/// covariance Ã_k = (1/Z²)[(b_k/(λ − d_k))² L_k + Δ_kΔ_kᵀ/(λ − d_k)], with ẇ_k = Ã_k w_k equal to
/// the generic Identity-C field s_k Σ_l s_l Cov(μ̃_k, g_l) at VᵀV = s sᵀ.
///
/// Degenerate inputs — p_1 ∈ {0, 1} (p_0p_1 = 0), b = 0, or b_j = 0 for the RF with the largest
/// d_k — have no secular root above max d_k; they return Status::not_converged with a message
/// saying which, and no NaN.

#include <Eigen/Core>
#include <string>
#include <vector>

#include "cldyn/activation.hpp"
#include "cldyn/data/class_model.hpp"
#include "cldyn/status.hpp"

namespace cldyn::analysis {

/// Root of the secular equation and what certifies it.
struct SecularRoot {
  Status status = Status::not_converged;
  std::string message;
  double lambda = 0.0;
  double residual = 0.0;        ///< |F(λ)|
  Eigen::Index iterations = 0;  ///< function evaluations of toms748_solve
  double bracket_low = 0.0, bracket_high = 0.0;
};

/// Largest root of 1 − c Σ_k b_k²/(λ − d_k) = 0 (d, b: same length K ≥ 1, finite; c ∈ [0, 1/4]
/// is p_0 p_1). See the file comment for the bracket and the degenerate cases.
SecularRoot solve_secular(const Eigen::Ref<const Eigen::VectorXd>& d, const Eigen::Ref<const Eigen::VectorXd>& b,
                          double c);

struct GlobalModulation {
  Status status = Status::not_converged;  ///< of the secular root (success: s, Z, Ã_k are set)
  std::string message;
  double p0 = 0.0, p1 = 0.0;
  std::vector<Eigen::MatrixXd> within;   ///< L_k, d_k × d_k
  std::vector<Eigen::VectorXd> between;  ///< Δ_k, length d_k
  Eigen::VectorXd d, b;                  ///< K each
  SecularRoot root;
  double lambda = 0.0;
  Eigen::VectorXd s;  ///< unit top eigenvector of V[f_1] (sign: s_k has the sign of b_k)
  double z = 0.0;     ///< Z
  std::vector<Eigen::MatrixXd> modulated;  ///< Ã_k, d_k × d_k
};

/// The quantities of the file comment at filters w (K vectors, w_k of length d_k, finite,
/// nonzero) of a TwoLayerNetwork with M = 1 and the given activation, on the exact joint support
/// of `model` (throws if K > 9, see ClassModel::support()).
GlobalModulation global_modulation(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                   const Activation& activation);

/// V[f_1] = Cov_{x0}(g) (K × K), computed directly from the joint support (independent of the
/// decomposition diag(d) + p_0p_1 b bᵀ).
Eigen::MatrixXd hidden_covariance(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                  const Activation& activation);

/// The generic two-layer field of Identity C at VᵀV = s sᵀ in the population limit:
/// field_k = s_k Σ_l s_l Cov_{x0}(μ̃_k, g_l) (K vectors of length d_k), from the joint support.
std::vector<Eigen::VectorXd> generic_field(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                           const Eigen::Ref<const Eigen::VectorXd>& s, const Activation& activation);

/// The per-RF class statistics estimated from a labelled two-view sample (uniform α), for
/// filters w (K vectors, w_k of length d_k) with M = 1: with x̃_k, x̃'_k the gated inputs of RF k
/// in the two views and classes grouped by z,
///   Δ̂_k = mean_{z=1}(½(x̃_k + x̃'_k)) − mean_{z=0}(½(x̃_k + x̃'_k)),
///   L̂_k = Σ_z p̂_z · sym Cov_{i: z_i = z}(x̃_k[i], x̃'_k[i])   (cross-view covariance: the two
///   views are independent given x0, so it estimates V[μ̃_k | z] without the augmentation noise),
/// d̂_k = w_kᵀL̂_k w_k, b̂_k = w_kᵀΔ̂_k; p̂_z the class frequencies. Needs ≥ 2 samples of each class.
/// The returned GlobalModulation carries these estimates and the secular solution built on them.
GlobalModulation estimate_global_modulation(const data::ClassModel& model, const data::ClassSample& sample,
                                            const std::vector<Eigen::VectorXd>& w,
                                            const Activation& activation);

}  // namespace cldyn::analysis
