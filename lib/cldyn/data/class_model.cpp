#include "cldyn/data/class_model.hpp"

#include <Eigen/QR>
#include <cmath>
#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn::data {

void ClassModelOptions::validate() const {
  constexpr const char* where = "ClassModelOptions";
  require(!field_sizes.empty(), where, "K (number of receptive fields)", field_sizes.size(), "K >= 1");
  for (std::size_t k = 0; k < field_sizes.size(); ++k)
    require(field_sizes[k] >= 2, where, "d_" + std::to_string(k) + " (receptive field size)", field_sizes[k],
            "d_k >= 2 (room for two orthonormal patterns)");
  for (const auto& [name, v] : {std::pair{"p1", p1}, std::pair{"q0", q0}, std::pair{"q1", q1}})
    require(std::isfinite(v) && v >= 0.0 && v <= 1.0, where, name, v, "0 <= value <= 1");
  require(std::isfinite(sigma) && sigma > 0.0, where, "sigma", sigma, "sigma > 0");
}

ClassModel::ClassModel(ClassModelOptions options, Rng& rng) : options_(std::move(options)) {
  init();
  for (Eigen::Index k = 0; k < num_fields(); ++k) {
    const Eigen::Index dk = field_size(k);
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(rng.normal_matrix(dk, 2));
    Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(dk, 2);
    const Eigen::MatrixXd r = qr.matrixQR().topRows(2).triangularView<Eigen::Upper>();
    for (Eigen::Index j = 0; j < 2; ++j)
      if (r(j, j) < 0.0) q.col(j) = -q.col(j);
    u_.col(k).segment(field_offset(k), dk) = q.col(0);
    v_.col(k).segment(field_offset(k), dk) = q.col(1);
  }
}

ClassModel::ClassModel(ClassModelOptions options, std::uint64_t seed) : options_(std::move(options)) {
  Rng rng(seed);
  *this = ClassModel(options_, rng);
}

ClassModel::ClassModel(ClassModelOptions options, const Eigen::Ref<const Eigen::MatrixXd>& u,
                       const Eigen::Ref<const Eigen::MatrixXd>& v)
    : options_(std::move(options)) {
  init();
  require_shape(u, d_, num_fields(), "ClassModel", "u");
  require_shape(v, d_, num_fields(), "ClassModel", "v");
  require_finite(u, "ClassModel", "u");
  require_finite(v, "ClassModel", "v");
  for (Eigen::Index k = 0; k < num_fields(); ++k) {
    u_.col(k).segment(field_offset(k), field_size(k)) = u.col(k).segment(field_offset(k), field_size(k));
    v_.col(k).segment(field_offset(k), field_size(k)) = v.col(k).segment(field_offset(k), field_size(k));
  }
}

void ClassModel::init() {
  options_.validate();
  offsets_.clear();
  d_ = 0;
  for (const Eigen::Index dk : options_.field_sizes) {
    offsets_.push_back(d_);
    d_ += dk;
  }
  u_ = Eigen::MatrixXd::Zero(d_, num_fields());
  v_ = Eigen::MatrixXd::Zero(d_, num_fields());
}

Eigen::VectorXd ClassModel::discriminative(Eigen::Index k) const {
  require(k >= 0 && k < num_fields(), "ClassModel::discriminative", "k", k, "0 <= k < K");
  return u_.col(k).segment(field_offset(k), field_size(k));
}

Eigen::VectorXd ClassModel::nondiscriminative(Eigen::Index k) const {
  require(k >= 0 && k < num_fields(), "ClassModel::nondiscriminative", "k", k, "0 <= k < K");
  return v_.col(k).segment(field_offset(k), field_size(k));
}

ClassSample ClassModel::sample_with_classes(Eigen::Index n, Rng& rng) const {
  require(n >= 1, "ClassModel::sample", "N", n, "N >= 1");
  const double qbar = options_.q_bar();
  ClassSample out;
  out.z.resize(n);
  Eigen::MatrixXd x0 = Eigen::MatrixXd::Zero(n, d_);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int z = rng.uniform() < options_.p1 ? 1 : 0;
    out.z(i) = z;
    const double q = z == 1 ? options_.q1 : options_.q0;
    for (Eigen::Index k = 0; k < num_fields(); ++k) {
      if (rng.uniform() < q) x0.row(i) += u_.col(k).transpose();
      if (rng.uniform() < qbar) x0.row(i) += v_.col(k).transpose();
    }
  }
  out.batch.x = x0 + options_.sigma * rng.normal_matrix(n, d_);
  out.batch.x_prime = x0 + options_.sigma * rng.normal_matrix(n, d_);
  return out;
}

std::size_t ClassModel::support_size() const {
  // 2·4^K ≤ 2^20 ⇔ K ≤ 9; checked before shifting so that large K cannot overflow.
  const Eigen::Index k = num_fields();
  require(2 * k + 1 <= 20, "ClassModel::support", "joint support size 2*4^K with K", k,
          "2*4^K <= 2^20 (K <= 9); use sampling for larger models");
  return std::size_t{1} << (2 * k + 1);
}

std::vector<ClassSupportPoint> ClassModel::support() const {
  const std::size_t size = support_size();
  const double qbar = options_.q_bar();
  std::vector<ClassSupportPoint> out(size);
  for (std::size_t idx = 0; idx < size; ++idx) {
    ClassSupportPoint& pt = out[idx];
    pt.z = static_cast<int>(idx & 1u);
    const double q = pt.z == 1 ? options_.q1 : options_.q0;
    double prob = pt.z == 1 ? options_.p1 : 1.0 - options_.p1;
    pt.x0 = Eigen::VectorXd::Zero(d_);
    for (Eigen::Index k = 0; k < num_fields(); ++k) {
      const bool a = ((idx >> (1 + 2 * k)) & 1u) != 0;
      const bool b = ((idx >> (2 + 2 * k)) & 1u) != 0;
      prob *= a ? q : 1.0 - q;
      prob *= b ? qbar : 1.0 - qbar;
      if (a) pt.x0 += u_.col(k);
      if (b) pt.x0 += v_.col(k);
    }
    pt.probability = prob;
  }
  return out;
}

}  // namespace cldyn::data
