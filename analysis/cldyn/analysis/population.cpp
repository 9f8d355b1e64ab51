#include "cldyn/analysis/population.hpp"

#include <boost/math/distributions/normal.hpp>
#include <cmath>
#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {
namespace {

const boost::math::normal_distribution<double> kStandardNormal(0.0, 1.0);

double normal_cdf(double a) { return boost::math::cdf(kStandardNormal, a); }
double normal_pdf(double a) { return boost::math::pdf(kStandardNormal, a); }

/// h = c_relu·ReLU(u) + c_linear·u for every homogeneous activation of theory §3.
struct ActivationSplit {
  double relu = 0.0;
  double linear = 0.0;
};

ActivationSplit split(const Activation& act) {
  switch (act.kind()) {
    case Activation::Kind::linear: return {0.0, 1.0};
    case Activation::Kind::relu: return {1.0, 0.0};
    case Activation::Kind::leaky_relu: return {1.0 - act.gamma(), act.gamma()};
  }
  return {0.0, 1.0};
}

void require_sigma(double sigma, const char* where) {
  require(std::isfinite(sigma) && sigma > 0.0, where, "sigma", sigma, "sigma > 0 and finite");
}

/// w of length d, finite, nonzero; returns ‖w‖.
double require_w(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index d, const char* where) {
  require(w.size() == d, where, "size of w", w.size(), "== d = " + std::to_string(d));
  require_finite(w, where, "w");
  const double norm = w.norm();
  require(norm > 0.0 && std::isfinite(norm), where, "‖w‖", norm, "w nonzero (‖w‖ > 0, finite)");
  return norm;
}

/// Per-support-point quantities of one node at w (columns/entries indexed by s = 1..S).
struct NodeMoments {
  Eigen::VectorXd a, cdf, pdf;  ///< a_s = m_s/s, Φ(a_s), φ(a_s) (empty for linear h)
  Eigen::VectorXd g;            ///< g(x0_s; w)
  Eigen::MatrixXd mu;           ///< d × S, μ̃(x0_s; w)
  double s = 0.0;               ///< σ‖w‖
  Eigen::VectorXd w_hat;        ///< w/‖w‖
};

NodeMoments node_moments(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                         const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                         const Activation& act, double w_norm, const char* where) {
  const ActivationSplit c = split(act);
  NodeMoments out;
  out.s = sigma * w_norm;
  // σ‖w‖ underflows or overflows only for absurd scales (e.g. ‖w‖ ~ 1e-320); a would be 0/0.
  require(out.s > 0.0 && std::isfinite(out.s), where, "sigma·‖w‖", out.s,
          "0 < sigma·‖w‖ < inf (w and sigma of representable scale)");
  out.w_hat = w / w_norm;
  const Eigen::VectorXd m = x0.transpose() * w;
  out.g = c.linear * m;
  out.mu = c.linear * x0;
  if (c.relu != 0.0) {
    const Eigen::Index count = x0.cols();
    out.a = m / out.s;
    out.cdf.resize(count);
    out.pdf.resize(count);
    for (Eigen::Index k = 0; k < count; ++k) {
      out.cdf(k) = normal_cdf(out.a(k));
      out.pdf(k) = normal_pdf(out.a(k));
    }
    // g_ReLU = s(aΦ + φ) = mΦ + sφ, written so that g = wᵀμ̃ holds term by term.
    out.g += c.relu * (m.cwiseProduct(out.cdf) + out.s * out.pdf);
    out.mu += c.relu * (x0 * out.cdf.asDiagonal() + sigma * out.w_hat * out.pdf.transpose());
  }
  return out;
}

/// Σ_s c_s ∇²_w g_ReLU(x0_s; w) = (1/s)[V diag(c∘φ) Vᵀ + σ²(Σ_s c_s φ_s) P⊥], V = x0 − σŵaᵀ.
Eigen::MatrixXd weighted_relu_hessian(const Eigen::Ref<const Eigen::MatrixXd>& x0,
                                      const NodeMoments& nm, double sigma,
                                      const Eigen::VectorXd& weights) {
  const Eigen::Index d = x0.rows();
  const Eigen::MatrixXd v = x0 - sigma * nm.w_hat * nm.a.transpose();
  const Eigen::VectorXd cw = weights.cwiseProduct(nm.pdf);
  const Eigen::MatrixXd projector =
      Eigen::MatrixXd::Identity(d, d) - nm.w_hat * nm.w_hat.transpose();
  Eigen::MatrixXd h = (v * cw.asDiagonal() * v.transpose() + sigma * sigma * cw.sum() * projector) / nm.s;
  return 0.5 * (h + h.transpose());
}

/// Centred moments over the support: C = μ̃ − μ̄1ᵀ (d × S), δg = g − ḡ (S).
struct Centred {
  Eigen::MatrixXd mu;
  Eigen::VectorXd g;
};

Centred centre(const NodeMoments& nm, const Eigen::VectorXd& p) {
  Centred out;
  const Eigen::VectorXd mu_bar = nm.mu * p;
  out.mu = nm.mu.colwise() - mu_bar;
  out.g = nm.g.array() - nm.g.dot(p);
  return out;
}

/// The shared first step of every population routine: validate the population and w, evaluate
/// g and μ̃ on the support, and centre them.
struct NodeOnSupport {
  NodeMoments nm;
  Centred c;
};

NodeOnSupport evaluate_node(const DiscretePopulation& population, const Eigen::Ref<const Eigen::VectorXd>& w,
                            const Activation& activation, const char* where) {
  population.validate(where);
  const double w_norm = require_w(w, population.dim(), where);
  NodeOnSupport out;
  out.nm = node_moments(population.x0, w, population.sigma, activation, w_norm, where);
  out.c = centre(out.nm, population.probability);
  return out;
}

Eigen::MatrixXd weighted_covariance(const Eigen::MatrixXd& centred, const Eigen::VectorXd& p) {
  const Eigen::MatrixXd a = centred * p.asDiagonal() * centred.transpose();
  return 0.5 * (a + a.transpose());
}

void require_gaussian(const Eigen::Ref<const Eigen::VectorXd>& mu,
                    const Eigen::Ref<const Eigen::MatrixXd>& sigma,
                    const Eigen::Ref<const Eigen::VectorXd>& w, const char* where) {
  const Eigen::Index d = mu.size();
  require(d >= 1, where, "size of mu", d, "d >= 1");
  require_finite(mu, where, "mu");
  require_shape(sigma, d, d, where, "Sigma");
  require_finite(sigma, where, "Sigma");
  const double norm = sigma.norm();
  const double asym = (sigma - sigma.transpose()).norm();
  // Symmetry up to the rounding of the products that formed Σ (a few ulps of ‖Σ‖).
  require(asym == 0.0 || asym <= 1e-12 * norm, where, "‖Sigma − Sigmaᵀ‖_F", asym,
          "symmetry: ‖Sigma − Sigmaᵀ‖_F <= 1e-12·‖Sigma‖_F");
  const double w_norm = require_w(w, d, where);
  const double s2 = w.dot(sigma * w);
  // A PSD Σ gives wᵀΣw ≥ 0 up to the rounding of the quadratic form (ε·‖Σ‖‖w‖² scale).
  require(s2 >= -1e-12 * norm * w_norm * w_norm, where, "wᵀ Sigma w", s2,
          "Sigma positive semidefinite along w (wᵀ Sigma w >= 0)");
}

}  // namespace

