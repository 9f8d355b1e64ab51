#include "cldyn/analysis/colinearity.hpp"

#include <Eigen/SVD>
#include <cmath>
#include <limits>

#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

ColumnCosines column_cosines(const Eigen::Ref<const Eigen::MatrixXd>& m) {
  constexpr const char* where = "column_cosines";
  require(m.cols() >= 1, where, "M (columns)", m.cols(), "M >= 1");
  require(m.rows() >= 1, where, "d (rows)", m.rows(), "d >= 1");
  require_finite(m, where, "matrix");
  const Eigen::Index n = m.cols();
  ColumnCosines out;
  out.abs_cos = Eigen::MatrixXd::Constant(n, n, std::numeric_limits<double>::quiet_NaN());
  const Eigen::VectorXd norms = m.colwise().norm().transpose();
  for (Eigen::Index i = 0; i < n; ++i) out.zero_columns += norms(i) == 0.0 ? 1 : 0;
  double sum = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    if (norms(i) == 0.0) continue;
    out.abs_cos(i, i) = 1.0;
    for (Eigen::Index j = i + 1; j < n; ++j) {
      if (norms(j) == 0.0) continue;
      // Clamp: rounding may give |cos| a few ulps above 1.
      const double c = std::min(1.0, std::abs(m.col(i).dot(m.col(j))) / (norms(i) * norms(j)));
      out.abs_cos(i, j) = out.abs_cos(j, i) = c;
      ++out.pairs;
      sum += c;
      out.min_abs_cos = std::min(out.min_abs_cos, c);
      out.max_one_minus_abs_cos = std::max(out.max_one_minus_abs_cos, 1.0 - c);
    }
  }
  if (out.pairs > 0) out.mean_abs_cos = sum / static_cast<double>(out.pairs);
  return out;
}

GradientColinearity gradient_colinearity(const Eigen::Ref<const Eigen::MatrixXd>& g, double rank_tolerance) {
  constexpr const char* where = "gradient_colinearity";
  require(rank_tolerance > 0.0 && rank_tolerance < 1.0, where, "rank_tolerance", rank_tolerance,
          "0 < rank_tolerance < 1");
  GradientColinearity out;
  out.cosines = column_cosines(g);  // validates shape and finiteness
  out.rank_tolerance = rank_tolerance;
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(g);
  out.singular_values = svd.singularValues();
  const double top = out.singular_values.size() > 0 ? out.singular_values(0) : 0.0;
  for (Eigen::Index i = 0; i < out.singular_values.size(); ++i)
    if (top > 0.0 && out.singular_values(i) > rank_tolerance * top) ++out.rank;
  return out;
}

std::vector<GradientColinearity> field_gradient_colinearity(const TwoLayerNetwork& net,
                                                            const TwoViewBatch& batch,
                                                            const PairwiseImportance& alpha,
                                                            double rank_tolerance) {
  const TwoLayerGradient g = net.energy_gradient(batch, alpha);
  std::vector<GradientColinearity> out;
  out.reserve(g.filters.size());
  for (const auto& gk : g.filters) out.push_back(gradient_colinearity(gk, rank_tolerance));
  return out;
}

double effective_rank(const Eigen::Ref<const Eigen::VectorXd>& singular_values) {
  constexpr const char* where = "effective_rank";
  require(singular_values.size() >= 1, where, "number of singular values", singular_values.size(), ">= 1");
  require_finite(singular_values, where, "singular values");
  require(singular_values.minCoeff() >= 0.0, where, "smallest singular value", singular_values.minCoeff(), ">= 0");
  const double total = singular_values.sum();
  require(total > 0.0, where, "sum of singular values", total, "> 0");
  double h = 0.0;
  for (Eigen::Index i = 0; i < singular_values.size(); ++i) {
    const double q = singular_values(i) / total;
    if (q > 0.0) h -= q * std::log(q);
  }
  return std::exp(h);
}

FilterDiversity filter_diversity(const Eigen::Ref<const Eigen::MatrixXd>& w) {
  constexpr const char* where = "filter_diversity";
  const ColumnCosines cos = column_cosines(w);  // validates
  require(cos.zero_columns < w.cols(), where, "number of zero columns", cos.zero_columns,
          "< M (at least one nonzero filter)");
  Eigen::MatrixXd unit(w.rows(), w.cols() - cos.zero_columns);
  for (Eigen::Index j = 0, c = 0; j < w.cols(); ++j) {
    const double n = w.col(j).norm();
    if (n > 0.0) unit.col(c++) = w.col(j) / n;
  }
  FilterDiversity out;
  out.mean_abs_cos = cos.mean_abs_cos;
  out.min_abs_cos = cos.min_abs_cos;
  out.singular_values = Eigen::JacobiSVD<Eigen::MatrixXd>(unit).singularValues();
  out.effective_rank = effective_rank(out.singular_values);
  return out;
}

}  // namespace cldyn::analysis
