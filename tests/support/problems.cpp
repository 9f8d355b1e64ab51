#include "support/problems.hpp"

#include <Eigen/QR>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace cldyn::test {

TwoViewBatch gaussian_batch(Eigen::Index n, Eigen::Index d, double sigma, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd x0 = rng.normal_matrix(n, d);
  // Decreasing scales give a well separated spectrum.
  for (Eigen::Index j = 0; j < d; ++j) x0.col(j) *= 1.0 / (1.0 + static_cast<double>(j));
  TwoViewBatch b;
  b.x = x0 + sigma * rng.normal_matrix(n, d);
  b.x_prime = x0 + sigma * rng.normal_matrix(n, d);
  return b;
}

Outputs random_outputs(Eigen::Index n, Eigen::Index p, double scale, std::uint64_t seed) {
  Rng rng(seed);
  Outputs o;
  o.f = scale * rng.normal_matrix(n, p);
  o.f_prime = o.f + 0.3 * scale * rng.normal_matrix(n, p);
  return o;
}

Eigen::MatrixXd prescribed_spectrum(const Eigen::VectorXd& eigenvalues, std::uint64_t seed,
                                    Eigen::MatrixXd* basis) {
  Rng rng(seed);
  const Eigen::Index d = eigenvalues.size();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(rng.normal_matrix(d, d));
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  if (basis != nullptr) *basis = q;
  return q * eigenvalues.asDiagonal() * q.transpose();
}

std::vector<Eigen::VectorXd> random_filters(const data::ClassModel& m, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<Eigen::VectorXd> w;
  for (Eigen::Index k = 0; k < m.num_fields(); ++k) w.push_back(rng.normal_matrix(m.field_size(k), 1).col(0).normalized());
  return w;
}

double relative_error(const Eigen::Ref<const Eigen::MatrixXd>& a,
                      const Eigen::Ref<const Eigen::MatrixXd>& b, double floor) {
  return (a - b).norm() / std::max(b.norm(), floor);
}

PairwiseImportance random_alpha(Eigen::Index n, std::uint64_t seed) {
  Rng rng(seed, 7);
  Eigen::MatrixXd a(n, n);
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < n; ++i) a(i, j) = i == j ? 0.0 : 0.1 + 2.0 * rng.uniform();
  return PairwiseImportance::from_matrix(std::move(a));
}

double abs_cos(const Eigen::Ref<const Eigen::VectorXd>& a, const Eigen::Ref<const Eigen::VectorXd>& b) {
  return std::abs(a.dot(b)) / (a.norm() * b.norm());
}

double gate_margin(const TwoViewBatch& batch, const Eigen::Ref<const Eigen::MatrixXd>& w) {
  double margin = std::numeric_limits<double>::infinity();
  for (const Eigen::MatrixXd* x : {&batch.x, &batch.x_prime}) {
    const Eigen::MatrixXd u = (*x) * w;
    for (Eigen::Index k = 0; k < w.cols(); ++k)
      for (Eigen::Index i = 0; i < x->rows(); ++i)
        margin = std::min(margin, std::abs(u(i, k)) / (x->row(i).norm() * w.col(k).norm()));
  }
  return margin;
}

}  // namespace cldyn::test
