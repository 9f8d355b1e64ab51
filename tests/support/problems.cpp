#include "support/problems.hpp"

#include <Eigen/QR>
#include <algorithm>

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

Eigen::MatrixXd prescribed_spectrum(const Eigen::VectorXd& eigenvalues, std::uint64_t seed,
                                    Eigen::MatrixXd* basis) {
  Rng rng(seed);
  const Eigen::Index d = eigenvalues.size();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(rng.normal_matrix(d, d));
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  if (basis != nullptr) *basis = q;
  return q * eigenvalues.asDiagonal() * q.transpose();
}

double relative_error(const Eigen::Ref<const Eigen::MatrixXd>& a,
                      const Eigen::Ref<const Eigen::MatrixXd>& b, double floor) {
  return (a - b).norm() / std::max(b.norm(), floor);
}

}  // namespace cldyn::test
