#include "analyze_inputs.hpp"

#include <string>

namespace cldyn::tools {
namespace {

std::string shape_of(const Eigen::MatrixXd& m) {
  return std::to_string(m.rows()) + " x " + std::to_string(m.cols());
}

}  // namespace

WeightsLayout parse_weights_layout(const std::string& text) {
  if (text == "dK") return WeightsLayout::dK;
  if (text == "Kd") return WeightsLayout::Kd;
  throw std::invalid_argument("weights layout '" + text +
                              "' is not one of dK (d x K, a node per column) or Kd (K x d, a "
                              "node per row, as PyTorch nn.Linear.weight)");
}

AnalyzeInputs load_inputs(const std::string& view_path, const std::string& view_prime_path,
                          const std::string& weights_path, WeightsLayout layout,
                          const CsvOptions& csv) {
  AnalyzeInputs in{TwoViewBatch{load_matrix(view_path, csv), load_matrix(view_prime_path, csv)},
                   load_matrix(weights_path, csv)};
  const Eigen::MatrixXd& x = in.batch.x;
  const Eigen::MatrixXd& xp = in.batch.x_prime;
  if (x.rows() != xp.rows() || x.cols() != xp.cols())
    throw std::runtime_error("views '" + view_path + "' (" + shape_of(x) + ") and '" +
                             view_prime_path + "' (" + shape_of(xp) +
                             ") differ in shape; both must be N x d");
  if (in.batch.size() < 2)
    throw std::runtime_error("views '" + view_path + "' have N = " +
                             std::to_string(in.batch.size()) + " samples (rows); need N >= 2");
  if (in.batch.dim() < 1)
    throw std::runtime_error("views '" + view_path + "' have d = 0 columns; need d >= 1");
  const Eigen::Index n = in.batch.size(), d = in.batch.dim();

  Eigen::MatrixXd& w = in.w;
  const std::string file = "weights '" + weights_path + "' (" + shape_of(w) + ")";
  if (layout == WeightsLayout::unspecified && w.rows() == w.cols() && w.rows() > 1)
    throw InputUsageError(
        file + " are square, so rows could be inputs or nodes: say which with --weights-layout "
               "dK (d x K, a node per column) or --weights-layout Kd (K x d, a node per row, as "
               "PyTorch nn.Linear.weight is saved)");
  // In the K x d layout a 1-D array (read as a column) is still one node of length d.
  const bool one_node_vector = w.cols() == 1 && w.rows() == d && d > 1;
  if (layout == WeightsLayout::Kd && !one_node_vector) w.transposeInPlace();
  if (w.rows() != d) {
    std::string hint;
    if (layout == WeightsLayout::unspecified && w.cols() == d)
      hint = "; its rows look like nodes (K x d, as PyTorch nn.Linear.weight is saved): pass "
             "--weights-layout Kd";
    else if (w.rows() == n && n != d)
      hint = "; it matches the views' row count N = " + std::to_string(n) + " instead: are the "
             "views '" + view_path + "' transposed? Views must be N x d, one sample per row";
    const std::string layout_text = layout == WeightsLayout::Kd ? "K x d (--weights-layout Kd)"
                                                                : "d x K";
    throw std::runtime_error(file + " have " +
                             std::to_string(layout == WeightsLayout::Kd ? w.cols() : w.rows()) +
                             (layout == WeightsLayout::Kd ? " columns" : " rows") +
                             " but the views have d = " + std::to_string(d) + " columns; W must be " +
                             layout_text + hint);
  }
  if (w.cols() < 1) throw std::runtime_error(file + " have K = 0 nodes; need K >= 1");
  return in;
}

}  // namespace cldyn::tools
