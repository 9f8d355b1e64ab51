#include "cldyn/analysis/matching.hpp"

#include <cmath>
#include <string>

#include "cldyn/validate.hpp"

namespace cldyn::analysis {
namespace {

Eigen::MatrixXd unit_columns(const Eigen::Ref<const Eigen::MatrixXd>& w, const char* where,
                             const char* name) {
  require_finite(w, where, name);
  Eigen::MatrixXd u = w;
  for (Eigen::Index k = 0; k < u.cols(); ++k) {
    const double norm = u.col(k).norm();
    require(norm > 0.0, where, std::string("norm of column ") + std::to_string(k) + " of " + name,
            norm, "nonzero columns (a zero vector has no direction)");
    u.col(k) /= norm;
  }
  return u;
}

}  // namespace

DirectionClusters distinct_directions(const Eigen::Ref<const Eigen::MatrixXd>& w,
                                      double threshold, bool sign_symmetric) {
  constexpr const char* where = "distinct_directions";
  require(threshold > 0.0 && threshold <= 1.0, where, "threshold", threshold, "0 < threshold <= 1");
  const Eigen::MatrixXd u = unit_columns(w, where, "W");
  DirectionClusters out;
  out.representatives.resize(w.rows(), 0);
  for (Eigen::Index k = 0; k < u.cols(); ++k) {
    Eigen::Index found = -1;
    for (Eigen::Index c = 0; c < out.representatives.cols() && found < 0; ++c) {
      const double cosine = out.representatives.col(c).dot(u.col(k));
      if ((sign_symmetric ? std::abs(cosine) : cosine) >= threshold) found = c;
    }
    if (found < 0) {
      out.representatives.conservativeResize(Eigen::NoChange, out.representatives.cols() + 1);
      out.representatives.rightCols(1) = u.col(k);
      out.counts.push_back(0);
      found = out.representatives.cols() - 1;
    }
    out.assignment.push_back(found);
    ++out.counts[static_cast<std::size_t>(found)];
  }
  return out;
}

Eigen::MatrixXd abs_cosine_matrix(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                  const Eigen::Ref<const Eigen::MatrixXd>& b) {
  constexpr const char* where = "abs_cosine_matrix";
  require(a.rows() == b.rows(), where, "rows of A", a.rows(),
          "== rows of B = " + std::to_string(b.rows()));
  return (unit_columns(a, where, "A").transpose() * unit_columns(b, where, "B")).cwiseAbs();
}

}  // namespace cldyn::analysis