// ---- DiscretePopulation ----------------------------------------------------------------------

void DiscretePopulation::validate(const char* where) const {
  require(x0.rows() >= 1, where, "d (rows of x0)", x0.rows(), "d >= 1");
  require(x0.cols() >= 1, where, "S (columns of x0)", x0.cols(), "S >= 1 support points");
  require_finite(x0, where, "x0");
  require(probability.size() == x0.cols(), where, "size of probability", probability.size(),
          "== S = " + std::to_string(x0.cols()));
  require_finite(probability, where, "probability");
  for (Eigen::Index k = 0; k < probability.size(); ++k)
    require(probability(k) >= 0.0, where, "probability(" + std::to_string(k) + ")",
            probability(k), "p_s >= 0");
  // A sum of S products of probabilities is exact to ~S·ε; 1e-12·S accepts any rounding and
  // rejects weights that were never normalised.
  const double sum = probability.sum();
  require(std::abs(sum - 1.0) <= 1e-12 * static_cast<double>(probability.size()), where,
          "sum of probability", sum, "sum_s p_s = 1 within 1e-12·S");
  require_sigma(sigma, where);
}

DiscretePopulation DiscretePopulation::from_model(const data::LatentModel& model) {
  return from_support(model.support(), model.sigma());
}

DiscretePopulation DiscretePopulation::from_support(
    const std::vector<data::SupportPoint>& support, double sigma) {
  constexpr const char* where = "DiscretePopulation::from_support";
  require(!support.empty(), where, "size of support", support.size(), "at least one point");
  const Eigen::Index d = support.front().x0.size();
  DiscretePopulation pop;
  pop.x0.resize(d, static_cast<Eigen::Index>(support.size()));
  pop.probability.resize(pop.x0.cols());
  for (std::size_t k = 0; k < support.size(); ++k) {
    require(support[k].x0.size() == d, where,
            "size of support[" + std::to_string(k) + "].x0", support[k].x0.size(),
            "== d = " + std::to_string(d) + " (size of support[0].x0)");
    pop.x0.col(static_cast<Eigen::Index>(k)) = support[k].x0;
    pop.probability(static_cast<Eigen::Index>(k)) = support[k].probability;
  }
  pop.sigma = sigma;
  pop.validate(where);
  return pop;
}

