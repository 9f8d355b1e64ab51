#include "cldyn/core/validate.hpp"

#include <charconv>
#include <cmath>

namespace cldyn {

std::string shortest(double v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

void require_finite(const Eigen::Ref<const Eigen::MatrixXd>& m, std::string_view where,
                    std::string_view param) {
  if (m.allFinite()) return;
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      if (!std::isfinite(m(i, j))) {
        std::ostringstream msg;
        msg << where << ": " << param << "(" << i << "," << j << ") = " << m(i, j)
            << " violates the constraint that every entry is finite";
        throw std::invalid_argument(msg.str());
      }
    }
  }
}

void require_shape(const Eigen::Ref<const Eigen::MatrixXd>& m, Eigen::Index rows,
                   Eigen::Index cols, std::string_view where, std::string_view param) {
  if (m.rows() == rows && m.cols() == cols) return;
  std::ostringstream msg;
  msg << where << ": " << param << " has shape " << m.rows() << "x" << m.cols()
      << ", violates the required shape " << rows << "x" << cols;
  throw std::invalid_argument(msg.str());
}

}  // namespace cldyn
