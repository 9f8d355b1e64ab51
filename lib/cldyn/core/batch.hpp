#pragma once
/// \file batch.hpp
/// A two-view batch (theory §1): N base samples, two augmented views of each, as the rows of
/// X and X' (both N × d).

#include <Eigen/Core>

namespace cldyn {

struct TwoViewBatch {
  Eigen::MatrixXd x;        ///< N × d, first views x[i] (also the negatives)
  Eigen::MatrixXd x_prime;  ///< N × d, second views x'[i]

  Eigen::Index size() const { return x.rows(); }
  Eigen::Index dim() const { return x.cols(); }

  /// Throws std::invalid_argument unless X and X' have the same shape, N ≥ 2, d ≥ 1 and every
  /// entry is finite. `where` names the calling routine in the message.
  void validate(const char* where = "TwoViewBatch") const;
};

/// Validates a pair of views given as separate matrices (same rules as TwoViewBatch::validate).
void validate_views(const Eigen::Ref<const Eigen::MatrixXd>& x,
                    const Eigen::Ref<const Eigen::MatrixXd>& x_prime, const char* where);

}  // namespace cldyn
