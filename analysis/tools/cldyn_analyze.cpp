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
#include <initializer_list>
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
#include "analyze_report.hpp"
#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/convention.hpp"
#include "cldyn/models/one_layer.hpp"
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

/// Everything the command line says.
struct Options {
  std::vector<std::string> views;
  std::string weights_path, weights_layout_text, activation_text, loss_text, json_path, arrays_dir;
  std::string negatives_text = "view1", distance_text = "raw";
  double tau = 0.0, eps = 1.0, top_tol = cldyn::tools::kDefaultTopTolerance;
  Eigen::Index top_k = 3;
  bool csv_index_col = false, no_alpha = false, no_hessian = false, quiet = false;
  bool find_fixed_points = false;
  Eigen::Index starts = 64;
  std::uint64_t seed = 0;
  double fp_tol = 1e-8;
  bool infonce_kinks = true;
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

/// An option whose value must be one of `choices` (CLI11 refuses any other, listing them).
CLI::Option* add_choice(CLI::App& app, const std::string& flag, std::string& value, const std::string& help,
                        std::initializer_list<const char*> choices) {
  return app.add_option(flag, value, help)->check(CLI::IsMember(std::vector<const char*>(choices)));
}

void parse_command_line(int argc, char** argv, Options& o, CLI::App& app) {
  app.add_option("--views", o.views,
                 "the two views X and X' (N x d each, N >= 2; .npy or .csv, see below)")
      ->expected(2)
      ->required();
  app.add_option("--weights", o.weights_path,
                 "weights W (d x K by default; .npy or .csv; a 1-D array or one column is one node)")
      ->required();
  add_choice(app, "--weights-layout", o.weights_layout_text,
             "dK (d x K, a node per column) or Kd (K x d, a node per row: PyTorch "
             "nn.Linear.weight as saved). Required when W is square; default dK otherwise",
             {"dK", "Kd"});
  app.add_flag("--csv-index-col", o.csv_index_col,
               "drop column 1 of every CSV input (a row index, as pandas to_csv writes); without "
               "it such a column is refused");
  app.add_option("--activation", o.activation_text,
                 "linear | relu | leaky:GAMMA (GAMMA a finite slope, e.g. leaky:0.1)")
      ->required();
  add_choice(app, "--loss", o.loss_text, "quadratic | infonce", {"quadratic", "infonce"})->required();
  app.add_option("--tau", o.tau, "InfoNCE temperature (> 0; no default: required with --loss infonce, refused with quadratic)");
  app.add_option("--eps", o.eps, "InfoNCE weight of the positive pair (>= 0, default 1; >= 1 with --negatives both; only with --loss infonce)");
  add_choice(app, "--negatives", o.negatives_text,
             "view1 (default: anchors and negatives are view-1 samples, the theory's form) or "
             "both (NT-Xent / SimCLR: 2N anchors, 2N - 2 negatives each, symmetric loss)",
             {"view1", "both"});
  add_choice(app, "--distance", o.distance_text,
             "raw (default: d2 = |f_i - f_j|^2 / 2 on the outputs) or normalized (outputs "
             "l2-normalised first: cosine similarity). Identity B, A(w_k), is_top and the "
             "Hessians need raw",
             {"raw", "normalized"});
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
                 "a ReLU sample (quadratic loss, or InfoNCE with --infonce-kinks) the face "
                 "residual, the boundary margin and the smallest slack (docs/theory.md, 'Kink "
                 "maxima')");
  app.add_flag("--infonce-kinks,!--no-infonce-kinks", o.infonce_kinks,
               "with --loss infonce and a ReLU or leaky-ReLU activation, --find-fixed-points also "
               "certifies strict maxima on gate kinks (the active-set solver with a face Newton; "
               "docs/theory.md, 'Kink maxima'). On by default; --no-infonce-kinks certifies smooth "
               "points only");
  app.set_version_flag("--version", std::string(cldyn::version) + " (" + cldyn::git_hash + ")");
  app.parse(argc, argv);
}

/// One screen for a person: per node the Rayleigh residual, eigengap and is_top.
std::string summary(const json& out, const cldyn::tools::ArraySink& arrays, const std::string& json_path,
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
          std::string(cldyn::tools::kIsTopDefinition) +
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
  cldyn::tools::AnalyzeRequest request;
  request.activation = o.activation_text;
  request.loss = o.loss_text;
  if (app.get_option("--tau")->count() > 0) request.tau = o.tau;
  if (app.get_option("--eps")->count() > 0) request.eps = o.eps;
  request.negatives = o.negatives_text;
  request.distance = o.distance_text;
  request.top_tolerance = o.top_tol;
  request.top_k = o.top_k;
  request.alpha = !o.no_alpha;
  request.hessian = !o.no_hessian;
  request.find_fixed_points = o.find_fixed_points;
  request.starts = o.starts;
  request.seed = o.seed;
  request.fixed_point_tolerance = o.fp_tol;
  request.infonce_kinks = o.infonce_kinks;
  request.inputs = {{"views", o.views}, {"weights", o.weights_path}};
  request.progress = progress_printer();
  try {
    cldyn::tools::validate(request);
  } catch (const cldyn::tools::AnalyzeUsageError& e) {
    throw UsageError(e.what());
  }
  const cldyn::tools::WeightsLayout layout =
      o.weights_layout_text.empty() ? cldyn::tools::WeightsLayout::unspecified
                                    : cldyn::tools::parse_weights_layout(o.weights_layout_text);
  request.weights_layout = layout == cldyn::tools::WeightsLayout::Kd ? "Kd" : "dK";

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
  cldyn::tools::ArraySink arrays = o.arrays_dir.empty() ? cldyn::tools::ArraySink::inline_json()
                                                        : cldyn::tools::ArraySink::files(o.arrays_dir);

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
  {
    // Refuse up front what cannot fit.
    const double need = cldyn::tools::analyze_report_peak_bytes(n, d, kk, request, arrays);
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
  const cldyn::tools::AnalyzeReport report = cldyn::tools::analyze_report(inputs.batch, w, request, arrays);
  // Non-finite numbers (none are expected from finite inputs) would be written as null.
  const std::string text = report.json.dump() + "\n";
  if (o.json_path.empty()) {
    std::cout << text << std::flush;
    if (!std::cout) throw std::runtime_error("cannot write the JSON to standard output");
  } else {
    cldyn::tools::write_file_atomically(o.json_path, text);
    if (!o.quiet)
      std::cout << summary(report.json, arrays, o.json_path, report.fixed_points, w) << std::flush;
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
