#pragma once
/// \file covariance.hpp
/// Contrastive covariance (theory §1, paper Eqn. 3) of batch quantities a (rows a[i], a'[i])
/// and b:
///
///   C_α[a,b] = 1/(2N²) Σ_ij α_ij [ (a[i]−a[j])(b[i]−b[j])ᵀ − (a[i]−a'[i])(b[i]−b'[i])ᵀ ]
///
/// computed in the exact fast form
///
///   C_α[a,b] = 1/(2N²) [ Aᵀ L_α B − (A − A')ᵀ diag(r) (B − B') ],  L_α = diag(r+c) − α − αᵀ
///
/// at cost O(N²·min(dim_a, dim_b) + N·dim_a·dim_b) (two GEMM-shaped products), and
/// O(N·dim_a·dim_b) for a uniform α. The O(N²·dim_a·dim_b) double loop exists only as
/// cldyn::reference::naive_contrastive_covariance.

#include <Eigen/Core>
#include <utility>

#include "cldyn/core/pairwise_importance.hpp"

namespace cldyn {

/// C_α[a,b]: A, A' are N × dim_a, B, B' are N × dim_b; returns dim_a × dim_b.
Eigen::MatrixXd contrastive_covariance(const PairwiseImportance& alpha,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a_prime,
                                       const Eigen::Ref<const Eigen::MatrixXd>& b,
                                       const Eigen::Ref<const Eigen::MatrixXd>& b_prime);

/// C_α[a] = C_α[a,a] (symmetric, dim_a × dim_a).
Eigen::MatrixXd contrastive_covariance(const PairwiseImportance& alpha,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a,
                                       const Eigen::Ref<const Eigen::MatrixXd>& a_prime);

/// Matrix-free v ↦ C_α[x̃]·v in Spectra's operator shape (Scalar, rows(), cols(),
/// perform_op(x_in, y_out)), so Spectra's symmetric solvers take it where a dense matrix would
/// go. One product costs O(N·d + N²) (O(N·d) for a uniform α); the d × d matrix is never formed.
class ContrastiveCovarianceOperator {
 public:
  using Scalar = double;

  /// x̃, x̃' are N × d (e.g. gated inputs of one node). Copies what it needs.
  ContrastiveCovarianceOperator(PairwiseImportance alpha,
                                const Eigen::Ref<const Eigen::MatrixXd>& x,
                                const Eigen::Ref<const Eigen::MatrixXd>& x_prime);

  Eigen::Index rows() const { return x_.cols(); }
  Eigen::Index cols() const { return x_.cols(); }
  /// y_out = C_α[x̃]·x_in (both of length d).
  void perform_op(const Scalar* x_in, Scalar* y_out) const;
  /// Convenience overload on Eigen vectors.
  Eigen::VectorXd apply(const Eigen::Ref<const Eigen::VectorXd>& v) const;

 private:
  PairwiseImportance alpha_;
  Eigen::MatrixXd x_, delta_;  // x̃ and x̃ − x̃'
  double scale_;               // 1/(2N²)
};

}  // namespace cldyn

namespace cldyn {

/// ∂E_α/∂F and ∂E_α/∂F' with α frozen (N × p each), from the fast form of E = ½ tr C_α[f]:
///   ∂E/∂F = (L_α F − R Δ)/(2N²),   ∂E/∂F' = R Δ/(2N²),   Δ = F − F', R = diag(r).
/// Back-propagating them through a network gives its α-CL gradient (Identities B and C).
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> energy_output_gradient(
    const PairwiseImportance& alpha, const Eigen::Ref<const Eigen::MatrixXd>& f,
    const Eigen::Ref<const Eigen::MatrixXd>& f_prime);

/// Energy E_α = ½·tr C_α[f] = 1/(2N²) Σ_ij α_ij (d²_ij − d²_i) of outputs F, F' (N × p),
/// at cost O(N²p) (O(Np) for a uniform α).
double contrastive_energy(const PairwiseImportance& alpha,
                          const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& f_prime);

}  // namespace cldyn
