#include "cldyn/analysis/landscape.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/one_layer.hpp"

namespace cldyn::analysis {
namespace {

void require_w(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index d, const char* where) {
  require(w.size() == d, where, "size of w", w.size(), "== d = " + std::to_string(d));
  require_finite(w, where, "w");
  require(w.norm() > 0.0, where, "norm of w", w.norm(), "w != 0");
}

}  // namespace

PopulationLandscape::PopulationLandscape(DiscretePopulation population, Activation activation)
    : population_(std::move(population)), activation_(activation) {
  population_.validate("PopulationLandscape");
}

double PopulationLandscape::energy(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  return population_energy(population_, w, activation_);
}
Eigen::VectorXd PopulationLandscape::gradient(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  return population_energy_gradient(population_, w, activation_);
}
Eigen::MatrixXd PopulationLandscape::gated_covariance(
    const Eigen::Ref<const Eigen::VectorXd>& w) const {
  return population_gated_covariance(population_, w, activation_);
}
double PopulationLandscape::gated_covariance_trace(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require_w(w, dim(), "PopulationLandscape::gated_covariance_trace");
  Eigen::MatrixXd mu(dim(), population_.size());
  for (Eigen::Index s = 0; s < population_.size(); ++s)
    mu.col(s) = gated_input_expectation(population_.x0.col(s), w, population_.sigma, activation_);
  const Eigen::VectorXd mean = mu * population_.probability;
  return (mu.colwise() - mean).colwise().squaredNorm().dot(population_.probability);
}

Eigen::MatrixXd PopulationLandscape::hessian(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  return population_energy_hessian(population_, w, activation_).hessian;
}
bool PopulationLandscape::sign_symmetric() const {
  return activation_.sign_symmetric();
}
double PopulationLandscape::gate_margin(const Eigen::Ref<const Eigen::VectorXd>&) const {
  return std::numeric_limits<double>::infinity();
}

SampleLandscape::SampleLandscape(TwoViewBatch batch, Activation activation, Loss loss)
    : batch_(std::move(batch)), activation_(activation), loss_(loss) {
  batch_.validate("SampleLandscape");
}

double SampleLandscape::energy(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require_w(w, dim(), "SampleLandscape::energy");
  const OneLayerNetwork net(w, activation_);
  const double n = static_cast<double>(batch_.size());
  return -loss_.value(net.forward(batch_.x), net.forward(batch_.x_prime)) / (2.0 * n * n);
}

Eigen::VectorXd SampleLandscape::gradient(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require_w(w, dim(), "SampleLandscape::gradient");
  const OneLayerNetwork net(w, activation_);
  const PairwiseImportance alpha =
      loss_.pairwise_importance(net.forward(batch_.x), net.forward(batch_.x_prime));
  return net.energy_gradient(batch_, alpha).col(0);
}

Eigen::MatrixXd SampleLandscape::gated_covariance(
    const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require_w(w, dim(), "SampleLandscape::gated_covariance");
  const OneLayerNetwork net(w, activation_);
  const PairwiseImportance alpha =
      loss_.pairwise_importance(net.forward(batch_.x), net.forward(batch_.x_prime));
  return analysis::gated_covariance(batch_, alpha, w, activation_);
}

Eigen::MatrixXd SampleLandscape::hessian(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  if (loss_.uniform_alpha()) return gated_covariance(w);
  require_w(w, dim(), "SampleLandscape::hessian");
  // The objective is −L/(2N²): its Hessian is the loss Hessian (α differentiated) rescaled.
  const OneLayerNetwork net(w, activation_);
  const double n = static_cast<double>(batch_.size());
  return -loss_hessian(net, batch_, loss_, 0) / (2.0 * n * n);
}

bool SampleLandscape::sign_symmetric() const {
  return activation_.sign_symmetric();
}

double SampleLandscape::gate_margin(const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require_w(w, dim(), "SampleLandscape::gate_margin");
  if (activation_.is_linear()) return std::numeric_limits<double>::infinity();
  const double norm = w.norm();
  return std::min((batch_.x * w).cwiseAbs().minCoeff(), (batch_.x_prime * w).cwiseAbs().minCoeff()) /
         norm;
}

}  // namespace cldyn::analysis