// ---- one base sample -------------------------------------------------------------------------

namespace {

/// The arguments of the one-base-sample functions: x0 (d ≥ 1, finite), σ, w (length d,
/// finite, nonzero); returns ‖w‖.
double require_base_sample(const Eigen::Ref<const Eigen::VectorXd>& x0,
                           const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                           const char* where) {
  require(x0.size() >= 1, where, "size of x0", x0.size(), "d >= 1");
  require_finite(x0, where, "x0");
  require_sigma(sigma, where);
  return require_w(w, x0.size(), where);
}

}  // namespace

double gate_expectation(const Eigen::Ref<const Eigen::VectorXd>& x0,
                        const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                        const Activation& activation) {
  constexpr const char* where = "gate_expectation";
  const double w_norm = require_base_sample(x0, w, sigma, where);
  return node_moments(x0, w, sigma, activation, w_norm, where).g(0);
}

Eigen::VectorXd gated_input_expectation(const Eigen::Ref<const Eigen::VectorXd>& x0,
                                        const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                                        const Activation& activation) {
  constexpr const char* where = "gated_input_expectation";
  const double w_norm = require_base_sample(x0, w, sigma, where);
  return node_moments(x0, w, sigma, activation, w_norm, where).mu.col(0);
}

Eigen::MatrixXd gate_expectation_hessian(const Eigen::Ref<const Eigen::VectorXd>& x0,
                                         const Eigen::Ref<const Eigen::VectorXd>& w, double sigma,
                                         const Activation& activation) {
  constexpr const char* where = "gate_expectation_hessian";
  const double w_norm = require_base_sample(x0, w, sigma, where);
  const ActivationSplit c = split(activation);
  const Eigen::Index d = x0.size();
  if (c.relu == 0.0) return Eigen::MatrixXd::Zero(d, d);
  const NodeMoments nm = node_moments(x0, w, sigma, activation, w_norm, where);
  return c.relu * weighted_relu_hessian(x0, nm, sigma, Eigen::VectorXd::Ones(1));
}

// ---- population ------------------------------------------------------------------------------

double population_energy(const DiscretePopulation& population,
                         const Eigen::Ref<const Eigen::VectorXd>& w, const Activation& activation) {
  constexpr const char* where = "population_energy";
  const Centred c = evaluate_node(population, w, activation, where).c;
  return 0.5 * c.g.cwiseAbs2().dot(population.probability);
}

double population_energy(const data::LatentModel& model, const Eigen::Ref<const Eigen::VectorXd>& w,
                         const Activation& activation) {
  return population_energy(DiscretePopulation::from_model(model), w, activation);
}

