#pragma once
/// \file landscape.hpp
/// The energy landscape of one node on the unit sphere (theory §3): the objective E(w), its
/// gradient ∇E(w) = A(w)·w, the gated covariance A(w) and the Hessian ∇²E(w). Fixed points
/// (A(w*)w* = λ*w*) and their stability are computed against this interface, for
///  - the exact population model (uniform α, theory §4): closed forms, smooth in w;
///  - a finite sample (a fixed two-view batch and a loss): gates are locally constant, so for
///    the quadratic loss ∇²E = A(w) a.e.; for InfoNCE the objective is −L/(2N²), whose gradient
///    is ∇E_sg(α(w)) (Identity A) and whose Hessian differentiates α.

#include <Eigen/Core>
#include <memory>
#include <optional>

#include "cldyn/analysis/population.hpp"
#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"

namespace cldyn::analysis {

class NodeLandscape {
 public:
  virtual ~NodeLandscape() = default;
  /// Input dimension d.
  virtual Eigen::Index dim() const = 0;
  /// The objective E(w) whose ascent is the α-CL dynamics of one node.
  virtual double energy(const Eigen::Ref<const Eigen::VectorXd>& w) const = 0;
  /// ∇E(w) (length d); equals A(w)·w for a frozen α.
  virtual Eigen::VectorXd gradient(const Eigen::Ref<const Eigen::VectorXd>& w) const = 0;
  /// A(w) (d × d): the frozen-α Jacobian of the gradient field.
  virtual Eigen::MatrixXd gated_covariance(const Eigen::Ref<const Eigen::VectorXd>& w) const = 0;
  /// tr A(w); the default forms A(w), landscapes override it with a cheaper sum.
  virtual double gated_covariance_trace(const Eigen::Ref<const Eigen::VectorXd>& w) const {
    return gated_covariance(w).trace();
  }
  /// ∇²E(w) (d × d): analytic (population closed form; sample: A(w) for uniform α, the full
  /// loss Hessian scaled by −1/(2N²) for InfoNCE).
  virtual Eigen::MatrixXd hessian(const Eigen::Ref<const Eigen::VectorXd>& w) const = 0;
  /// True when w and −w are the same node (linear activation): directions compare by |cos|.
  virtual bool sign_symmetric() const = 0;
  /// Smallest |wᵀx|/‖w‖ over the samples (distance of w to a gate boundary); +∞ where the
  /// landscape is smooth (population) or the activation has no kink (linear).
  virtual double gate_margin(const Eigen::Ref<const Eigen::VectorXd>& w) const = 0;
};

/// Exact population landscape of theory §4: E = ½V[g], ∇E = A_pop(w)w, ∇²E = A_pop + R.
class PopulationLandscape final : public NodeLandscape {
 public:
  PopulationLandscape(DiscretePopulation population, Activation activation);
  Eigen::Index dim() const override { return population_.dim(); }
  double energy(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::VectorXd gradient(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::MatrixXd gated_covariance(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  /// tr V[μ̃] = Σ_s p_s ‖μ̃_s − μ̄‖², O(S·d).
  double gated_covariance_trace(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::MatrixXd hessian(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  bool sign_symmetric() const override;
  double gate_margin(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  const DiscretePopulation& population() const { return population_; }
  const Activation& activation() const { return activation_; }

 private:
  DiscretePopulation population_;
  Activation activation_;
};

/// Finite-sample landscape on a fixed batch: objective −L(w)/(2N²) of one node under `loss`
/// (= E_1 for the quadratic loss), gradient ∇E_sg(α(w)) = A_α(w)·w, frozen-α Jacobian A(w).
/// Hessian (gates locally constant): A(w) for the quadratic loss; for InfoNCE the full loss
/// Hessian with α differentiated, −∇²L/(2N²) (analysis::loss_hessian).
class SampleLandscape final : public NodeLandscape {
 public:
  SampleLandscape(TwoViewBatch batch, Activation activation, Loss loss);
  Eigen::Index dim() const override { return batch_.dim(); }
  double energy(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::VectorXd gradient(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::MatrixXd gated_covariance(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  Eigen::MatrixXd hessian(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  bool sign_symmetric() const override;
  double gate_margin(const Eigen::Ref<const Eigen::VectorXd>& w) const override;
  const TwoViewBatch& batch() const { return batch_; }
  const Activation& activation() const { return activation_; }
  const Loss& loss() const { return loss_; }

 private:
  TwoViewBatch batch_;
  Activation activation_;
  Loss loss_;
};

}  // namespace cldyn::analysis
