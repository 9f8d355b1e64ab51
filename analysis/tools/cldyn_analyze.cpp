// cldyn-analyze: the one-layer analysis of theory §1–§3 on a user's data, written as JSON.
//
//   cldyn-analyze --views X.npy Xp.npy --weights W.npy --activation relu --loss infonce
//       --tau 0.5 --eps 1 --json out.json
//
// Views X, X' are N × d, weights W are d × K: NPY (float32 or float64, C or Fortran order) or
// CSV (comma-separated numbers, optional header row), chosen by the extension .npy / .csv.
// Every quantity is evaluated at W with α = α(W) of the chosen loss (design.md, "cldyn-analyze").
// Exit status: 0 success, 2 usage error (options, parameters), 1 data error (files, shapes,
// values) or numerical failure; every error is one line "cldyn-analyze: error: <message>".
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/batch.hpp"
#include "cldyn/loss.hpp"
#include "cldyn/one_layer.hpp"
#include "cldyn/version.hpp"
#include "csv.hpp"
#include "npy.hpp"

namespace {

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

/// Bytes the run is estimated to need at its peak for N samples, dimension d and K nodes.
/// Per entry of an N x N matrix: alpha (8 bytes) and its JSON value (16) live to the end, next
/// to either the N x N temporaries of the loss evaluation and of loss_hessian (up to ~6 x 8) or
/// the JSON text (~25 characters a number): ~80 bytes. Per entry of each of the 2K + 1 d x d
/// matrices (gated covariance, loss Hessian, input covariance) with temporaries, JSON values
/// and text: ~100 bytes; likewise per entry of the N x d and d x K inputs and outputs. A rough
/// upper estimate: it only has to tell "fits" from "cannot possibly fit".
double estimated_peak_bytes(double n, double d, double k) {
  return 80.0 * n * n + 100.0 * (2.0 * k + 1.0) * d * d + 100.0 * (4.0 * n * d + 4.0 * d * k) +
         64.0 * 1024 * 1024;
}

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

std::string shape_of(const Eigen::MatrixXd& m) {
  return std::to_string(m.rows()) + "x" + std::to_string(m.cols());
}

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

json node_report(const cldyn::TwoViewBatch& batch, const Eigen::MatrixXd& a,
                 const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index k, double tol) {
  const Eigen::Index d = a.rows();
  json node;
  node["index"] = k;
  const double wn = w.norm();
  node["w_norm"] = wn;
  node["gate_margin"] = gate_margin(batch, w);
  // All d eigenpairs (dense): ‖A‖_2 needs the bottom one too; the report keeps the top min(5, d).
  const cldyn::analysis::EigenResult eig = cldyn::analysis::top_eigenpairs(a, d);
  node["eigen_status"] = std::string(cldyn::to_string(eig.status));
  if (eig.status != cldyn::Status::success) {
    node["rayleigh"] = wn > 0.0 ? json(w.dot(a * w) / (wn * wn)) : json(nullptr);
    node["top_eigenvalues"] = nullptr;
    node["eigengap"] = nullptr;
    node["eigen_residual"] = nullptr;
    node["is_top"] = nullptr;
    return node;
  }
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
  node["is_top"] = residual <= tol * spectral_norm && rho >= eig.values(0) - tol * spectral_norm;
  return node;
}

int run(int argc, char** argv) {
  CLI::App app{
      "cldyn-analyze: contrastive-learning analysis of a one-layer network on your data "
      "(theory sections 1-3). Evaluates at W, with alpha = alpha(W) of the chosen loss: alpha, "
      "energy, loss, input_covariance C_alpha[x], gated_covariance A(w_k), energy_gradient "
      "(alpha frozen), loss_gradient, loss_hessian (alpha differentiated, gates constant) and "
      "per node rayleigh, top_eigenvalues, eigengap, eigen_residual, is_top. Definition: " +
          std::string(kIsTopDefinition) +
          ". Input files by extension: .npy (float32 or float64, C or Fortran order, 1-D or "
          "2-D) or .csv (comma-separated numbers, one row per line, optional header row, "
          "every value finite). Runs whose estimated memory exceeds the machine's are refused "
          "before any large allocation. Exit status: 0 ok, 2 usage error, 1 data error.",
      kProgram};
  std::vector<std::string> views;
  std::string weights_path, activation_text, loss_text, json_path;
  double tau = 0.0, eps = 1.0, top_tol = kDefaultTopTolerance;
  app.add_option("--views", views,
                 "the two views X and X' (N x d each, N >= 2; .npy or .csv, see below)")
      ->expected(2)
      ->required();
  app.add_option("--weights", weights_path,
                 "weights W (d x K; .npy or .csv; a 1-D array or one column is one node)")
      ->required();
  app.add_option("--activation", activation_text,
                 "linear | relu | leaky:GAMMA (GAMMA a finite slope, e.g. leaky:0.1)")
      ->required();
  app.add_option("--loss", loss_text, "quadratic | infonce")
      ->required()
      ->check(CLI::IsMember({"quadratic", "infonce"}));
  CLI::Option* tau_opt = app.add_option("--tau", tau, "InfoNCE temperature (> 0; no default: required with --loss infonce, refused with quadratic)");
  CLI::Option* eps_opt =
      app.add_option("--eps", eps, "InfoNCE weight of the positive pair (>= 0, default 1; only with --loss infonce)");
  app.add_option("--top-tol", top_tol,
                 "relative tolerance tol of is_top (> 0, default 1e-8; see the definition above)");
  app.add_option("--json", json_path, "output JSON file, written atomically (default: stdout)");
  app.set_version_flag("--version", std::string(cldyn::version) + " (" + cldyn::git_hash + ")");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion&) {  // CLI11 2.1 would print it without a newline
    std::cout << kProgram << " " << cldyn::version << " (" << cldyn::git_hash << ")\n";
    return 0;
  } catch (const CLI::Success& e) {  // --help
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }

