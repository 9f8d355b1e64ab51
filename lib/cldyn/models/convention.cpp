#include "cldyn/models/convention.hpp"

#include <cmath>
#include <string>
#include <tuple>
#include <utility>

#include "cldyn/core/covariance.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn {
namespace {

/// Outputs divided row by row by their ℓ2 norm: f̂_a = f_a/‖f_a‖, and the norms. `view` names
/// the view in the error for a zero row ("view 1 (X)" or "view 2 (X')").
std::pair<Eigen::MatrixXd, Eigen::VectorXd> normalize_rows(const Eigen::MatrixXd& f,
                                                           const char* view, const char* where) {
  const Eigen::VectorXd norms = f.rowwise().norm();
  for (Eigen::Index i = 0; i < f.rows(); ++i) {
    require(norms(i) > 0.0 && std::isfinite(norms(i)), where,
            "||f|| of sample " + std::to_string(i) + " in " + view, norms(i),
            "0 < ||f|| < inf (a zero output row has no direction to normalise; with ReLU every "
            "node is off there)");
  }
  Eigen::MatrixXd f_hat = norms.cwiseInverse().asDiagonal() * f;
  return {std::move(f_hat), norms};
}

/// Chain rule through the row normalisation: ∂/∂f_a = (I − f̂_a f̂_aᵀ)·(∂/∂f̂_a)/‖f_a‖.
Eigen::MatrixXd normalization_backward(const Eigen::MatrixXd& f_hat, const Eigen::VectorXd& norms,
                                       const Eigen::MatrixXd& d_f_hat) {
  const Eigen::VectorXd radial = f_hat.cwiseProduct(d_f_hat).rowwise().sum();  // f̂_aᵀ ∂/∂f̂_a
  Eigen::MatrixXd d_f = d_f_hat - radial.asDiagonal() * f_hat;
  return norms.cwiseInverse().asDiagonal() * d_f;
}

/// [A; B] (rows of A, then rows of B), for matrices and vectors.
template <class M>
M stack(const M& a, const M& b) {
  M s(a.rows() + b.rows(), a.cols());
  s << a, b;
  return s;
}

}  // namespace

std::string Convention::name() const {
  return std::string("negatives=") +
         (negatives == Negatives::first_view ? "first_view" : "both_views") +
         ",distance=" + (distance == Distance::raw ? "raw" : "normalized");
}

Negatives parse_negatives(std::string_view text) {
  if (text == "view1" || text == "first_view") return Negatives::first_view;
  if (text == "both" || text == "both_views") return Negatives::both_views;
  require(false, "parse_negatives", "negatives", std::string(text),
          "one of view1 | both (also first_view | both_views)");
  return Negatives::first_view;
}

Distance parse_distance(std::string_view text) {
  if (text == "raw") return Distance::raw;
  if (text == "normalized") return Distance::normalized;
  require(false, "parse_distance", "distance", std::string(text), "one of raw | normalized");
  return Distance::raw;
}

TwoViewBatch symmetric_batch(const TwoViewBatch& batch) {
  batch.validate("symmetric_batch");
  return {stack(batch.x, batch.x_prime), stack(batch.x_prime, batch.x)};
}

Loss symmetric_form(const Loss& loss) {
  if (loss.uniform_alpha()) return loss;  // α = 1 over every pair: the same loss
  require(loss.as<InfoNceLoss>() != nullptr, "symmetric_form", "loss", loss.name(),
          "quadratic or InfoNCE (the forms with negatives from both views cldyn knows)");
  require(loss.eps() >= 1.0, "symmetric_form", "eps", loss.eps(),
          "eps >= 1 with negatives from both views (the partner is always in the denominator; "
          "eps = 1 is NT-Xent, eps < 1 such as the decoupled eps = 0 would need the partner "
          "excluded from the kernel)");
  return Loss::infonce(loss.tau(), loss.eps() - 1.0);
}

PairwiseImportance without_partners(const PairwiseImportance& alpha) {
  const Eigen::Index m = alpha.size();
  require(m >= 4 && m % 2 == 0, "without_partners", "size of alpha", m,
          "an even 2N >= 4 (alpha of a doubled batch)");
  const Eigen::Index n = m / 2;
  Eigen::MatrixXd a = alpha.matrix();
  for (Eigen::Index i = 0; i < n; ++i) {
    a(i, i + n) = 0.0;
    a(i + n, i) = 0.0;
  }
  return PairwiseImportance::from_matrix(std::move(a));
}

ConventionEvaluation evaluate(const OneLayerNetwork& net, const TwoViewBatch& batch,
                              const Loss& loss, const Convention& convention) {
  constexpr const char* where = "evaluate(convention)";
  batch.validate(where);
  require(batch.dim() == net.input_dim(), where, "d of the batch", batch.dim(),
          "d == input dimension of W = " + std::to_string(net.input_dim()));
  const bool both = convention.negatives == Negatives::both_views;
  const bool normalized = convention.distance == Distance::normalized;
  // The first-view form on the M-sample working batch (theory §2 with ε − 1 for both views).
  const Loss form = both ? symmetric_form(loss) : loss;

  // Outputs of each view once; for both views the doubled batch's outputs are [F; F'], [F'; F].
  Eigen::MatrixXd f1 = net.forward(batch.x), f2 = net.forward(batch.x_prime);
  Eigen::VectorXd norm1, norm2;
  if (normalized) {
    std::tie(f1, norm1) = normalize_rows(f1, "view 1 (X)", where);
    std::tie(f2, norm2) = normalize_rows(f2, "view 2 (X')", where);
  }
  const TwoViewBatch doubled = both ? symmetric_batch(batch) : TwoViewBatch{};
  const TwoViewBatch& work = both ? doubled : batch;  // the M-sample batch
  const Eigen::MatrixXd f = both ? stack(f1, f2) : f1;
  const Eigen::MatrixXd f_prime = both ? stack(f2, f1) : f2;

  LossEvaluation value = form.evaluate(f, f_prime);
  ConventionEvaluation out{work.size(), value.value, std::move(value.alpha), 0.0, {}, {}};
  if (both) out.alpha = without_partners(out.alpha);
  out.energy = contrastive_energy(out.alpha, f, f_prime);

  // ∂/∂F̂ of the loss (α differentiated) and of E (α frozen), then through the normalisation
  // (rows of the working outputs are rows of f1/f2, with their norms) and the network.
  Eigen::VectorXd norms, norms_prime;  // of the working rows, when normalised
  if (normalized) {
    norms = both ? stack(norm1, norm2) : norm1;
    norms_prime = both ? stack(norm2, norm1) : norm2;
  }
  auto to_weights = [&](std::pair<Eigen::MatrixXd, Eigen::MatrixXd> d) {
    if (normalized) {
      d.first = normalization_backward(f, norms, d.first);
      d.second = normalization_backward(f_prime, norms_prime, d.second);
    }
    return net.backpropagate(work, d.first, d.second);
  };
  out.loss_gradient = to_weights(form.output_gradient(f, f_prime));
  out.energy_gradient = to_weights(energy_output_gradient(out.alpha, f, f_prime));
  return out;
}

}  // namespace cldyn
