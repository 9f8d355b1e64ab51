#pragma once
/// \file validate.hpp
/// Argument checks shared by every entry point. Each throws std::invalid_argument whose message
/// names the function, the parameter, its value and the violated constraint.

#include <Eigen/Core>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cldyn {

/// Throws std::invalid_argument("<where>: <param> = <value> violates <constraint>") unless ok.
template <class T>
void require(bool ok, std::string_view where, std::string_view param, const T& value,
             std::string_view constraint) {
  if (ok) return;
  std::ostringstream msg;
  msg << where << ": " << param << " = " << value << " violates " << constraint;
  throw std::invalid_argument(msg.str());
}

/// Shortest text that reads back as exactly v (e.g. 0.05, not 0.050000000000000003).
std::string shortest(double v);

/// Requires every entry of m to be finite; names the first offending entry.
void require_finite(const Eigen::Ref<const Eigen::MatrixXd>& m, std::string_view where,
                    std::string_view param);

/// Requires m to have exactly rows × cols entries.
void require_shape(const Eigen::Ref<const Eigen::MatrixXd>& m, Eigen::Index rows,
                   Eigen::Index cols, std::string_view where, std::string_view param);

}  // namespace cldyn
