#pragma once
/// \file matching.hpp
/// Counting distinct directions among trained weight vectors. Directions are compared up to
/// sign and scale: w and −2w are the same direction.

#include <Eigen/Core>
#include <vector>

namespace cldyn::analysis {

struct DirectionClusters {
  /// d × m unit representatives (the first member of each cluster, in column order of W).
  Eigen::MatrixXd representatives;
  /// For every column of W, the index of its cluster.
  std::vector<Eigen::Index> assignment;
  /// Members per cluster.
  std::vector<Eigen::Index> counts;
  Eigen::Index size() const { return representatives.cols(); }
};

/// Greedy clustering of the columns of W (d × K, nonzero columns) in column order: a column joins
/// the first cluster whose representative has |cos| ≥ threshold with it (cos ≥ threshold when
/// sign_symmetric is false: for ReLU, w and −w are different nodes), else opens a new one.
/// Deterministic; threshold in (0, 1].
DirectionClusters distinct_directions(const Eigen::Ref<const Eigen::MatrixXd>& w,
                                      double threshold, bool sign_symmetric = true);

/// |cos| between every column of A (d × m) and every column of B (d × n): m × n.
Eigen::MatrixXd abs_cosine_matrix(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                  const Eigen::Ref<const Eigen::MatrixXd>& b);

}  // namespace cldyn::analysis
