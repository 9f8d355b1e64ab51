// cldyn-analyze: the one-layer analysis of docs/theory.md §1–§3 on a user's data, written as
// JSON (and, with --arrays DIR, large arrays as .npy files beside it).
//
//   cldyn-analyze --views X.npy Xp.npy --weights W.npy --activation relu --loss infonce
//       --tau 0.5 --eps 1 --json out.json
//
// Views X, X' are N × d; weights W are d × K (or K × d with --weights-layout Kd): NPY (float32
// or float64, C or Fortran order) or CSV (comma-separated numbers, optional header row), chosen
// by the extension .npy / .csv. Every quantity is evaluated at W with α = α(W) of the chosen
// loss and convention (docs/theory.md, "Matching your training to cldyn").
// Exit status: 0 success, 2 usage error (options, parameters), 1 data error (files, shapes,
// values) or numerical failure; every error is one line "cldyn-analyze: error: <message>".
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "analyze_inputs.hpp"
#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/batch.hpp"
#include "cldyn/convention.hpp"
#include "cldyn/loss.hpp"
#include "cldyn/one_layer.hpp"
#include "cldyn/validate.hpp"
#include "cldyn/version.hpp"
#include "csv.hpp"
#include "fixed_point_report.hpp"
#include "npy.hpp"