Eigen::MatrixXd population_gated_covariance(const DiscretePopulation& population,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation) {
  constexpr const char* where = "population_gated_covariance";
  return weighted_covariance(evaluate_node(population, w, activation, where).c.mu, population.probability);
}

Eigen::MatrixXd population_gated_covariance(const data::LatentModel& model,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation) {
  return population_gated_covariance(DiscretePopulation::from_model(model), w, activation);
}

Eigen::VectorXd population_energy_gradient(const DiscretePopulation& population,
                                           const Eigen::Ref<const Eigen::VectorXd>& w,
                                           const Activation& activation) {
  constexpr const char* where = "population_energy_gradient";
  const Centred c = evaluate_node(population, w, activation, where).c;
  return c.mu * population.probability.cwiseProduct(c.g);
}

Eigen::VectorXd population_energy_gradient(const data::LatentModel& model,
                                           const Eigen::Ref<const Eigen::VectorXd>& w,
                                           const Activation& activation) {
  return population_energy_gradient(DiscretePopulation::from_model(model), w, activation);
}

PopulationHessian population_energy_hessian(const DiscretePopulation& population,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation) {
  constexpr const char* where = "population_energy_hessian";
  const Eigen::Index d = population.dim();
  const NodeOnSupport e = evaluate_node(population, w, activation, where);
  const NodeMoments& nm = e.nm;
  const Centred& c = e.c;
  PopulationHessian out;
  out.gated_covariance = weighted_covariance(c.mu, population.probability);
  const ActivationSplit split_act = split(activation);
  if (split_act.relu == 0.0) {
    out.remainder = Eigen::MatrixXd::Zero(d, d);
  } else {
    out.remainder = split_act.relu * weighted_relu_hessian(population.x0, nm, population.sigma,
                                                           population.probability.cwiseProduct(c.g));
  }
  out.hessian = out.gated_covariance + out.remainder;
  return out;
}

PopulationHessian population_energy_hessian(const data::LatentModel& model,
                                            const Eigen::Ref<const Eigen::VectorXd>& w,
                                            const Activation& activation) {
  return population_energy_hessian(DiscretePopulation::from_model(model), w, activation);
}

// ---- general Gaussian ------------------------------------------------------------------------

Eigen::VectorXd gaussian_gated_mean(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                    const Eigen::Ref<const Eigen::MatrixXd>& sigma,
                                    const Eigen::Ref<const Eigen::VectorXd>& w) {
  require_gaussian(mu, sigma, w, "gaussian_gated_mean");
  const Eigen::MatrixXd sym = 0.5 * (sigma + sigma.transpose());
  const Eigen::VectorXd sigma_w = sym * w;
  const double s2 = w.dot(sigma_w);
  const double m = w.dot(mu);
  if (s2 <= 0.0) return m > 0.0 ? Eigen::VectorXd(mu) : Eigen::VectorXd::Zero(mu.size());
  const double s = std::sqrt(s2);
  const double a = m / s;
  return normal_cdf(a) * mu + normal_pdf(a) * (sigma_w / s);
}

Eigen::MatrixXd gaussian_gated_second_moment(const Eigen::Ref<const Eigen::VectorXd>& mu,
                                             const Eigen::Ref<const Eigen::MatrixXd>& sigma,
                                             const Eigen::Ref<const Eigen::VectorXd>& w) {
  require_gaussian(mu, sigma, w, "gaussian_gated_second_moment");
  const Eigen::MatrixXd sym = 0.5 * (sigma + sigma.transpose());
  const Eigen::VectorXd sigma_w = sym * w;
  const double s2 = w.dot(sigma_w);
  const double m = w.dot(mu);
  const Eigen::MatrixXd raw = mu * mu.transpose() + sym;
  if (s2 <= 0.0) return m > 0.0 ? raw : Eigen::MatrixXd::Zero(mu.size(), mu.size());
  const double s = std::sqrt(s2);
  const double a = m / s;
  const Eigen::VectorXd u = sigma_w / s;
  const double cdf = normal_cdf(a), pdf = normal_pdf(a);
  const Eigen::MatrixXd cross = mu * u.transpose();
  return cdf * raw + pdf * (cross + cross.transpose()) - a * pdf * (u * u.transpose());
}

}  // namespace cldyn::analysis
