#pragma once
/// \file analyze_report.hpp
/// The one-layer analysis of docs/theory.md §1–§3 at given views and weights, as the JSON
/// document cldyn-analyze writes: the computation behind the command line, shared by the
/// executable and the Python module (`cldyn.analyze`), so both give the same fields with the
/// same meanings. Large arrays go to an ArraySink: inline into the JSON, into .npy files, or
/// held in memory for a caller that converts them itself (NumPy).

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/models/convention.hpp"

namespace cldyn::tools {

/// A parameter the caller fixes (exit status 2 in the tool, ValueError in Python).
struct AnalyzeUsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// Default tolerance of is_top: A(w) is formed in double precision by O(N) accumulations and
/// the dense eigensolver is backward stable to a small multiple of d·ε·‖A‖, so an exact top
/// eigenvector passes with room to spare; a w reached by training passes once it has converged
/// to ≈ √ε.
constexpr double kDefaultTopTolerance = 1e-8;

/// The definition of is_top, as written into the JSON.
extern const char* const kIsTopDefinition;

/// What to compute. `tau` and `eps` are given only with the InfoNCE loss (eps defaults to 1).
struct AnalyzeRequest {
  std::string activation = "linear";  ///< linear | relu | leaky:GAMMA
  std::string loss = "quadratic";     ///< quadratic | infonce
  std::optional<double> tau, eps;
  std::string negatives = "view1";  ///< view1 | both
  std::string distance = "raw";     ///< raw | normalized
  std::string weights_layout = "dK";  ///< how the caller's weights were laid out (reported)
  double top_tolerance = kDefaultTopTolerance;
  Eigen::Index top_k = 3;
  bool alpha = true;    ///< report α (M × M)
  bool hessian = true;  ///< compute the loss Hessians
  bool find_fixed_points = false;
  Eigen::Index starts = 64;
  std::uint64_t seed = 0;
  double fixed_point_tolerance = 1e-8;
  /// ReLU / leaky ReLU with InfoNCE: let the certified search certify strict maxima on gate
  /// kinks (CertifiedSearchOptions::infonce_kinks). false here, as in the library;
  /// cldyn-analyze turns it on unless given --no-infonce-kinks.
  bool infonce_kinks = false;
  nlohmann::ordered_json inputs = nullptr;  ///< where the views and weights came from (reported)
  std::function<void(double)> progress;      ///< fraction done, from the streamed analysis
};

/// Checks the request; throws AnalyzeUsageError with the tool's message (naming its option).
void validate(const AnalyzeRequest& request);

/// Where large arrays go: inline into the JSON (arrays of rows), into DIR/<name>.npy (the JSON
/// holding {"npy": path, "shape": [...]}), or kept in memory (the JSON holding
/// {"array": name}; the caller takes them from arrays()).
class ArraySink {
 public:
  enum class Mode { inline_json, files, memory };
  static ArraySink inline_json() { return ArraySink(Mode::inline_json, ""); }
  static ArraySink files(std::string dir) { return ArraySink(Mode::files, std::move(dir)); }
  static ArraySink memory() { return ArraySink(Mode::memory, ""); }

  Mode mode() const { return mode_; }
  bool to_files() const { return mode_ == Mode::files; }
  std::string path(const std::string& name) const;
  /// A matrix.
  nlohmann::ordered_json matrix(const std::string& name, const Eigen::Ref<const Eigen::MatrixXd>& m);
  /// A stack of equally shaped matrices, shape (count, rows, cols); `transpose` stores each
  /// matrix transposed (eigenvectors held as columns become rows).
  nlohmann::ordered_json stack(const std::string& name, const std::vector<Eigen::MatrixXd>& ms,
                               bool transpose = false);
  /// The reference to an array already written to path(name) (files mode).
  nlohmann::ordered_json reference(const std::string& name, std::vector<Eigen::Index> shape);
  const std::vector<std::string>& written() const { return written_; }

  /// Memory mode: the arrays by name (a stack as one matrix per entry).
  struct Array {
    std::vector<Eigen::MatrixXd> matrices;  ///< one for a matrix, count for a stack
    bool stacked = false;
  };
  std::map<std::string, Array>& arrays() { return arrays_; }

 private:
  ArraySink(Mode mode, std::string dir) : mode_(mode), dir_(std::move(dir)) {}
  Mode mode_;
  std::string dir_;
  std::vector<std::string> written_;
  std::map<std::string, Array> arrays_;
};

/// The analysis and, with find_fixed_points, the certified search it reports.
struct AnalyzeReport {
  nlohmann::ordered_json json;
  std::optional<analysis::CertifiedSearch> fixed_points;
};

/// Peak memory in bytes of analyze_report on N × d views and K nodes (the tool refuses a run
/// that exceeds the machine's memory before any large allocation).
double analyze_report_peak_bytes(Eigen::Index n, Eigen::Index d, Eigen::Index k, const AnalyzeRequest& request,
                                 const ArraySink& arrays);

/// Everything cldyn-analyze reports at views `views` and weights `w` (d × K), α = α(W) of the
/// requested loss and convention: the header fields, alpha, energy, loss, input_covariance,
/// gated_covariance, energy_gradient, loss_gradient, loss_hessian, top_eigenvectors, nodes and
/// (when asked) fixed_points. Validates the request first (AnalyzeUsageError).
AnalyzeReport analyze_report(const TwoViewBatch& views, const Eigen::MatrixXd& w, const AnalyzeRequest& request,
                             ArraySink& arrays);

}  // namespace cldyn::tools
