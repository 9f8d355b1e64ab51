#include "cldyn/core/batch.hpp"

#include <string>

#include "cldyn/core/validate.hpp"

namespace cldyn {

void validate_views(const Eigen::Ref<const Eigen::MatrixXd>& x,
                    const Eigen::Ref<const Eigen::MatrixXd>& x_prime, const char* where) {
  require(x.rows() >= 2, where, "N (rows of X)", x.rows(), "N >= 2");
  require(x.cols() >= 1, where, "d (columns of X)", x.cols(), "d >= 1");
  require_shape(x_prime, x.rows(), x.cols(), where, "X' (second view)");
  require_finite(x, where, "X");
  require_finite(x_prime, where, "X'");
}

void TwoViewBatch::validate(const char* where) const { validate_views(x, x_prime, where); }

}  // namespace cldyn
