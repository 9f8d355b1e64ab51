#pragma once
/// \file loss.hpp
/// Contrastive losses as choices of α (theory §2), on the outputs F, F' (N × p) of the two
/// views, with d²_ij = ½‖f[i]−f[j]‖² (negatives are first-view samples) and d²_i = ½‖f[i]−f'[i]‖².
///
///   quadratic  L_q   = Σ_{i≠j} (d²_i − d²_ij),                              α_ij = 1
///   InfoNCE    L_nce = Σ_i [ d²_i + τ·log( ε·e^{−d²_i/τ} + Σ_{k≠i} e^{−d²_ik/τ} ) ],
///              α_ij = e^{−d²_ij/τ} / ( ε·e^{−d²_i/τ} + Σ_{k≠i} e^{−d²_ik/τ} )
///
/// Identity A: ∇_θ L = −2N²·∇_θ E_{sg(α(θ))}(θ). Every InfoNCE quantity is computed with a
/// per-row log-sum-exp shift, so tiny τ and large distances never overflow.

#include <Eigen/Core>
#include <string>
#include <utility>

#include "cldyn/core/pairwise_importance.hpp"

namespace cldyn {

/// N × N matrix of d²_ij = ½‖f[i] − f[j]‖² (zero diagonal), via one N×N×p product.
Eigen::MatrixXd pairwise_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f);
/// N vector of d²_i = ½‖f[i] − f'[i]‖².
Eigen::VectorXd positive_squared_distances(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                           const Eigen::Ref<const Eigen::MatrixXd>& f_prime);

/// A loss value together with α at the same outputs (one pass over the N × N distances).
struct LossEvaluation {
  double value;
  PairwiseImportance alpha;
};

/// Row-wise InfoNCE softmax (theory §2) at outputs F, F' (N × p each). Row i is the softmax
/// over the logits l_ij = −d²_ij/τ (j ≠ i) and l⁺_i = log ε − d²_i/τ:
///
///   p_ij = e^{l_ij}/Z_i (so p = α),   p⁺_i = e^{l⁺_i}/Z_i,   Z_i = e^{l⁺_i} + Σ_{j≠i} e^{l_ij},
///
/// with Σ_j p_ij + p⁺_i = 1. Computed with the per-row log-sum-exp shift (the row maximum of
/// the logits is subtracted before exponentiating), so tiny τ and large distances never overflow.
struct InfoNceSoftmax {
  Eigen::MatrixXd p;      ///< N × N, zero diagonal: p_ij = α_ij
  Eigen::VectorXd p_pos;  ///< N: p⁺_i (0 when ε = 0)
  Eigen::VectorXd log_z;  ///< N: log Z_i, so L_nce = Σ_i (d²_i + τ·log Z_i)
};

/// The InfoNCE softmax rows at F, F' (N × p each, N ≥ 2, finite) for τ > 0 and ε ≥ 0; throws
/// std::invalid_argument otherwise. Used where second derivatives of L_nce need p and p⁺.
InfoNceSoftmax infonce_softmax(const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, double tau,
                               double eps);

class Loss {
 public:
  enum class Kind { quadratic, infonce };

  /// L_q (uniform α = 1).
  static Loss quadratic() { return Loss(Kind::quadratic, 0.0, 0.0); }
  /// L_nce with temperature τ > 0 and ε ≥ 0 (ε = 1: the usual form with the positive pair in
  /// the denominator). Throws std::invalid_argument otherwise.
  static Loss infonce(double tau, double eps = 1.0);

  Kind kind() const { return kind_; }
  double tau() const { return tau_; }
  double eps() const { return eps_; }
  /// "quadratic" or "infonce(tau=…,eps=…)".
  std::string name() const;

  /// α(θ) at outputs F, F' (N × p each).
  PairwiseImportance pairwise_importance(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  /// Value and α at outputs F, F' in one pass.
  LossEvaluation evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  /// The loss value at outputs F, F'.
  double value(const Eigen::Ref<const Eigen::MatrixXd>& f,
               const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  /// (∂L/∂F, ∂L/∂F'), each N × p, with α differentiated (the full loss gradient).
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> output_gradient(
      const Eigen::Ref<const Eigen::MatrixXd>& f,
      const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;

 private:
  Loss(Kind k, double tau, double eps) : kind_(k), tau_(tau), eps_(eps) {}
  Kind kind_;
  double tau_, eps_;
};

}  // namespace cldyn
