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

#include "cldyn/core/activation.hpp"
#include "cldyn/core/status.hpp"
#include "cldyn/data/class_model.hpp"

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

/// The generic two-layer field of Identity C at VᵀV = s sᵀ in the population limit, taken from
/// the library's own Identity-C gradient: TwoLayerNetwork::energy_gradient of the network with
/// filters w_k (M = 1 per RF) and top layer V = sᵀ (p = 1), evaluated on a weighted batch on
/// which C_α equals the population covariance Cov_{x0}(E[·|x0], E[·|x0]) exactly:
///
///  - the base samples are the exact support of `model` (points with the same x0 and different z
///    merged, probabilities p);
///  - the augmentation noise of one view is replaced, per x0, by finitely many atoms with the
///    same first conditional moments: for each RF the standard-normal component t_k of the noise
///    along ŵ_k takes its conditional mean on each side of the kink (E[t | t > −c_k] =
///    φ(c_k)/Φ(c_k) with weight Φ(c_k), E[t | t < −c_k] = −φ(c_k)/Φ(−c_k) with weight Φ(−c_k),
///    c_k = w_kᵀx0_k/(σ‖w_k‖)), the RFs coupled comonotonically (at most K + 1 atoms a_j with
///    weights π_j); the noise orthogonal to ŵ_k is dropped (mean zero, it does not move the gate).
///    Since h' is constant on each side of the kink (linear, ReLU, leaky ReLU) and h(u) = h'(u)u,
///    the atoms reproduce μ̃_k(x0) and g_k(x0) exactly; linear h needs one atom, x0 itself;
///  - "main" rows x = x' = a_j with weights ω = p·π_j and α_ij = ω_iω_j (i ≠ j) give
///    1/(2N²)·Σα_ij(a_i − a_j)(b_i − b_j)ᵀ = Cov_ω/N²: the population covariance plus the
///    within-x0 covariance of the atoms; pairs of identical "twin" rows x = a_j, x' = a_j'
///    (j < j'), coupled only to each other with α = p·π_jπ_j', add only the −r_i(a_i − a'_i)(…)ᵀ
///    term of C_α and remove that within-x0 covariance exactly.
///
/// The library gradient is called on blocks of rows (C_α is a sum over pairs (i, j), so α splits
/// into blocks; each call's 1/(2N_call²) is undone) and the results are summed. Exact up to
/// rounding. Cost O(R²·d/K) with R = 4^K·(K + 1) main rows (4^K for linear h); throws
/// std::invalid_argument when R > 32768 (K ≥ 7 for ReLU), and as global_modulation for K, w.
/// s: length K, finite.
std::vector<Eigen::VectorXd> two_layer_population_field(const data::ClassModel& model,
                                                        const std::vector<Eigen::VectorXd>& w,
                                                        const Eigen::Ref<const Eigen::VectorXd>& s,
                                                        const Activation& activation);

/// The global-modulated covariance of RF k at an arbitrary unit-free top layer s (length K,
/// finite), from the statistics of `g` (within, between, b, p0, p1; its secular root is not
/// used):
///   Ã_k(s) = s_k² L_k + p_0p_1 · s_k (sᵀb)/b_k · Δ_kΔ_kᵀ,
/// so that Ã_k(s) w_k = s_k Σ_l s_l Cov(μ̃_k, g_l), the generic field at VᵀV = s sᵀ (RFs
/// conditionally independent given z: Cov(μ̃_k, g_l) = p_0p_1 Δ_k b_l for l ≠ k). At s = g.s it
/// equals g.modulated[k]. Needs b_k ≠ 0 (throws std::invalid_argument otherwise) and
/// 0 ≤ k < K.
Eigen::MatrixXd modulated_covariance(const GlobalModulation& g, const Eigen::Ref<const Eigen::VectorXd>& s,
                                     Eigen::Index k);

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
