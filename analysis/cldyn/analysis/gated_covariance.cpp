#include "cldyn/analysis/gated_covariance.hpp"

#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {
namespace {

struct GatedViews {
  Eigen::MatrixXd x, x_prime;
};

GatedViews gate_views(const TwoViewBatch& batch, const PairwiseImportance& alpha,
                      const Eigen::Ref<const Eigen::VectorXd>& w, const Activation& act,
                      const char* where) {
  batch.validate(where);
  require(alpha.size() == batch.size(), where, "size of alpha", alpha.size(),
          "== N = " + std::to_string(batch.size()));
  require(w.size() == batch.dim(), where, "size of w", w.size(),
          "== d = " + std::to_string(batch.dim()));
  require_finite(w, where, "w");
  const Eigen::VectorXd g = act.gate(batch.x * w);
  const Eigen::VectorXd g_prime = act.gate(batch.x_prime * w);
  return {g.asDiagonal() * batch.x, g_prime.asDiagonal() * batch.x_prime};
}

}  // namespace

Eigen::MatrixXd input_covariance(const TwoViewBatch& batch, const PairwiseImportance& alpha) {
  batch.validate("input_covariance");
  return contrastive_covariance(alpha, batch.x, batch.x_prime);
}

Eigen::MatrixXd gated_covariance(const TwoViewBatch& batch, const PairwiseImportance& alpha,
                                 const Eigen::Ref<const Eigen::VectorXd>& w,
                                 const Activation& activation) {
  const GatedViews v = gate_views(batch, alpha, w, activation, "gated_covariance");
  return contrastive_covariance(alpha, v.x, v.x_prime);
}

ContrastiveCovarianceOperator gated_covariance_operator(const TwoViewBatch& batch,
                                                        const PairwiseImportance& alpha,
                                                        const Eigen::Ref<const Eigen::VectorXd>& w,
                                                        const Activation& activation) {
  const GatedViews v = gate_views(batch, alpha, w, activation, "gated_covariance_operator");
  return ContrastiveCovarianceOperator(alpha, v.x, v.x_prime);
}

}  // namespace cldyn::analysis