  cldyn::Activation activation = cldyn::Activation::linear();
  try {
    activation = cldyn::Activation::parse(activation_text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--activation: ") + e.what());
  }
  const bool infonce = loss_text == "infonce";
  std::optional<cldyn::Loss> loss_opt;
  if (infonce) {
    if (tau_opt->count() == 0) throw UsageError("--tau is required with --loss infonce");
    if (!(std::isfinite(tau) && tau > 0.0))
      throw UsageError("--tau = " + cldyn::shortest(tau) + " violates tau > 0");
    if (!(std::isfinite(eps) && eps >= 0.0))
      throw UsageError("--eps = " + cldyn::shortest(eps) + " violates eps >= 0");
    loss_opt = cldyn::Loss::infonce(tau, eps);
  } else {
    if (tau_opt->count() > 0 || eps_opt->count() > 0)
      throw UsageError("--tau and --eps apply only to --loss infonce");
    loss_opt = cldyn::Loss::quadratic();
  }
  const cldyn::Loss& loss = *loss_opt;
  if (!(std::isfinite(top_tol) && top_tol > 0.0))
    throw UsageError("--top-tol = " + cldyn::shortest(top_tol) + " violates tol > 0");

  // ---- data (errors here exit 1) -------------------------------------------------------------
  cldyn::TwoViewBatch batch{cldyn::tools::load_matrix(views[0]),
                            cldyn::tools::load_matrix(views[1])};
  const Eigen::MatrixXd w = cldyn::tools::load_matrix(weights_path);
  if (batch.x.rows() != batch.x_prime.rows() || batch.x.cols() != batch.x_prime.cols())
    throw std::runtime_error("views '" + views[0] + "' (" + shape_of(batch.x) + ") and '" +
                             views[1] + "' (" + shape_of(batch.x_prime) +
                             ") differ in shape; both must be N x d");
  if (batch.size() < 2)
    throw std::runtime_error("views '" + views[0] + "' have N = " + std::to_string(batch.size()) +
                             " samples (rows); need N >= 2");
  if (batch.dim() < 1)
    throw std::runtime_error("views '" + views[0] + "' have d = 0 columns; need d >= 1");
  if (w.rows() != batch.dim())
    throw std::runtime_error("weights '" + weights_path + "' (" + shape_of(w) + ") have " +
                             std::to_string(w.rows()) + " rows but the views have d = " +
                             std::to_string(batch.dim()) + " columns; W must be d x K");
  if (w.cols() < 1)
    throw std::runtime_error("weights '" + weights_path + "' have K = 0 columns; need K >= 1");
  {
    // Refuse up front what cannot fit: alpha is N x N and there are 2K + 1 d x d matrices.
    const double need = estimated_peak_bytes(static_cast<double>(batch.size()),
                                             static_cast<double>(batch.dim()),
                                             static_cast<double>(w.cols()));
    const double have = physical_memory_bytes();
    if (have > 0.0 && need > have)
      throw std::runtime_error(
          "N = " + std::to_string(batch.size()) + ", d = " + std::to_string(batch.dim()) +
          ", K = " + std::to_string(w.cols()) + " (views '" + views[0] + "', weights '" +
          weights_path + "') need an estimated " + gigabytes(need) +
          " of memory (alpha is N x N, gated_covariance and loss_hessian are K d x d matrices) "
          "but this machine has " + gigabytes(have));
  }

  // ---- analysis ----------------------------------------------------------------------------------
  const cldyn::OneLayerNetwork net(w, activation);
  const Eigen::Index n = batch.size(), d = batch.dim(), kk = net.width();
  const cldyn::LossEvaluation evaluation =
      loss.evaluate(net.forward(batch.x), net.forward(batch.x_prime));
  const cldyn::PairwiseImportance& alpha = evaluation.alpha;

  json out;
  out["tool"] = kProgram;
  out["version"] = cldyn::version;
  out["git_hash"] = cldyn::git_hash;
  out["inputs"] = {{"views", views}, {"weights", weights_path}};
  out["parameters"] = {{"activation", activation.name()},
                       {"loss", loss_text},
                       {"loss_name", loss.name()},
                       {"tau", infonce ? json(tau) : json(nullptr)},
                       {"eps", infonce ? json(eps) : json(nullptr)},
                       {"top_tolerance", top_tol}};
  out["shape"] = {{"N", n}, {"d", d}, {"K", kk}};
  out["definitions"] = {
      {"alpha", "pairwise importance alpha(W) of the loss (N x N, zero diagonal)"},
      {"energy", "E_alpha(W) = 1/2 tr C_alpha[f], alpha at W"},
      {"energy_gradient", "grad_W E_alpha with alpha frozen (d x K); column k = A(w_k) w_k"},
      {"loss_gradient", "grad_W L with alpha differentiated (d x K) = -2 N^2 energy_gradient"},
      {"loss_hessian", "K matrices d x d: Hessian of L in w_k, alpha differentiated, gates constant"},
      {"gate_margin", "min over samples of |x'w_k|/(||x|| ||w_k||); Hessians assume no gate flips"},
      {"eigen_residual", "max_i ||A v_i - lambda_i v_i|| / ||A||_F over the eigenpairs of A(w_k)"},
      {"rayleigh_residual", "||A u - rho u|| / ||A||_2 with u = w_k/||w_k||"},
      {"is_top", kIsTopDefinition}};
  out["is_top_definition"] = kIsTopDefinition;
  out["alpha"] = rows_of(alpha.matrix());
  out["energy"] = net.energy(batch, alpha);
  out["loss"] = evaluation.value;
  out["input_covariance"] = rows_of(cldyn::analysis::input_covariance(batch, alpha));
  json gated = json::array(), hessians = json::array(), nodes = json::array();
  for (Eigen::Index k = 0; k < kk; ++k) {
    const Eigen::MatrixXd a = cldyn::analysis::frozen_alpha_jacobian(net, batch, alpha, k);
    gated.push_back(rows_of(a));
    hessians.push_back(rows_of(cldyn::analysis::loss_hessian(net, batch, loss, k)));
    nodes.push_back(node_report(batch, a, w.col(k), k, top_tol));
  }
  out["gated_covariance"] = std::move(gated);
  out["energy_gradient"] = rows_of(net.energy_gradient(batch, alpha));
  out["loss_gradient"] = rows_of(net.loss_gradient(batch, loss));
  out["loss_hessian"] = std::move(hessians);
  out["nodes"] = std::move(nodes);

  // Non-finite numbers (none are expected from finite inputs) would be written as null.
  const std::string text = out.dump() + "\n";
  if (json_path.empty()) {
    std::cout << text << std::flush;
    if (!std::cout) throw std::runtime_error("cannot write the JSON to standard output");
  } else {
    cldyn::tools::write_file_atomically(json_path, text);
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
