#pragma once
/// \file status.hpp
/// Outcome of a numerical routine. Invalid *arguments* throw std::invalid_argument; numerical
/// outcomes (not converged, non-finite values) are reported as a Status, never as silent values.

#include <string_view>

namespace cldyn {

enum class Status {
  success,              ///< the routine reached its target (converged, certified)
  max_steps,            ///< the step/iteration budget ran out before the target was reached
  not_converged,        ///< an iterative solver failed to converge
  non_finite,           ///< a NaN or Inf appeared; the last finite state was kept
  stopped_by_callback,  ///< a user callback asked to stop
};

/// Stable lower-case name of a status, as written in JSON results.
constexpr std::string_view to_string(Status s) {
  switch (s) {
    case Status::success: return "success";
    case Status::max_steps: return "max_steps";
    case Status::not_converged: return "not_converged";
    case Status::non_finite: return "non_finite";
    case Status::stopped_by_callback: return "stopped_by_callback";
  }
  return "unknown";
}

}  // namespace cldyn
