#pragma once
/// \file reference.hpp
/// Reference implementations that follow the defining formulas literally. They are slow on
/// purpose (the contrastive covariance here costs O(N²·dim_a·dim_b)) and exist only as test
/// oracles for the fast forms; nothing else in the library calls them.

#include <Eigen/Core>

#include "cldyn/core/pairwise_importance.hpp"

namespace cldyn::reference {

/// C_α[a,b] by the double sum of theory §1 (paper Eqn. 3).
Eigen::MatrixXd naive_contrastive_covariance(const PairwiseImportance& alpha,
                                             const Eigen::Ref<const Eigen::MatrixXd>& a,
                                             const Eigen::Ref<const Eigen::MatrixXd>& a_prime,
                                             const Eigen::Ref<const Eigen::MatrixXd>& b,
                                             const Eigen::Ref<const Eigen::MatrixXd>& b_prime);

/// E_α = 1/(2N²) Σ_ij α_ij (d²_ij − d²_i) by the double sum.
double naive_energy(const PairwiseImportance& alpha, const Eigen::Ref<const Eigen::MatrixXd>& f,
                    const Eigen::Ref<const Eigen::MatrixXd>& f_prime);

}  // namespace cldyn::reference
