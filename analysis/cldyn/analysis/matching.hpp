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

/// Predicted optima vs trained weights.
struct DirectionMatching {
  /// m × n cosines between predicted (rows) and trained (columns) directions; |cos| when
  /// sign_symmetric.
  Eigen::MatrixXd cosine;
  /// Many-to-one: for every trained direction, the predicted one with the largest cosine, or −1
  /// when that cosine is below the threshold.
  std::vector<Eigen::Index> nearest;
  /// One-to-one optimal assignment (Hungarian algorithm, maximising the summed cosine): for
  /// every trained direction its predicted partner, or −1 when unassigned or below threshold.
  std::vector<Eigen::Index> assignment;
  std::vector<Eigen::Index> unmatched_predicted;  ///< predicted with no assigned partner
  std::vector<Eigen::Index> unmatched_trained;    ///< trained with nearest = −1
};

/// Matches trained directions (d × n, nonzero columns) to predicted ones (d × m, nonzero
/// columns); a pair counts when its cosine ≥ threshold ∈ [−1, 1].
DirectionMatching match_directions(const Eigen::Ref<const Eigen::MatrixXd>& predicted,
                                   const Eigen::Ref<const Eigen::MatrixXd>& trained,
                                   double threshold, bool sign_symmetric);

/// Optimal assignment maximising Σ score(i, assigned(i)) for a rows × cols score matrix
/// (Hungarian algorithm with potentials, O(n²·m)); returns for every row its column, or −1 when
/// rows > cols leaves it unassigned.
std::vector<Eigen::Index> optimal_assignment(const Eigen::Ref<const Eigen::MatrixXd>& score);

}  // namespace cldyn::analysis
