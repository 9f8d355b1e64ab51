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
#include <concepts>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

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

/// What a loss is to cldyn (theory §2): its value on the outputs F, F' of the two views, α
/// (pairwise_importance, and both in one pass: evaluate), ∂L/∂(F, F') with α differentiated, and
/// node_hessian: the Hessian in one node's weights w_k with the gates fixed (theory §3: the network
/// is linear in w_k given its gates), from node k's gated inputs a = X̃_k and a' = X̃'_k (N × d,
/// so f_ik = a_i·w_k) and all outputs F, F' (InfoNCE couples the nodes), d × d, not yet
/// symmetrised. `uniform_alpha` says whether α is the constant 1
/// (then the energy is the loss up to −1/(2N²) and algorithms take the dense closed forms). Inputs
/// are already validated by Loss (N ≥ 2, p ≥ 1, same shapes, finite).
///
/// A new loss is one new type satisfying LossFunction, added to Loss's variant (below); the
/// trainer, the landscapes, the loss Hessian and cldyn-analyze reach it through Loss.
template <class T>
concept LossFunction =
    requires(const T& loss, const Eigen::Ref<const Eigen::MatrixXd>& f, const Eigen::MatrixXd& a,
             Eigen::Index k) {
      { T::uniform_alpha } -> std::convertible_to<bool>;
      { loss.name() } -> std::convertible_to<std::string>;
      { loss.value(f, f) } -> std::same_as<double>;
      { loss.pairwise_importance(f, f) } -> std::same_as<PairwiseImportance>;
      { loss.evaluate(f, f) } -> std::same_as<LossEvaluation>;
      { loss.output_gradient(f, f) } -> std::same_as<std::pair<Eigen::MatrixXd, Eigen::MatrixXd>>;
      { loss.node_hessian(a, a, f, f, k) } -> std::same_as<Eigen::MatrixXd>;
    };

/// L_q = Σ_{i≠j} (d²_i − d²_ij): α = 1.
struct QuadraticLoss {
  static constexpr bool uniform_alpha = true;
  std::string name() const { return "quadratic"; }
  double value(const Eigen::Ref<const Eigen::MatrixXd>& f,
               const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  PairwiseImportance pairwise_importance(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  LossEvaluation evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> output_gradient(
      const Eigen::Ref<const Eigen::MatrixXd>& f,
      const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  /// L_q restricted to node k is (N−1)/2·‖u − u'‖² − N‖u‖² + (1ᵀu)², a quadratic in (u, u').
  Eigen::MatrixXd node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& a_prime,
                               const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, Eigen::Index k) const;
};

/// L_nce with temperature τ > 0 and ε ≥ 0 (validated by Loss::infonce).
struct InfoNceLoss {
  static constexpr bool uniform_alpha = false;
  double tau = 1.0, eps = 1.0;
  std::string name() const;
  double value(const Eigen::Ref<const Eigen::MatrixXd>& f,
               const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  PairwiseImportance pairwise_importance(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                         const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  LossEvaluation evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> output_gradient(
      const Eigen::Ref<const Eigen::MatrixXd>& f,
      const Eigen::Ref<const Eigen::MatrixXd>& f_prime) const;
  /// α differentiated through the softmax over all nodes' distances (the only way other nodes
  /// enter the node-k block): the curvature of the distances plus (1/τ)× the spread of the
  /// distance gradients under p (loss_hessian.hpp gives the formula).
  Eigen::MatrixXd node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& a_prime,
                               const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, Eigen::Index k) const;
};

static_assert(LossFunction<QuadraticLoss> && LossFunction<InfoNceLoss>);

/// A loss value: one of the LossFunction types. Every member validates its inputs and forwards
/// to the held type.
class Loss {
 public:
  enum class Kind { quadratic, infonce };  ///< the variant's index, for reports and JSON

  /// L_q (uniform α = 1).
  static Loss quadratic() { return Loss(QuadraticLoss{}); }
  /// L_nce with temperature τ > 0 and ε ≥ 0 (ε = 1: the usual form with the positive pair in
  /// the denominator). Throws std::invalid_argument otherwise.
  static Loss infonce(double tau, double eps = 1.0);

  Kind kind() const { return static_cast<Kind>(loss_.index()); }
  /// α is the constant 1 (the quadratic loss): the energy is −L/(2N²) and its Hessian A(w).
  bool uniform_alpha() const {
    return std::visit([](const auto& l) { return std::decay_t<decltype(l)>::uniform_alpha; }, loss_);
  }
  /// The held type if it is T, else nullptr (e.g. `if (const auto* nce = loss.as<InfoNceLoss>())`
  /// for an algorithm that needs InfoNCE's softmax structure).
  template <LossFunction T>
  const T* as() const {
    return std::get_if<T>(&loss_);
  }
  /// InfoNCE's τ and ε; 0 for a loss without them.
  double tau() const;
  double eps() const;
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
  /// ∇²_{w_k} L with the gates fixed (LossFunction's node_hessian), d × d, exactly symmetric.
  Eigen::MatrixXd node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& a_prime,
                               const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& f_prime, Eigen::Index k) const;

 private:
  template <LossFunction T>
  explicit Loss(T loss) : loss_(std::move(loss)) {}
  std::variant<QuadraticLoss, InfoNceLoss> loss_;  // the order is Kind's
};

}  // namespace cldyn
