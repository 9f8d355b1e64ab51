#pragma once
/// \file analyze_inputs.hpp
/// The inputs of cldyn-analyze (views X, X' and weights W) read so that they cannot be misread:
/// an explicit weights layout (cldyn's d × K or PyTorch's K × d), a square W refused when the
/// layout was not stated, a CSV row-index column refused unless asked to drop it, and every
/// shape error naming the file that is wrong (views or weights) and the likely cause.

#include <Eigen/Core>
#include <stdexcept>
#include <string>

#include "cldyn/core/batch.hpp"
#include "csv.hpp"

namespace cldyn::tools {

/// How the weights file holds the nodes. `unspecified` accepts a non-square W in cldyn's
/// layout and refuses a square one (both readings would be shape-valid).
enum class WeightsLayout {
  unspecified,
  dK,  ///< d × K: one node per column (cldyn)
  Kd,  ///< K × d: one node per row (PyTorch nn.Linear.weight as saved)
};

/// "dK" or "Kd"; throws std::invalid_argument otherwise.
WeightsLayout parse_weights_layout(const std::string& text);

/// An input problem the user fixes with an option (exit status 2 in the tool), as opposed to
/// a data error (std::runtime_error, exit status 1).
struct InputUsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct AnalyzeInputs {
  TwoViewBatch batch;  ///< N × d views
  Eigen::MatrixXd w;   ///< d × K weights, whatever the file's layout
};

/// Reads and checks the views and weights. Throws std::runtime_error (a data error naming the
/// file) or InputUsageError (square W without a layout).
AnalyzeInputs load_inputs(const std::string& view_path, const std::string& view_prime_path,
                          const std::string& weights_path, WeightsLayout layout,
                          const CsvOptions& csv);

}  // namespace cldyn::tools
