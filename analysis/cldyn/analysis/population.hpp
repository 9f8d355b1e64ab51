#pragma once
/// \file population.hpp
/// Exact population quantities of theory §4 for uniform α in the population limit: base samples
/// x0 from a finite support (points x0_s with probabilities p_s, s = 1..S), views
/// x = x0 + σξ, ξ ~ N(0, I_d), one node f = h(wᵀx) with a homogeneous activation h.
///
/// Notation (w ≠ 0): m = wᵀx0, s = σ‖w‖, a = m/s, ŵ = w/‖w‖, Φ/φ the standard normal CDF/density
/// (Boost.Math), P⊥ = I − ŵŵᵀ. For ReLU:
///
///     g(x0; w)   := E[h(wᵀx) | x0]  = s·(a·Φ(a) + φ(a))
///     μ̃(x0; w)  := E[x̃ | x0]       = Φ(a)·x0 + σ·φ(a)·ŵ              (= ∇_w g)
///     ∇²_w g     = (φ(a)/s)·( v vᵀ + σ²·P⊥ ),   v = x0 − a·σ·ŵ
///
/// (∇²_w g = E[δ(wᵀx)·x xᵀ | x0]: the density of wᵀx at 0, φ(a)/s, times the second moment of x
/// given wᵀx = 0, whose mean is v and covariance σ²P⊥.) For linear h: g = m, μ̃ = x0, ∇²g = 0.
/// Leaky ReLU with slope γ is h(u) = (1 − γ)·ReLU(u) + γ·u, so g, μ̃ and ∇²g are the same
/// combination: (1 − γ)·(ReLU value) + γ·(linear value).
///
/// g is 1-homogeneous in w, so g = wᵀμ̃ and ∇²g·w = 0. With V, Cov over the support:
///
///     E(w)      = ½·V[g]
///     A_pop(w)  = V[μ̃]                                   (d × d; invariant to w → c·w, c > 0)
///     ∇E(w)     = Cov(μ̃, g) = A_pop(w)·w
///     ∇²E(w)    = A_pop(w) + Σ_s p_s (g_s − ḡ)·∇²_w g(x0_s; w)
///
/// The last sum is the term (∂A/∂w)[·]w of theory §3 (∇²E = ∂(A w)/∂w = A + (∂A/∂w)[·]w). The
/// terms with ∂ḡ/∂w and ∂μ̄/∂w vanish because Σ_s p_s (g_s − ḡ) = 0. For uniform α and N
/// i.i.d. samples the sample gated covariance has mean E[A(w)] = (N−1)/N·A_pop(w) (theory §1).

#include <Eigen/Core>
#include <vector>

#include "cldyn/core/activation.hpp"
#include "cldyn/data/latent_model.hpp"

namespace cldyn::analysis {

/// A finite distribution of base samples with isotropic Gaussian augmentation x = x0 + σξ.
/// The overloads taking a data::LatentModel enumerate its support on every call; build a
/// DiscretePopulation once (from_model) when evaluating many w. Every population routine costs
/// O(S·d) plus O(S·d²) for the d × d results (S support points).
struct DiscretePopulation {
  Eigen::MatrixXd x0;           ///< d × S, column s = support point x0_s
  Eigen::VectorXd probability;  ///< S, p_s ≥ 0, Σ_s p_s = 1 within 1e-12·S
  double sigma = 0.0;           ///< augmentation noise σ > 0

  Eigen::Index dim() const { return x0.rows(); }
  Eigen::Index size() const { return x0.cols(); }

  /// Throws std::invalid_argument (naming `where` and the parameter) unless d ≥ 1, S ≥ 1,
  /// x0 finite, probability of size S with finite entries ≥ 0 summing to 1 within 1e-12·S,
  /// σ > 0 finite.
  void validate(const char* where = "DiscretePopulation") const;

