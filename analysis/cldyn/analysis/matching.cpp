#include "cldyn/analysis/matching.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "cldyn/core/validate.hpp"

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

std::vector<Eigen::Index> optimal_assignment(const Eigen::Ref<const Eigen::MatrixXd>& score) {
  require_finite(score, "optimal_assignment", "score");
  const bool transpose = score.rows() > score.cols();
  // Work on an n × m cost matrix with n ≤ m (rows are all assigned), cost = −score.
  const Eigen::MatrixXd cost = transpose ? Eigen::MatrixXd(-score.transpose()) : Eigen::MatrixXd(-score);
  const Eigen::Index n = cost.rows(), m = cost.cols();
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based potentials u (rows), v (columns); owner[j] = row assigned to column j (0: none).
  std::vector<double> u(static_cast<std::size_t>(n + 1), 0.0), v(static_cast<std::size_t>(m + 1), 0.0);
  std::vector<Eigen::Index> owner(static_cast<std::size_t>(m + 1), 0), way(static_cast<std::size_t>(m + 1), 0);
  for (Eigen::Index i = 1; i <= n; ++i) {
    owner[0] = i;
    Eigen::Index j0 = 0;
    std::vector<double> minv(static_cast<std::size_t>(m + 1), inf);
    std::vector<char> used(static_cast<std::size_t>(m + 1), 0);
    do {
      used[static_cast<std::size_t>(j0)] = 1;
      const Eigen::Index i0 = owner[static_cast<std::size_t>(j0)];
      double delta = inf;
      Eigen::Index j1 = 0;
      for (Eigen::Index j = 1; j <= m; ++j) {
        if (used[static_cast<std::size_t>(j)]) continue;
        const double cur = cost(i0 - 1, j - 1) - u[static_cast<std::size_t>(i0)] - v[static_cast<std::size_t>(j)];
        if (cur < minv[static_cast<std::size_t>(j)]) {
          minv[static_cast<std::size_t>(j)] = cur;
          way[static_cast<std::size_t>(j)] = j0;
        }
        if (minv[static_cast<std::size_t>(j)] < delta) {
          delta = minv[static_cast<std::size_t>(j)];
          j1 = j;
        }
      }
      for (Eigen::Index j = 0; j <= m; ++j) {
        if (used[static_cast<std::size_t>(j)]) {
          u[static_cast<std::size_t>(owner[static_cast<std::size_t>(j)])] += delta;
          v[static_cast<std::size_t>(j)] -= delta;
        } else {
          minv[static_cast<std::size_t>(j)] -= delta;
        }
      }
      j0 = j1;
    } while (owner[static_cast<std::size_t>(j0)] != 0);
    do {
      const Eigen::Index j1 = way[static_cast<std::size_t>(j0)];
      owner[static_cast<std::size_t>(j0)] = owner[static_cast<std::size_t>(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<Eigen::Index> out(static_cast<std::size_t>(score.rows()), -1);
  for (Eigen::Index j = 1; j <= m; ++j) {
    const Eigen::Index i = owner[static_cast<std::size_t>(j)];
    if (i == 0) continue;
    if (transpose) {
      out[static_cast<std::size_t>(j - 1)] = i - 1;  // score row j−1 ↔ score column i−1
    } else {
      out[static_cast<std::size_t>(i - 1)] = j - 1;
    }
  }
  return out;
}

DirectionMatching match_directions(const Eigen::Ref<const Eigen::MatrixXd>& predicted,
                                   const Eigen::Ref<const Eigen::MatrixXd>& trained,
                                   double threshold, bool sign_symmetric) {
  constexpr const char* where = "match_directions";
  require(threshold >= -1.0 && threshold <= 1.0, where, "threshold", threshold, "-1 <= threshold <= 1");
  require(predicted.rows() == trained.rows(), where, "rows of predicted", predicted.rows(),
          "== rows of trained = " + std::to_string(trained.rows()));
  DirectionMatching out;
  out.cosine = unit_columns(predicted, where, "predicted").transpose() * unit_columns(trained, where, "trained");
  if (sign_symmetric) out.cosine = out.cosine.cwiseAbs();
  const Eigen::Index m = out.cosine.rows(), n = out.cosine.cols();
  out.nearest.assign(static_cast<std::size_t>(n), -1);
  for (Eigen::Index j = 0; j < n; ++j) {
    Eigen::Index best = 0;
    if (m > 0 && out.cosine.col(j).maxCoeff(&best) >= threshold) {
      out.nearest[static_cast<std::size_t>(j)] = best;
    } else {
      out.unmatched_trained.push_back(j);
    }
  }
  out.assignment.assign(static_cast<std::size_t>(n), -1);
  std::vector<bool> predicted_used(static_cast<std::size_t>(m), false);
  if (m > 0 && n > 0) {
    const std::vector<Eigen::Index> rows = optimal_assignment(out.cosine.transpose());  // trained × predicted
    for (Eigen::Index j = 0; j < n; ++j) {
      const Eigen::Index p = rows[static_cast<std::size_t>(j)];
      if (p >= 0 && out.cosine(p, j) >= threshold) {
        out.assignment[static_cast<std::size_t>(j)] = p;
        predicted_used[static_cast<std::size_t>(p)] = true;
      }
    }
  }
  for (Eigen::Index p = 0; p < m; ++p)
    if (!predicted_used[static_cast<std::size_t>(p)]) out.unmatched_predicted.push_back(p);
  return out;
}

}  // namespace cldyn::analysis
