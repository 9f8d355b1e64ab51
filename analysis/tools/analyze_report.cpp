// The analysis behind cldyn-analyze (analyze_report.hpp): validation of the request, the
// streamed one-layer analysis, the per-node diagnostics and the JSON document.
#include "analyze_report.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>

#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/one_layer_analysis.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/version.hpp"
#include "fixed_point_report.hpp"
#include "npy.hpp"

namespace cldyn::tools {

const char* const kIsTopDefinition =
    "is_top = (||w|| > 0) and ||A u - rho u|| <= tol*||A||_2 and rho >= lambda_1 - tol*||A||_2, "
    "where A = A(w_k) = gated_covariance[k], u = w_k/||w_k||, rho = u'Au (= rayleigh), "
    "lambda_1 = top eigenvalue of A, ||A||_2 = max |eigenvalue of A| and tol = top_tolerance: "
    "w_k is (to tol) an eigenvector of the matrix it induces, with the largest eigenvalue "
    "(if A = 0, e.g. a dead ReLU node, every w_k is trivially top: check top_eigenvalues)";

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

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

/// min over both views and samples of |xᵀw| / (‖x‖·‖w‖), samples with x = 0 skipped: how far
/// the batch is from a gate boundary of w (the Hessians hold gates constant). +inf if no sample
/// counts, 0 if w = 0.
double gate_margin(const TwoViewBatch& batch, const Eigen::Ref<const Eigen::VectorXd>& w) {
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
json node_report(const TwoViewBatch& batch, const Eigen::MatrixXd& a,
                 const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index k, double tol,
                 Eigen::Index top_k, Eigen::MatrixXd& vectors) {
  const Eigen::Index d = a.rows();
  json node;
  node["index"] = k;
  const double wn = w.norm();
  node["w_norm"] = wn;
  node["gate_margin"] = gate_margin(batch, w);
  // All d eigenpairs (dense): ‖A‖_2 needs the bottom one too; the report keeps the top min(5, d).
  const analysis::EigenResult eig = analysis::top_eigenpairs(a, d);
  node["eigen_status"] = std::string(to_string(eig.status));
  vectors = Eigen::MatrixXd::Constant(d, std::min(top_k, d), std::numeric_limits<double>::quiet_NaN());
  if (eig.status != Status::success) {
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

struct Parsed {
  Activation activation;
  Loss loss;
  Convention convention;
};

Parsed parse(const AnalyzeRequest& r) {
  Activation activation = Activation::linear();
  try {
    activation = Activation::parse(r.activation);
  } catch (const std::invalid_argument& e) {
    throw AnalyzeUsageError(std::string("--activation: ") + e.what());
  }
  if (r.loss != "quadratic" && r.loss != "infonce")
    throw AnalyzeUsageError("--loss: '" + r.loss + "' is not one of quadratic | infonce");
  const bool infonce = r.loss == "infonce";
  const double eps = r.eps.value_or(1.0);
  std::optional<Loss> loss;
  if (infonce) {
    if (!r.tau) throw AnalyzeUsageError("--tau is required with --loss infonce");
    if (!(std::isfinite(*r.tau) && *r.tau > 0.0))
      throw AnalyzeUsageError("--tau = " + shortest(*r.tau) + " violates tau > 0");
    if (!(std::isfinite(eps) && eps >= 0.0)) throw AnalyzeUsageError("--eps = " + shortest(eps) + " violates eps >= 0");
    loss = Loss::infonce(*r.tau, eps);
  } else {
    if (r.tau || r.eps) throw AnalyzeUsageError("--tau and --eps apply only to --loss infonce");
    loss = Loss::quadratic();
  }
  Convention convention;
  try {
    convention.negatives = parse_negatives(r.negatives);
    convention.distance = parse_distance(r.distance);
  } catch (const std::invalid_argument& e) {
    throw AnalyzeUsageError(e.what());
  }
  const bool both = convention.negatives == Negatives::both_views;
  const bool raw = convention.distance == Distance::raw;
  if (both && infonce && eps < 1.0)
    throw AnalyzeUsageError("--eps = " + shortest(eps) +
                            " violates eps >= 1 with --negatives both (each anchor's partner is counted "
                            "once among the other 2N - 1 samples; eps = 1 is NT-Xent)");
  if (r.weights_layout != "dK" && r.weights_layout != "Kd")
    throw AnalyzeUsageError("--weights-layout: '" + r.weights_layout + "' is not one of dK | Kd");
  if (!(std::isfinite(r.top_tolerance) && r.top_tolerance > 0.0))
    throw AnalyzeUsageError("--top-tol = " + shortest(r.top_tolerance) + " violates tol > 0");
  if (r.top_k < 0) throw AnalyzeUsageError("--top-k = " + std::to_string(r.top_k) + " violates k >= 0");
  if (r.starts < 0) throw AnalyzeUsageError("--starts = " + std::to_string(r.starts) + " violates starts >= 0");
  if (!(std::isfinite(r.fixed_point_tolerance) && r.fixed_point_tolerance > 0.0))
    throw AnalyzeUsageError("--fp-tol = " + shortest(r.fixed_point_tolerance) + " violates tol > 0");
  if (r.find_fixed_points && !raw)
    throw AnalyzeUsageError("--find-fixed-points needs --distance raw (fixed points A(w)w = lambda w "
                            "are defined for raw distances only)");
  return {activation, *loss, convention};
}

}  // namespace

void validate(const AnalyzeRequest& request) { (void)parse(request); }

std::string ArraySink::path(const std::string& name) const { return (fs::path(dir_) / (name + ".npy")).string(); }

json ArraySink::reference(const std::string& name, std::vector<Eigen::Index> shape) {
  written_.push_back(path(name));
  return json{{"npy", path(name)}, {"shape", shape}};
}

json ArraySink::matrix(const std::string& name, const Eigen::Ref<const Eigen::MatrixXd>& m) {
  switch (mode_) {
    case Mode::inline_json: return rows_of(m);
    case Mode::memory: arrays_[name] = Array{{Eigen::MatrixXd(m)}, false}; return json{{"array", name}};
    case Mode::files: break;
  }
  save_npy(path(name), m);
  return reference(name, {m.rows(), m.cols()});
}

json ArraySink::stack(const std::string& name, const std::vector<Eigen::MatrixXd>& ms, bool transpose) {
  if (mode_ == Mode::inline_json) {
    json out = json::array();
    for (const Eigen::MatrixXd& m : ms) out.push_back(transpose ? rows_of(m.transpose()) : rows_of(m));
    return out;
  }
  if (mode_ == Mode::memory) {
    Array a{{}, true};
    for (const Eigen::MatrixXd& m : ms) a.matrices.push_back(transpose ? Eigen::MatrixXd(m.transpose()) : m);
    arrays_[name] = std::move(a);
    return json{{"array", name}};
  }
  const Eigen::Index r = ms.empty() ? 0 : (transpose ? ms[0].cols() : ms[0].rows());
  const Eigen::Index c = ms.empty() ? 0 : (transpose ? ms[0].rows() : ms[0].cols());
  const std::vector<Eigen::Index> shape = {static_cast<Eigen::Index>(ms.size()), r, c};
  NpyRowWriter file(path(name), shape[0] * r, c, shape);
  for (const Eigen::MatrixXd& m : ms) {
    if (transpose)
      file.append(m.transpose());
    else
      file.append(m);
  }
  file.commit();
  return reference(name, shape);
}

double analyze_report_peak_bytes(Eigen::Index n, Eigen::Index d, Eigen::Index kk, const AnalyzeRequest& request,
                                 const ArraySink& arrays) {
  // The streamed analysis needs a few row blocks; an alpha written into the JSON costs ~24 bytes
  // an entry as a value and ~25 as text, next to its 8-byte matrix; the normalised-distance
  // evaluation is dense (a few N x N matrices).
  const Parsed p = parse(request);
  const bool raw = p.convention.distance == Distance::raw;
  const Eigen::Index m = p.convention.negatives == Negatives::both_views ? 2 * n : n;
  analysis::OneLayerAnalysisOptions options;
  options.hessian = raw && request.hessian;
  options.gated_covariance = raw;
  const double mm = static_cast<double>(m) * static_cast<double>(m);
  double need = raw ? analysis::analyze_one_layer_peak_bytes(m, d, kk, options) : 80.0 * mm;
  if (request.alpha && !arrays.to_files()) need += 60.0 * mm;
  need += 100.0 * (2.0 * static_cast<double>(kk) + 1.0) * static_cast<double>(d) * static_cast<double>(d) *
          (arrays.to_files() ? 0.1 : 1.0);
  return need + 64.0 * 1024 * 1024;
}

AnalyzeReport analyze_report(const TwoViewBatch& views, const Eigen::MatrixXd& w, const AnalyzeRequest& request,
                             ArraySink& arrays) {
  const Parsed p = parse(request);
  const Activation& activation = p.activation;
  const Loss& loss = p.loss;
  const bool infonce = request.loss == "infonce";
  const bool both = p.convention.negatives == Negatives::both_views;
  const bool raw = p.convention.distance == Distance::raw;
  require(w.rows() == views.dim(), "analyze_report", "rows of W", w.rows(),
          "== d = " + std::to_string(views.dim()) + " (the views' columns)");
  const Eigen::Index n = views.size(), d = views.dim(), kk = w.cols();
  // Both views: the view-1 form of the loss on the doubled batch ([X; X'], [X'; X]) is the
  // symmetric loss (docs/theory.md, "Matching your training to cldyn").
  const std::optional<TwoViewBatch> doubled = both ? std::optional(symmetric_batch(views)) : std::nullopt;
  const TwoViewBatch& batch = both ? *doubled : views;
  const Loss effective_loss = both ? symmetric_form(loss) : loss;
  const Eigen::Index m = batch.size();  // samples of the batch the energy is defined on
  analysis::OneLayerAnalysisOptions analysis_options;
  analysis_options.hessian = raw && request.hessian;
  analysis_options.gated_covariance = raw;

  const OneLayerNetwork net(w, activation);
  AnalyzeReport report;
  json& out = report.json;
  out["tool"] = "cldyn-analyze";
  out["version"] = version;
  out["git_hash"] = git_hash;
  out["inputs"] = request.inputs;
  out["parameters"] = {{"activation", activation.name()},
                       {"loss", request.loss},
                       {"loss_name", loss.name()},
                       {"tau", infonce ? json(*request.tau) : json(nullptr)},
                       {"eps", infonce ? json(request.eps.value_or(1.0)) : json(nullptr)},
                       {"negatives", both ? "both" : "view1"},
                       {"distance", raw ? "raw" : "normalized"},
                       {"weights_layout", request.weights_layout},
                       {"top_tolerance", request.top_tolerance},
                       {"top_k", request.top_k}};
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
    // α rows stream into their .npy (or into one matrix) as they are produced.
    std::unique_ptr<NpyRowWriter> alpha_file;
    Eigen::MatrixXd alpha_matrix;
    if (request.alpha) {
      if (arrays.to_files())
        alpha_file = std::make_unique<NpyRowWriter>(arrays.path("alpha"), m, m);
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
    analysis_options.progress = request.progress;
    const analysis::OneLayerAnalysis a =
        analysis::analyze_one_layer(net, batch, effective_loss, analysis_options);
    if (alpha_file) {
      alpha_file->commit();
      out["alpha"] = arrays.reference("alpha", {m, m});
    } else if (request.alpha) {
      out["alpha"] = arrays.matrix("alpha", alpha_matrix);
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
                                  k, request.top_tolerance, request.top_k, vectors[static_cast<std::size_t>(k)]));
    if (request.top_k > 0) out["top_eigenvectors"] = arrays.stack("top_eigenvectors", vectors, true);
    out["nodes"] = std::move(nodes);
  } else {
    // Normalised distances: the loss, α, E and both gradients (Identity A holds); A(w), the
    // Hessians and the node diagnostics belong to raw distances (Identity B) and are left out.
    const ConventionEvaluation e = evaluate(net, views, loss, p.convention);
    if (request.alpha) out["alpha"] = arrays.matrix("alpha", e.alpha.matrix());
    out["energy"] = e.energy;
    out["loss"] = e.loss;
    out["energy_gradient"] = arrays.matrix("energy_gradient", e.energy_gradient);
    out["loss_gradient"] = arrays.matrix("loss_gradient", e.loss_gradient);
    out["nodes"] = nullptr;
    out["nodes_note"] =
        "--distance normalized: Identity B (grad E = A(w) w) does not hold, so A(w_k), the loss "
        "Hessians, is_top and the fixed-point analysis are not reported";
  }

  if (request.find_fixed_points) {
    analysis::CertifiedSearchOptions search;
    search.random_starts = request.starts;
    search.seed = request.seed;
    search.tolerance = request.fixed_point_tolerance;
    search.infonce_kinks = request.infonce_kinks;
    const analysis::SampleLandscape landscape(batch, activation, effective_loss);
    report.fixed_points = analysis::certified_fixed_points(landscape, w, search);
    out["fixed_points"] = fixed_point_json(*report.fixed_points, w);
    out["fixed_points"]["infonce_kinks"] = request.infonce_kinks;
  }

  return report;
}

}  // namespace cldyn::tools
