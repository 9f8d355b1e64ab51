#include "fixed_point_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cldyn/core/validate.hpp"

namespace cldyn::tools {

namespace {

using json = nlohmann::ordered_json;

/// JSON has no Inf/NaN: a non-finite value is written as null.
json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json vector_json(const Eigen::VectorXd& v) {
  json a = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(number(v(i)));
  return a;
}

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

/// Nearest certified point to column j of user_w: (index, cosine), or (−1, 0) when there is none.
std::pair<Eigen::Index, double> nearest_point(const analysis::CertifiedSearch& search,
                                              const Eigen::VectorXd& w, bool sign_symmetric) {
  Eigen::Index best = -1;
  double best_cos = -2.0;
  const double norm = w.norm();
  if (norm == 0.0) return {-1, 0.0};
  for (std::size_t p = 0; p < search.points.size(); ++p) {
    double c = search.points[p].w.dot(w) / (search.points[p].w.norm() * norm);
    if (sign_symmetric) c = std::abs(c);
    if (c > best_cos) {
      best_cos = c;
      best = static_cast<Eigen::Index>(p);
    }
  }
  return {best, best < 0 ? 0.0 : best_cos};
}

void require_user_w(const analysis::CertifiedSearch& search, const Eigen::MatrixXd& user_w, const char* where) {
  require(user_w.cols() == search.user_starts, where, "columns of user_w", user_w.cols(),
          "== user_starts of the search = " + std::to_string(search.user_starts));
  require(static_cast<Eigen::Index>(search.assignment.size()) == search.starts &&
              static_cast<Eigen::Index>(search.start_residuals.size()) == search.starts,
          where, "per-start entries of the search", search.assignment.size(), "== starts");
}

const char* const kCertifiedBy[] = {"unconverged", "ascent", "self_consistent", "newton", "active_set"};
constexpr int kLastCertifiedBy = 4;

}  // namespace

nlohmann::ordered_json fixed_point_json(const analysis::CertifiedSearch& search, const Eigen::MatrixXd& user_w) {
  require_user_w(search, user_w, "fixed_point_json");
  const bool sign_symmetric = search.sign_symmetric;
  const long random_starts = static_cast<long>(search.starts - search.user_starts);
  json out;
  out["tolerance"] = search.tolerance;
  out["dedup_cosine"] = search.dedup_cosine;
  out["sign_symmetric"] = sign_symmetric;
  out["starts"] = search.starts;
  out["user_starts"] = search.user_starts;
  out["random_starts"] = random_starts;
  out["converged"] = search.converged;
  out["unconverged"] = search.unconverged;
  json by;
  for (int b = 1; b <= kLastCertifiedBy; ++b)
    by[kCertifiedBy[b]] = std::count(search.polished_by.begin(), search.polished_by.end(), b);
  out["certified_by"] = by;
  out["basin_interval"] = "Clopper-Pearson " + format("%g", kBasinConfidence) + ", random starts only";
  json points = json::array();
  for (std::size_t p = 0; p < search.points.size(); ++p) {
    const analysis::CertifiedPoint& cp = search.points[p];
    json j;
    j["index"] = p;
    j["kind"] = std::string(analysis::to_string(cp.kind));
    j["active_set_size"] = cp.active_set_size;
    j["active_set"] = cp.active_set;
    j["stable"] = cp.stable;
    j["residual"] = cp.residual;
    j["slack"] = number(cp.slack);
    j["lambda"] = number(cp.lambda);
    j["energy"] = number(cp.energy);
    j["max_tangent_hessian_eigenvalue"] = number(cp.max_tangent_hessian_eigenvalue);
    j["eigen_criterion"] = cp.eigen_criterion;
    j["eigengap"] = number(cp.eigengap);
    j["gate_margin"] = number(cp.gate_margin);
    j["basin_count"] = cp.basin_count;
    if (random_starts > 0) {
      const BinomialInterval ci = analysis::clopper_pearson(static_cast<long>(cp.basin_count), random_starts, kBasinConfidence);
      j["basin_fraction"] = static_cast<double>(cp.basin_count) / static_cast<double>(random_starts);
      j["basin_fraction_interval"] = {ci.low, ci.high};
    } else {
      j["basin_fraction"] = nullptr;
      j["basin_fraction_interval"] = nullptr;
    }
    j["starts"] = cp.starts;
    j["w"] = vector_json(cp.w);
    points.push_back(j);
  }
  out["points"] = points;
  json nodes = json::array();
  for (Eigen::Index k = 0; k < user_w.cols(); ++k) {
    const auto s = static_cast<std::size_t>(k);
    const auto [nearest, cosine] = nearest_point(search, user_w.col(k), sign_symmetric);
    json j;
    j["node"] = k;
    j["norm"] = user_w.col(k).norm();
    j["point"] = search.assignment[s] >= 0 ? json(search.assignment[s]) : json(nullptr);
    j["certified_by"] = kCertifiedBy[std::clamp(search.polished_by.empty() ? 0 : search.polished_by[s], 0, kLastCertifiedBy)];
    j["residual"] = number(search.start_residuals[s]);
    j["nearest_point"] = nearest >= 0 ? json(nearest) : json(nullptr);
    j[sign_symmetric ? "nearest_abs_cosine" : "nearest_cosine"] = nearest >= 0 ? json(cosine) : json(nullptr);
    nodes.push_back(j);
  }
  out["user_nodes"] = nodes;
  return out;
}

std::string fixed_point_summary(const analysis::CertifiedSearch& search, const Eigen::MatrixXd& user_w) {
  require_user_w(search, user_w, "fixed_point_summary");
  const bool sign_symmetric = search.sign_symmetric;
  const long random_starts = static_cast<long>(search.starts - search.user_starts);
  const long stable = std::count_if(search.points.begin(), search.points.end(),
                                    [](const analysis::CertifiedPoint& p) { return p.stable; });
  std::string s = "fixed points: " + std::to_string(search.points.size()) + " certified (" +
                  std::to_string(stable) + " stable) from " + std::to_string(search.starts) + " starts (" +
                  std::to_string(search.user_starts) + " user, " + std::to_string(random_starts) +
                  " random): " + std::to_string(search.converged) + " converged, " +
                  std::to_string(search.unconverged) + " unconverged (residual tolerance " +
                  format("%.0e", search.tolerance) + ")\n";
  for (std::size_t p = 0; p < search.points.size(); ++p) {
    const analysis::CertifiedPoint& cp = search.points[p];
    s += "  point " + std::to_string(p) + ": " + (cp.stable ? "stable" : "not stable") + " " +
         std::string(analysis::to_string(cp.kind));
    if (cp.kind == analysis::PointKind::kink)
      s += " (" + std::to_string(cp.active_set_size) + " boundary rows, slack " + format("%.1e", cp.slack) + ")";
    s += ", lambda " +
         format("%.4e", cp.lambda) + ", max tangent Hessian eig " +
         format("%.3e", cp.max_tangent_hessian_eigenvalue) + ", eigengap " + format("%.3e", cp.eigengap) +
         ", eigen-criterion " + (cp.eigen_criterion ? "yes" : "no") + ", residual " +
         format("%.1e", cp.residual);
    if (random_starts > 0) {
      const BinomialInterval ci = analysis::clopper_pearson(static_cast<long>(cp.basin_count), random_starts, kBasinConfidence);
      s += ", basin " + std::to_string(cp.basin_count) + "/" + std::to_string(random_starts) + " [" +
           format("%.2f", ci.low) + ", " + format("%.2f", ci.high) + "]";
    }
    s += "\n";
  }
  for (Eigen::Index k = 0; k < user_w.cols(); ++k) {
    const auto i = static_cast<std::size_t>(k);
    const auto [nearest, cosine] = nearest_point(search, user_w.col(k), sign_symmetric);
    s += "  node " + std::to_string(k) + ": ";
    if (search.assignment[i] >= 0)
      s += "its start converged to point " + std::to_string(search.assignment[i]);
    else
      s += "not converged (residual " + format("%.1e", search.start_residuals[i]) + ")";
    if (nearest >= 0)
      s += "; nearest point " + std::to_string(nearest) + (sign_symmetric ? " at |cos| " : " at cos ") +
           format("%.5f", cosine);
    s += "\n";
  }
  return s;
}

}  // namespace cldyn::tools