namespace {

namespace fs = std::filesystem;
// ordered_json keeps the fields in the order written (header and parameters first).
using json = nlohmann::ordered_json;

constexpr const char* kProgram = "cldyn-analyze";

/// A bad command line or parameter (exit status 2); anything else is a data error (1).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Default of --top-tol. A(w) is formed in double precision by O(N) accumulations and the dense
// eigensolver is backward stable to a small multiple of d·ε·‖A‖, so an exact top eigenvector
// passes with room to spare; a w reached by training passes once it has converged to ≈ √ε.
constexpr double kDefaultTopTolerance = 1e-8;

const char* const kIsTopDefinition =
    "is_top = (||w|| > 0) and ||A u - rho u|| <= tol*||A||_2 and rho >= lambda_1 - tol*||A||_2, "
    "where A = A(w_k) = gated_covariance[k], u = w_k/||w_k||, rho = u'Au (= rayleigh), "
    "lambda_1 = top eigenvalue of A, ||A||_2 = max |eigenvalue of A| and tol = top_tolerance: "
    "w_k is (to tol) an eigenvector of the matrix it induces, with the largest eigenvalue "
    "(if A = 0, e.g. a dead ReLU node, every w_k is trivially top: check top_eigenvalues)";

/// Everything the command line says.
struct Options {
  std::vector<std::string> views;
  std::string weights_path, weights_layout_text, activation_text, loss_text, json_path, arrays_dir;
  std::string negatives_text = "view1", distance_text = "raw";
  double tau = 0.0, eps = 1.0, top_tol = kDefaultTopTolerance;
  Eigen::Index top_k = 3;
  bool csv_index_col = false, no_alpha = false, no_hessian = false, quiet = false;
  bool find_fixed_points = false;
  Eigen::Index starts = 64;
  std::uint64_t seed = 0;
  double fp_tol = 1e-8;
};

/// Physical memory of the machine in bytes (0 if unknown).
double physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

std::string gigabytes(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g GB", bytes / 1e9);
  return buf;
}

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

json rows_of(const Eigen::Ref<const Eigen::MatrixXd>& m) {
  json rows = json::array();
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    json row = json::array();
    for (Eigen::Index j = 0; j < m.cols(); ++j) row.push_back(m(i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

json vector_of(const Eigen::Ref<const Eigen::VectorXd>& v) {
  json out = json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) out.push_back(v(i));
  return out;
}

/// Where large arrays go: inline into the JSON (arrays of rows), or with --arrays DIR into
/// DIR/<name>.npy, the JSON holding {"npy": path, "shape": [...]} instead.
class ArraySink {
 public:
  explicit ArraySink(std::string dir) : dir_(std::move(dir)) {}
  bool to_files() const { return !dir_.empty(); }
  std::string path(const std::string& name) const { return (fs::path(dir_) / (name + ".npy")).string(); }
  json reference(const std::string& name, std::vector<Eigen::Index> shape) const {
    written_.push_back(path(name));
    return json{{"npy", path(name)}, {"shape", shape}};
  }
  /// A matrix.
  json matrix(const std::string& name, const Eigen::Ref<const Eigen::MatrixXd>& m) const {
    if (!to_files()) return rows_of(m);
    cldyn::tools::save_npy(path(name), m);
    return reference(name, {m.rows(), m.cols()});
  }
  /// A stack of equally shaped matrices, shape (count, rows, cols); `transpose` writes each
  /// matrix transposed (eigenvectors stored as columns become rows).
  json stack(const std::string& name, const std::vector<Eigen::MatrixXd>& ms, bool transpose = false) const {
    if (!to_files()) {
      json out = json::array();
      for (const Eigen::MatrixXd& m : ms) out.push_back(transpose ? rows_of(m.transpose()) : rows_of(m));
      return out;
    }
    const Eigen::Index r = ms.empty() ? 0 : (transpose ? ms[0].cols() : ms[0].rows());
    const Eigen::Index c = ms.empty() ? 0 : (transpose ? ms[0].rows() : ms[0].cols());
    const std::vector<Eigen::Index> shape = {static_cast<Eigen::Index>(ms.size()), r, c};
    cldyn::tools::NpyRowWriter file(path(name), shape[0] * r, c, shape);
    for (const Eigen::MatrixXd& m : ms) {
      if (transpose)
        file.append(m.transpose());
      else
        file.append(m);
    }
    file.commit();
    return reference(name, shape);
  }
  const std::vector<std::string>& written() const { return written_; }

 private:
  std::string dir_;
  mutable std::vector<std::string> written_;
};

/// min over both views and samples of |xᵀw| / (‖x‖·‖w‖), samples with x = 0 skipped: how far
/// the batch is from a gate boundary of w (the Hessians hold gates constant). +inf if no sample
/// counts, 0 if w = 0.
double gate_margin(const cldyn::TwoViewBatch& batch, const Eigen::Ref<const Eigen::VectorXd>& w) {
  const double wn = w.norm();
  if (wn == 0.0) return 0.0;
  double margin = std::numeric_limits<double>::infinity();
  for (const Eigen::MatrixXd* x : {&batch.x, &batch.x_prime}) {
    const Eigen::VectorXd proj = (*x) * w;
    for (Eigen::Index i = 0; i < x->rows(); ++i) {
      const double xn = x->row(i).norm();
      if (xn > 0.0) margin = std::min(margin, std::abs(proj(i)) / (xn * wn));
    }
  }
  return margin;
}

/// Per-node diagnostics of A = A(w_k); `vectors` receives the top-k eigenvectors (d × k).
json node_report(const cldyn::TwoViewBatch& batch, const Eigen::MatrixXd& a,
                 const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index k, double tol,
                 Eigen::Index top_k, Eigen::MatrixXd& vectors) {
  const Eigen::Index d = a.rows();
  json node;
  node["index"] = k;
  const double wn = w.norm();
  node["w_norm"] = wn;
  node["gate_margin"] = gate_margin(batch, w);
  // All d eigenpairs (dense): ‖A‖_2 needs the bottom one too; the report keeps the top min(5, d).
  const cldyn::analysis::EigenResult eig = cldyn::analysis::top_eigenpairs(a, d);
  node["eigen_status"] = std::string(cldyn::to_string(eig.status));
  vectors = Eigen::MatrixXd::Constant(d, std::min(top_k, d), std::numeric_limits<double>::quiet_NaN());
  if (eig.status != cldyn::Status::success) {
    node["rayleigh"] = wn > 0.0 ? json(w.dot(a * w) / (wn * wn)) : json(nullptr);
    node["top_eigenvalues"] = nullptr;
    node["eigengap"] = nullptr;
    node["eigen_residual"] = nullptr;
    node["is_top"] = nullptr;
    return node;
  }
  vectors = eig.vectors.leftCols(vectors.cols());
  const Eigen::Index top = std::min<Eigen::Index>(5, d);
  node["top_eigenvalues"] = vector_of(eig.values.head(top));
  node["eigengap"] = d >= 2 ? json(eig.values(0) - eig.values(1)) : json(nullptr);
  node["eigen_residual"] = eig.residual;
  const double spectral_norm = std::max(std::abs(eig.values(0)), std::abs(eig.values(d - 1)));
  if (wn == 0.0) {
    node["rayleigh"] = nullptr;
    node["rayleigh_residual"] = nullptr;
    node["is_top"] = false;
    return node;
  }
  const Eigen::VectorXd u = w / wn;
  const Eigen::VectorXd au = a * u;
  const double rho = u.dot(au);
  const double residual = (au - rho * u).norm();
  node["rayleigh"] = rho;
  node["rayleigh_residual"] = spectral_norm > 0.0 ? residual / spectral_norm : residual;
  node["cos_top_eigenvector"] = std::abs(u.dot(eig.vectors.col(0)));
  node["is_top"] = residual <= tol * spectral_norm && rho >= eig.values(0) - tol * spectral_norm;
  return node;
}

/// Progress on standard error, only when it is a terminal (never in captured output).
std::function<void(double)> progress_printer() {
  if (!::isatty(STDERR_FILENO)) return {};
  return [last = -1](double fraction) mutable {
    const int percent = static_cast<int>(100.0 * std::clamp(fraction, 0.0, 1.0));
    if (percent == last) return;
    last = percent;
    std::cerr << '\r' << kProgram << ": " << percent << " %" << (percent == 100 ? "\n" : "")
              << std::flush;
  };
}

/// An output folder that must already exist (named as such when it does not).
void require_folder_of(const std::string& file, const char* option) {
  const fs::path parent = fs::path(file).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    throw std::runtime_error(std::string(option) + " '" + file + "': output folder '" +
                             parent.string() + "' does not exist");
}

void parse_command_line(int argc, char** argv, Options& o, CLI::App& app) {
  app.add_option("--views", o.views,
                 "the two views X and X' (N x d each, N >= 2; .npy or .csv, see below)")
      ->expected(2)
      ->required();
  app.add_option("--weights", o.weights_path,
                 "weights W (d x K by default; .npy or .csv; a 1-D array or one column is one node)")
      ->required();
  app.add_option("--weights-layout", o.weights_layout_text,
                 "dK (d x K, a node per column) or Kd (K x d, a node per row: PyTorch "
                 "nn.Linear.weight as saved). Required when W is square; default dK otherwise")
      ->check(CLI::IsMember({"dK", "Kd"}));
  app.add_flag("--csv-index-col", o.csv_index_col,
               "drop column 1 of every CSV input (a row index, as pandas to_csv writes); without "
               "it such a column is refused");
  app.add_option("--activation", o.activation_text,
                 "linear | relu | leaky:GAMMA (GAMMA a finite slope, e.g. leaky:0.1)")
      ->required();
  app.add_option("--loss", o.loss_text, "quadratic | infonce")
      ->required()
      ->check(CLI::IsMember({"quadratic", "infonce"}));
  app.add_option("--tau", o.tau, "InfoNCE temperature (> 0; no default: required with --loss infonce, refused with quadratic)");
  app.add_option("--eps", o.eps, "InfoNCE weight of the positive pair (>= 0, default 1; >= 1 with --negatives both; only with --loss infonce)");
  app.add_option("--negatives", o.negatives_text,
                 "view1 (default: anchors and negatives are view-1 samples, the theory's form) or "
                 "both (NT-Xent / SimCLR: 2N anchors, 2N - 2 negatives each, symmetric loss)")
      ->check(CLI::IsMember({"view1", "both"}));
  app.add_option("--distance", o.distance_text,
                 "raw (default: d2 = |f_i - f_j|^2 / 2 on the outputs) or normalized (outputs "
                 "l2-normalised first: cosine similarity). Identity B, A(w_k), is_top and the "
                 "Hessians need raw")
      ->check(CLI::IsMember({"raw", "normalized"}));
  app.add_option("--top-tol", o.top_tol,
                 "relative tolerance tol of is_top (> 0, default 1e-8; see the definition above)");
  app.add_option("--top-k", o.top_k,
                 "number of top eigenvectors of each A(w_k) in the output (>= 0, default 3)");
  app.add_option("--json", o.json_path, "output JSON file, written atomically (default: stdout)");
  app.add_option("--arrays", o.arrays_dir,
                 "write large arrays (alpha, covariances, Hessians, gradients, eigenvectors) as "
                 ".npy files into this folder (created if missing; its parent must exist); the "
                 "JSON then refers to them and keeps scalars and summaries. alpha is streamed in "
                 "row blocks, never held whole");
  app.add_flag("--no-alpha", o.no_alpha, "leave alpha out (it is N x N)");
  app.add_flag("--no-hessian", o.no_hessian, "leave the loss Hessians out (and skip their cost)");
  app.add_flag("--quiet", o.quiet, "no summary on standard output");
  app.add_flag("--find-fixed-points", o.find_fixed_points,
               "also search the one-node sample landscape of these views for certified fixed "
               "points (starts: every column of W, then --starts random directions), classify "
               "each (stable or not, eigen-criterion, basin) and say where each node of W sits");
  app.add_option("--starts", o.starts, "random starts of --find-fixed-points (>= 0, default 64)");
  app.add_option("--seed", o.seed, "seed of those random starts (default 0)");
  app.add_option("--fp-tol", o.fp_tol,
                 "tolerance of a fixed point's certificate (> 0, default 1e-8): relative "
                 "tangent residual |P grad E|/|grad E| of a smooth point; for a kink maximum of "
                 "a ReLU sample (quadratic loss) the face residual, the boundary margin and the "
                 "smallest slack (docs/theory.md, 'Kink maxima')");
  app.set_version_flag("--version", std::string(cldyn::version) + " (" + cldyn::git_hash + ")");
  app.parse(argc, argv);
}

/// One screen for a person: per node the Rayleigh residual, eigengap and is_top.
std::string summary(const json& out, const ArraySink& arrays, const std::string& json_path,
                    const std::optional<cldyn::analysis::CertifiedSearch>& found,
                    const Eigen::MatrixXd& w) {
  std::ostringstream s;
  char buf[256];
  const json& p = out["parameters"];
  s << kProgram << ": N = " << out["shape"]["N"] << ", d = " << out["shape"]["d"]
    << ", K = " << out["shape"]["K"] << "; " << p["activation"].get<std::string>() << ", "
    << p["loss_name"].get<std::string>() << ", negatives " << p["negatives"].get<std::string>()
    << ", distance " << p["distance"].get<std::string>() << "\n";
  std::snprintf(buf, sizeof buf, "loss %.6g, energy %.6g\n", out["loss"].get<double>(),
                out["energy"].get<double>());
  s << buf;
  if (out.contains("nodes") && out["nodes"].is_array()) {
    s << "node      |w|   rayleigh  rayleigh_residual   eigengap  is_top\n";
    auto num = [](const json& v) { return v.is_number() ? v.get<double>() : std::nan(""); };
    for (const json& node : out["nodes"]) {
      std::snprintf(buf, sizeof buf, "%4lld %8.3g %10.4g %18.3g %10.3g  %s\n",
                    static_cast<long long>(node["index"].get<Eigen::Index>()), num(node["w_norm"]),
                    num(node["rayleigh"]), num(node["rayleigh_residual"]), num(node["eigengap"]),
                    node["is_top"].is_boolean() ? (node["is_top"].get<bool>() ? "yes" : "no") : "-");
      s << buf;
    }
  } else {
    s << "nodes: not analysed (" << out["nodes_note"].get<std::string>() << ")\n";
  }
  if (found) s << cldyn::tools::fixed_point_summary(*found, w);
  s << "wrote " << json_path;
  if (!arrays.written().empty()) s << " and " << arrays.written().size() << " arrays (.npy)";
  s << "\n";
  return s.str();
}

int run(int argc, char** argv) {
  CLI::App app{
      "cldyn-analyze: contrastive-learning analysis of a one-layer network on your data "
      "(docs/theory.md sections 1-3). Evaluates at W, with alpha = alpha(W) of the chosen loss: "
      "alpha, energy, loss, input_covariance C_alpha[x], gated_covariance A(w_k), "
      "energy_gradient (alpha frozen), loss_gradient, loss_hessian (alpha differentiated, gates "
      "constant) and per node rayleigh, top_eigenvalues, top eigenvectors, eigengap, "
      "eigen_residual, is_top. Definition: " +
          std::string(kIsTopDefinition) +
          ". Input files by extension: .npy (float32 or float64, C or Fortran order, 1-D or "
          "2-D) or .csv (comma-separated numbers, one row per line, optional header row, "
          "every value finite). Runs whose estimated memory exceeds the machine's are refused "
          "before any large allocation. Exit status: 0 ok, 2 usage error, 1 data error.",
      kProgram};
  Options o;
  try {
    parse_command_line(argc, argv, o, app);
  } catch (const CLI::CallForVersion&) {  // CLI11 2.1 would print it without a newline
    std::cout << kProgram << " " << cldyn::version << " (" << cldyn::git_hash << ")\n";
    return 0;
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  // ---- parameters (errors here exit 2) -------------------------------------------------------
  cldyn::Activation activation = cldyn::Activation::linear();
  try {
    activation = cldyn::Activation::parse(o.activation_text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--activation: ") + e.what());
  }
  const bool infonce = o.loss_text == "infonce";
  const bool tau_given = app.get_option("--tau")->count() > 0;
  const bool eps_given = app.get_option("--eps")->count() > 0;
  std::optional<cldyn::Loss> loss_opt;
  if (infonce) {
    if (!tau_given) throw UsageError("--tau is required with --loss infonce");
    if (!(std::isfinite(o.tau) && o.tau > 0.0))
      throw UsageError("--tau = " + cldyn::shortest(o.tau) + " violates tau > 0");
    if (!(std::isfinite(o.eps) && o.eps >= 0.0))
      throw UsageError("--eps = " + cldyn::shortest(o.eps) + " violates eps >= 0");
    loss_opt = cldyn::Loss::infonce(o.tau, o.eps);
  } else {
    if (tau_given || eps_given) throw UsageError("--tau and --eps apply only to --loss infonce");
    loss_opt = cldyn::Loss::quadratic();
  }
  const cldyn::Loss& loss = *loss_opt;
  cldyn::Convention convention;
  convention.negatives = cldyn::parse_negatives(o.negatives_text);
  convention.distance = cldyn::parse_distance(o.distance_text);
  const bool both = convention.negatives == cldyn::Negatives::both_views;
  const bool raw = convention.distance == cldyn::Distance::raw;
  if (both && infonce && o.eps < 1.0)
    throw UsageError("--eps = " + cldyn::shortest(o.eps) +
                     " violates eps >= 1 with --negatives both (each anchor's partner is counted "
                     "once among the other 2N - 1 samples; eps = 1 is NT-Xent)");
  if (!(std::isfinite(o.top_tol) && o.top_tol > 0.0))
    throw UsageError("--top-tol = " + cldyn::shortest(o.top_tol) + " violates tol > 0");
  if (o.top_k < 0) throw UsageError("--top-k = " + std::to_string(o.top_k) + " violates k >= 0");
  if (o.starts < 0) throw UsageError("--starts = " + std::to_string(o.starts) + " violates starts >= 0");
  if (!(std::isfinite(o.fp_tol) && o.fp_tol > 0.0))
    throw UsageError("--fp-tol = " + cldyn::shortest(o.fp_tol) + " violates tol > 0");
  if (o.find_fixed_points && !raw)
    throw UsageError("--find-fixed-points needs --distance raw (fixed points A(w)w = lambda w "
                     "are defined for raw distances only)");
  const cldyn::tools::WeightsLayout layout =
      o.weights_layout_text.empty() ? cldyn::tools::WeightsLayout::unspecified
                                    : cldyn::tools::parse_weights_layout(o.weights_layout_text);

  // ---- outputs: fail before any work if they cannot be written -------------------------------
  if (!o.json_path.empty()) require_folder_of(o.json_path, "--json");
  if (!o.arrays_dir.empty()) {
    const fs::path dir(o.arrays_dir);
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
      throw std::runtime_error("--arrays '" + o.arrays_dir + "' exists and is not a folder");
    if (!fs::exists(dir, ec)) {
      const fs::path parent = dir.parent_path();
      if (!parent.empty() && !fs::is_directory(parent, ec))
        throw std::runtime_error("--arrays '" + o.arrays_dir + "': parent folder '" +
                                 parent.string() + "' does not exist");
      if (!fs::create_directory(dir, ec) || ec)
        throw std::runtime_error("--arrays '" + o.arrays_dir + "': cannot create the folder: " +
                                 ec.message());
    }
  }
  const ArraySink arrays(o.arrays_dir);

  // ---- data (errors here exit 1, or 2 for a square W without a layout) -------------------------
  cldyn::tools::AnalyzeInputs inputs = [&] {
    try {
      return cldyn::tools::load_inputs(o.views[0], o.views[1], o.weights_path, layout,
                                       {.drop_index_column = o.csv_index_col});
    } catch (const cldyn::tools::InputUsageError& e) {
      throw UsageError(e.what());
    }
  }();
  const Eigen::MatrixXd& w = inputs.w;
  const Eigen::Index n = inputs.batch.size(), d = inputs.batch.dim(), kk = w.cols();
  // Both views: the view-1 form of the loss on the doubled batch ([X; X'], [X'; X]) is the
  // symmetric loss (docs/theory.md, "Matching your training to cldyn").
  const std::optional<cldyn::TwoViewBatch> doubled =
      both ? std::optional(cldyn::symmetric_batch(inputs.batch)) : std::nullopt;
  const cldyn::TwoViewBatch& batch = both ? *doubled : inputs.batch;
  const cldyn::Loss effective_loss = both ? cldyn::symmetric_form(loss) : loss;
  const Eigen::Index m = batch.size();  // samples of the batch the energy is defined on

  const bool alpha_wanted = !o.no_alpha;
  const bool alpha_inline = alpha_wanted && !arrays.to_files();
  cldyn::analysis::OneLayerAnalysisOptions analysis_options;
  analysis_options.hessian = raw && !o.no_hessian;
  analysis_options.gated_covariance = raw;
  {
    // Refuse up front what cannot fit. The streamed analysis needs a few row blocks; an alpha
    // written into the JSON costs ~24 bytes an entry as a value and ~25 as text, next to its
    // 8-byte matrix; the normalised-distance evaluation is dense (a few N x N matrices).
    double need = raw ? cldyn::analysis::analyze_one_layer_peak_bytes(m, d, kk, analysis_options)
                      : 80.0 * static_cast<double>(m) * static_cast<double>(m);
    if (alpha_inline) need += 60.0 * static_cast<double>(m) * static_cast<double>(m);
    need += 100.0 * (2.0 * static_cast<double>(kk) + 1.0) * static_cast<double>(d) *
            static_cast<double>(d) * (arrays.to_files() ? 0.1 : 1.0);
    need += 64.0 * 1024 * 1024;
    const double have = physical_memory_bytes();
    if (have > 0.0 && need > have)
      throw std::runtime_error(
          "N = " + std::to_string(n) + ", d = " + std::to_string(d) + ", K = " +
          std::to_string(kk) + " (views '" + o.views[0] + "', weights '" + o.weights_path +
          "') need an estimated " + gigabytes(need) +
          " of memory (alpha is N x N, gated_covariance and loss_hessian are K d x d matrices; "
          "--arrays DIR with --no-alpha keeps alpha out of memory) but this machine has " +
          gigabytes(have));
  }

  // ---- analysis ----------------------------------------------------------------------------------
  const cldyn::OneLayerNetwork net(w, activation);
  json out;
  out["tool"] = kProgram;
  out["version"] = cldyn::version;
  out["git_hash"] = cldyn::git_hash;
  out["inputs"] = {{"views", o.views}, {"weights", o.weights_path}};
  out["parameters"] = {{"activation", activation.name()},
                       {"loss", o.loss_text},
                       {"loss_name", loss.name()},
                       {"tau", infonce ? json(o.tau) : json(nullptr)},
                       {"eps", infonce ? json(o.eps) : json(nullptr)},
                       {"negatives", both ? "both" : "view1"},
                       {"distance", raw ? "raw" : "normalized"},
                       {"weights_layout", layout == cldyn::tools::WeightsLayout::Kd ? "Kd" : "dK"},
                       {"top_tolerance", o.top_tol},
                       {"top_k", o.top_k}};
  out["shape"] = {{"N", n}, {"d", d}, {"K", kk}, {"M", m}};
  out["definitions"] = {
      {"M", "samples of the batch alpha and E are defined on: N (negatives view1), 2N (both: "
            "the doubled batch [X; X'], [X'; X])"},
      {"alpha", "pairwise importance alpha(W) of the loss (M x M, zero diagonal; with both views "
                "also zero at each anchor's partner (a, a +- N))"},
      {"energy", "E_alpha(W) = 1/2 tr C_alpha[f], alpha at W (f normalised with --distance normalized)"},
      {"energy_gradient", "grad_W E_alpha with alpha frozen (d x K); with raw distances column k = A(w_k) w_k"},
      {"loss_gradient", "grad_W L with alpha differentiated (d x K) = -2 M^2 energy_gradient"},
      {"loss_hessian", "K matrices d x d: Hessian of L in w_k, alpha differentiated, gates constant"},
      {"gate_margin", "min over samples of |x'w_k|/(||x|| ||w_k||); Hessians assume no gate flips"},
      {"eigen_residual", "max_i ||A v_i - lambda_i v_i|| / ||A||_F over the eigenpairs of A(w_k)"},
      {"rayleigh_residual", "||A u - rho u|| / ||A||_2 with u = w_k/||w_k||"},
      {"top_eigenvectors", "K x top_k x d: the top_k unit eigenvectors of each A(w_k), largest first (sign arbitrary)"},
      {"cos_top_eigenvector", "|u' v_1|: cosine of w_k with the top eigenvector of A(w_k)"},
      {"is_top", kIsTopDefinition}};
  out["is_top_definition"] = kIsTopDefinition;

  if (raw) {
    // α rows stream into their .npy (or into one matrix for the JSON) as they are produced.
    std::unique_ptr<cldyn::tools::NpyRowWriter> alpha_file;
    Eigen::MatrixXd alpha_matrix;
    if (alpha_wanted) {
      if (arrays.to_files())
        alpha_file = std::make_unique<cldyn::tools::NpyRowWriter>(arrays.path("alpha"), m, m);
      else
        alpha_matrix.resize(m, m);
      analysis_options.alpha_sink = [&](Eigen::Index row0, const Eigen::Ref<const Eigen::MatrixXd>& rows) {
        Eigen::MatrixXd block = rows;
        if (both)  // the partner entries multiply exactly zero terms: reported as 0
          for (Eigen::Index i = 0; i < block.rows(); ++i) block(i, (row0 + i + n) % m) = 0.0;
        if (alpha_file)
          alpha_file->append(block);
        else
          alpha_matrix.middleRows(row0, block.rows()) = block;
      };
    }
    analysis_options.progress = progress_printer();
    const cldyn::analysis::OneLayerAnalysis a =
        cldyn::analysis::analyze_one_layer(net, batch, effective_loss, analysis_options);
    if (alpha_file) {
      alpha_file->commit();
      out["alpha"] = arrays.reference("alpha", {m, m});
    } else if (alpha_wanted) {
      out["alpha"] = rows_of(alpha_matrix);
    }
    out["energy"] = a.energy;
    out["loss"] = a.loss;
    out["input_covariance"] = arrays.matrix("input_covariance", a.input_covariance);
    out["gated_covariance"] = arrays.stack("gated_covariance", a.gated_covariance);
    out["energy_gradient"] = arrays.matrix("energy_gradient", a.energy_gradient);
    out["loss_gradient"] = arrays.matrix("loss_gradient", a.loss_gradient);
    if (analysis_options.hessian) out["loss_hessian"] = arrays.stack("loss_hessian", a.loss_hessian);
    json nodes = json::array();
    std::vector<Eigen::MatrixXd> vectors(static_cast<std::size_t>(kk));
    for (Eigen::Index k = 0; k < kk; ++k)
      nodes.push_back(node_report(batch, a.gated_covariance[static_cast<std::size_t>(k)], w.col(k),
                                  k, o.top_tol, o.top_k, vectors[static_cast<std::size_t>(k)]));
    if (o.top_k > 0) out["top_eigenvectors"] = arrays.stack("top_eigenvectors", vectors, true);
    out["nodes"] = std::move(nodes);
  } else {
    // Normalised distances: the loss, α, E and both gradients (Identity A holds); A(w), the
    // Hessians and the node diagnostics belong to raw distances (Identity B) and are left out.
    const cldyn::ConventionEvaluation e = cldyn::evaluate(net, inputs.batch, loss, convention);
    if (alpha_wanted) out["alpha"] = arrays.matrix("alpha", e.alpha.matrix());
    out["energy"] = e.energy;
    out["loss"] = e.loss;
    out["energy_gradient"] = arrays.matrix("energy_gradient", e.energy_gradient);
    out["loss_gradient"] = arrays.matrix("loss_gradient", e.loss_gradient);
    out["nodes"] = nullptr;
    out["nodes_note"] =
        "--distance normalized: Identity B (grad E = A(w) w) does not hold, so A(w_k), the loss "
        "Hessians, is_top and the fixed-point analysis are not reported";
  }

  std::optional<cldyn::analysis::CertifiedSearch> found;
  if (o.find_fixed_points) {
    cldyn::analysis::CertifiedSearchOptions search;
    search.random_starts = o.starts;
    search.seed = o.seed;
    search.tolerance = o.fp_tol;
    const cldyn::analysis::SampleLandscape landscape(batch, activation, effective_loss);
    found = cldyn::analysis::certified_fixed_points(landscape, w, search);
    out["fixed_points"] = cldyn::tools::fixed_point_json(*found, w);
  }

  // Non-finite numbers (none are expected from finite inputs) would be written as null.
  const std::string text = out.dump() + "\n";
  if (o.json_path.empty()) {
    std::cout << text << std::flush;
    if (!std::cout) throw std::runtime_error("cannot write the JSON to standard output");
  } else {
    cldyn::tools::write_file_atomically(o.json_path, text);
    if (!o.quiet)
      std::cout << summary(out, arrays, o.json_path, found, w) << std::flush;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << kProgram << ": error: " << one_line(e.what()) << " (see --help)\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << kProgram << ": error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": error: " << one_line(e.what()) << "\n";
    return 1;
  } catch (...) {
    std::cerr << kProgram << ": error: unknown exception\n";
    return 1;
  }
}