  /// The exact support of a latent model's x0 (LatentModel::support(); summation with L > 20
  /// throws) and its σ.
  static DiscretePopulation from_model(const data::LatentModel& model);
  /// From support points (each x0 of the same length d ≥ 1) and σ; validated.
  static DiscretePopulation from_support(const std::vector<data::SupportPoint>& support,
                                         double sigma);
};

/// g(x0; w) = E[h(wᵀx) | x0] for x = x0 + σξ: ReLU s·(aΦ(a) + φ(a)); linear m; leaky ReLU
/// (1 − γ)·g_ReLU + γ·m (m = wᵀx0, s = σ‖w‖, a = m/s). x0, w: length d; w ≠ 0; σ > 0.
double gate_expectation(const Eigen::Ref<const Eigen::VectorXd>& x0,
                        const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                        const Activation& activation);

/// μ̃(x0; w) = E[x̃ | x0] = E[h'(wᵀx)·x | x0] = ∇_w g (length d): ReLU Φ(a)x0 + σφ(a)ŵ;
/// linear x0; leaky ReLU (1 − γ)·μ̃_ReLU + γ·x0.
Eigen::VectorXd gated_input_expectation(const Eigen::Ref<const Eigen::VectorXd>& x0,
                                        const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                                        const Activation& activation);

/// ∇²_w g(x0; w) (d × d, symmetric, annihilates w): ReLU (φ(a)/s)(v vᵀ + σ²P⊥) with
/// v = x0 − aσŵ; linear 0; leaky ReLU (1 − γ)·(ReLU value).
Eigen::MatrixXd gate_expectation_hessian(const Eigen::Ref<const Eigen::VectorXd>& x0,
                                         const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                                         const Activation& activation);

/// E(w) = ½·V_{x0}[g(x0; w)], the population energy of one node (uniform α, N → ∞, without
/// the (N−1)/N factor). w: length d, finite, nonzero.
double population_energy(const DiscretePopulation& population,
                         const Eigen::Ref<const Eigen::VectorXd>& w, const Activation& activation);
/// As above on the exact support of `model`.
double population_energy(const data::LatentModel& model, const Eigen::Ref<const Eigen::VectorXd>& w,
                         const Activation& activation);

/// A_pop(w) = V_{x0}[μ̃(x0; w)] = Σ_s p_s (μ̃_s − μ̄)(μ̃_s − μ̄)ᵀ (d × d, symmetric PSD).
/// For linear h it is V[x0], independent of w.
Eigen::MatrixXd population_gated_covariance(const DiscretePopulation& population,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation);
/// As above on the exact support of `model`.
Eigen::MatrixXd population_gated_covariance(const data::LatentModel& model,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation);

/// ∇E(w) = Cov_{x0}(μ̃, g) = Σ_s p_s (μ̃_s − μ̄)(g_s − ḡ) (length d); equals A_pop(w)·w because
/// g = wᵀμ̃ (homogeneity).
Eigen::VectorXd population_energy_gradient(const DiscretePopulation& population,
                                           const Eigen::Ref<const Eigen::VectorXd>& w,
                                           const Activation& activation);
/// As above on the exact support of `model`.
Eigen::VectorXd population_energy_gradient(const data::LatentModel& model,
                                           const Eigen::Ref<const Eigen::VectorXd>& w,
                                           const Activation& activation);

/// The population Hessian ∇²E(w) = A_pop(w) + R(w), split as theory §3 asks.
struct PopulationHessian {
  Eigen::MatrixXd hessian;             ///< ∇²E(w), d × d symmetric
  Eigen::MatrixXd gated_covariance;    ///< A_pop(w) = V[μ̃], d × d
  /// R(w) = (∂A/∂w)[·]w = Σ_s p_s (g_s − ḡ)·∇²_w g(x0_s; w), d × d symmetric; R·w = 0.
  /// Zero for linear h.
  Eigen::MatrixXd remainder;
};

/// Closed-form ∇²E(w) = A_pop(w) + Σ_s p_s (g_s − ḡ)·∇²_w g(x0_s; w) (see the file comment).
PopulationHessian population_energy_hessian(const DiscretePopulation& population,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation);
/// As above on the exact support of `model`.
PopulationHessian population_energy_hessian(const data::LatentModel& model,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation);

/// E[1[wᵀx > 0]·x] for x ~ N(μ, Σ) (length d): Φ(a)·μ + φ(a)·u, with s² = wᵀΣw, a = wᵀμ/s,
/// u = Σw/s. If wᵀΣw = 0 (w in the null space of Σ) the gate is deterministic: 1[wᵀμ > 0]·μ.
/// μ: length d ≥ 1, finite; Σ: d × d, finite, symmetric (‖Σ − Σᵀ‖_F ≤ 1e-12·‖Σ‖_F),
/// wᵀΣw ≥ −1e-12·‖Σ‖_F‖w‖² (positive semidefinite along w); w: length d, finite, nonzero.
Eigen::VectorXd gaussian_gated_mean(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                    const Eigen::Ref<const Eigen::MatrixXd>& sigma,
                                    const Eigen::Ref<const Eigen::VectorXd>& w);

/// E[1[wᵀx > 0]·x xᵀ] for x ~ N(μ, Σ) (d × d):
///   Φ(a)(μμᵀ + Σ) + φ(a)(μuᵀ + uμᵀ) − a·φ(a)·uuᵀ,   s² = wᵀΣw, a = wᵀμ/s, u = Σw/s
/// (write x = μ + u·t + r with t = wᵀ(x − μ)/s ~ N(0, 1) and r ⊥ t Gaussian with covariance
/// Σ − uuᵀ; the gate is 1[t > −a], and E[1[t>−a]] = Φ(a), E[t·1[t>−a]] = φ(a),
/// E[t²·1[t>−a]] = Φ(a) − aφ(a)). If wᵀΣw = 0 the gate is deterministic: 1[wᵀμ > 0](μμᵀ + Σ).
/// Argument rules as gaussian_gated_mean.
Eigen::MatrixXd gaussian_gated_second_moment(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                             const Eigen::Ref<const Eigen::MatrixXd>& sigma,
                                             const Eigen::Ref<const Eigen::VectorXd>& w);

}  // namespace cldyn::analysis
