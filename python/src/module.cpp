// The Python extension module cldyn._cldyn: NumPy in, NumPy out, over the same C++ library
// (no second implementation of any formula). docs/python.md is the user's guide; the package
// python/cldyn/__init__.py re-exports these functions with their docstrings. The analysis layer
// (gated covariance, population models and landscapes, stability, two-layer networks,
// co-linearity, global modulation) is bound in analysis.cpp; conversions live in convert.hpp.
//
// Conventions: views are N × d arrays, weights are d × K (or K × d with layout="Kd",
// PyTorch's nn.Linear.weight). Arguments the library takes as Eigen::Ref are read in place when
// they are float64 column-major (Fortran order; C order for layout="Kd" weights), every other
// array is converted once (convert.hpp, MatrixArg). Every call that can run long releases
// the GIL. C++ std::invalid_argument becomes ValueError with the same message as the CLI.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "analyze_report.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/train/token_experiment.hpp"
#include "cldyn/version.hpp"
#include "convert.hpp"
#include "fixed_point_report.hpp"

namespace py = pybind11;

namespace {

using namespace cldyn::python;

py::dict analyze(const py::handle& x, const py::handle& x_prime, const py::handle& w_obj, const std::string& activation,
                 const std::string& loss, std::optional<double> tau, std::optional<double> eps, const std::string& layout,
                 const std::string& negatives, const std::string& distance, double top_tolerance, Eigen::Index top_k,
                 bool alpha, bool hessian, bool find_fixed_points, Eigen::Index starts, std::uint64_t seed,
                 double fixed_point_tolerance, bool infonce_kinks) {
  cldyn::tools::AnalyzeRequest request;
  request.activation = activation;
  request.loss = loss;
  request.tau = tau;
  request.eps = eps;
  request.negatives = negatives;
  request.distance = distance;
  request.weights_layout = layout;
  request.top_tolerance = top_tolerance;
  request.top_k = top_k;
  request.alpha = alpha;
  request.hessian = hessian;
  request.find_fixed_points = find_fixed_points;
  request.starts = starts;
  request.seed = seed;
  request.fixed_point_tolerance = fixed_point_tolerance;
  request.infonce_kinks = infonce_kinks;
  request.inputs = {{"views", "numpy"}, {"weights", "numpy"}};
  const cldyn::TwoViewBatch batch = batch_of(x, x_prime);
  const Eigen::MatrixXd w = weights_of(w_obj, layout);
  cldyn::tools::ArraySink sink = cldyn::tools::ArraySink::memory();
  const cldyn::tools::AnalyzeReport report =
      without_gil([&] { return cldyn::tools::analyze_report(batch, w, request, sink); });
  return python_of(report.json, sink).cast<py::dict>();
}

py::dict token_run(int T, int K, int P, int G, int pattern_len, int aug_degree, int embedding_dim,
                   double magnitude_split, double beta, int p, const std::string& activation, bool bn,
                   bool bn_grad_mean, bool bn_grad_var, bool bias, bool output_activation, const std::string& loss,
                   double tau, double lr, double momentum, double wd, int batch, int steps, std::uint64_t seed,
                   std::optional<std::uint64_t> structure_seed, const std::string& precision, int log_every) {
  cldyn::TokenRunOptions o;
  o.data.num_tokens = T;
  o.data.num_positions = K;
  o.data.allowed_per_position = P;
  o.data.num_patterns = G;
  o.data.pattern_len = pattern_len;
  o.data.aug_degree = aug_degree;
  o.data.embedding_dim = embedding_dim;
  o.data.magnitude_split = magnitude_split;
  o.beta = beta;
  o.output_dim = p;
  o.activation = cldyn::Activation::parse(activation);
  require_one_of("loss", loss, "infonce", "quadratic");
  o.batch_norm = bn;
  o.bn_grad_mean = bn_grad_mean;
  o.bn_grad_var = bn_grad_var;
  o.bias = bias;
  o.output_activation = output_activation;
  o.loss.kind = loss == "infonce" ? cldyn::TokenLoss::infonce : cldyn::TokenLoss::quadratic;
  o.loss.tau = tau;
  o.learning_rate = lr;
  o.momentum = momentum;
  o.weight_decay = wd;
  o.batch_size = batch;
  o.steps = steps;
  o.seed = seed;
  o.structure_seed = structure_seed;
  require_one_of("precision", precision, "float", "double");
  o.double_precision = precision == "double";
  o.log_every = log_every;
  o.validate();
  const cldyn::TokenRunResult r = without_gil([&] { return cldyn::run_token_patterns(o); });
  py::dict out;
  out["status"] = std::string(cldyn::to_string(r.status));
  out["steps_completed"] = r.steps_completed;
  out["final_loss"] = r.final_loss;
  out["loc_all"] = r.locality.loc_all;
  out["loc_other_all"] = r.locality.loc_other_all;
  py::list loc, loc_other;
  for (std::size_t k = 0; k < r.locality.loc.size(); ++k) {
    loc.append(r.locality.loc[k] ? py::object(py::float_(*r.locality.loc[k])) : py::none());
    loc_other.append(r.locality.loc_other[k] ? py::object(py::float_(*r.locality.loc_other[k])) : py::none());
  }
  out["loc"] = loc;
  out["loc_other"] = loc_other;
  Eigen::MatrixXd curve(static_cast<Eigen::Index>(r.loss_curve.size()), 2);
  for (std::size_t i = 0; i < r.loss_curve.size(); ++i) {
    curve(static_cast<Eigen::Index>(i), 0) = r.loss_curve[i].first;
    curve(static_cast<Eigen::Index>(i), 1) = r.loss_curve[i].second;
  }
  out["loss_curve"] = curve;  // pybind11/eigen.h converts to NumPy
  out["weights"] = r.effective_first_layer;
  return out;
}

}  // namespace

PYBIND11_MODULE(_cldyn, m) {
  m.doc() = "cldyn: the training dynamics of contrastive learning (Tian, ICLR 2023), over the C++ library";
  m.attr("__version__") = cldyn::version;
  m.attr("git_hash") = cldyn::git_hash;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def(
      "contrastive_covariance",
      [](const py::handle& x, const py::handle& x_prime, const py::object& alpha) {
        const MatrixArg X(x, "X"), Xp(x_prime, "Xp");
        cldyn::validate_views(X.map(), Xp.map(), "cldyn");
        const cldyn::PairwiseImportance a = alpha_of(alpha, X.rows());
        py::gil_scoped_release release;
        return cldyn::contrastive_covariance(a, X.map(), Xp.map());
      },
      py::arg("X"), py::arg("Xp"), py::arg("alpha") = py::none(),
      "C_alpha[x] (d x d) of views X, Xp (N x d); alpha (N x N, zero diagonal) defaults to all ones.");

  // Functions of the outputs F, F' (N x p) under a loss: one conversion of the arguments each.
  auto bind_at_outputs = [&m](const char* name, auto fn, const char* doc) {
    m.def(
        name,
        [fn](const py::handle& f, const py::handle& f_prime, const std::string& loss, std::optional<double> tau,
             std::optional<double> eps) {
          const MatrixArg F(f, "F"), Fp(f_prime, "Fp");
          const cldyn::Loss l = loss_of(loss, tau, eps);
          py::gil_scoped_release release;
          return fn(l, F.map(), Fp.map());
        },
        py::arg("F"), py::arg("Fp"), py::arg("loss") = "quadratic", py::kw_only(), py::arg("tau") = py::none(),
        py::arg("eps") = py::none(), doc);
  };
  bind_at_outputs(
      "pairwise_importance",
      [](const cldyn::Loss& l, const auto& F, const auto& Fp) { return l.pairwise_importance(F, Fp).matrix(); },
      "alpha(F, Fp) (N x N) of the loss at outputs F, Fp (N x p).");
  bind_at_outputs(
      "loss_value", [](const cldyn::Loss& l, const auto& F, const auto& Fp) { return l.value(F, Fp); },
      "The loss at outputs F, Fp.");

  m.def(
      "one_layer_energy",
      [](const py::handle& x, const py::handle& x_prime, const py::handle& w, const std::string& activation,
         const py::object& alpha, const std::string& layout) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::OneLayerNetwork net(weights_of(w, layout), cldyn::Activation::parse(activation));
        const cldyn::PairwiseImportance a = alpha_of(alpha, b.size());
        const auto [energy, gradient] = energy_and_gradient(net, b, a);
        return py::make_tuple(energy, gradient);
      },
      py::arg("X"), py::arg("Xp"), py::arg("W"), py::arg("activation") = "linear", py::arg("alpha") = py::none(),
      py::arg("layout") = "dK",
      "(E_alpha(W), grad_W E_alpha (d x K)) of the one-layer network, alpha frozen (default all ones).");

  m.def(
      "one_layer_loss_gradient",
      [](const py::handle& x, const py::handle& x_prime, const py::handle& w, const std::string& activation,
         const std::string& loss, std::optional<double> tau, std::optional<double> eps, const std::string& layout) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::OneLayerNetwork net(weights_of(w, layout), cldyn::Activation::parse(activation));
        const cldyn::Loss l = loss_of(loss, tau, eps);
        py::gil_scoped_release release;
        return net.loss_gradient(b, l);
      },
      py::arg("X"), py::arg("Xp"), py::arg("W"), py::arg("activation") = "linear", py::arg("loss") = "quadratic",
      py::kw_only(), py::arg("tau") = py::none(), py::arg("eps") = py::none(), py::arg("layout") = "dK",
      "grad_W L (d x K) of the one-layer network, alpha differentiated.");

  m.def("analyze", &analyze, py::arg("X"), py::arg("Xp"), py::arg("W"), py::kw_only(), py::arg("activation"),
        py::arg("loss"), py::arg("tau") = py::none(), py::arg("eps") = py::none(), py::arg("layout") = "dK",
        py::arg("negatives") = "view1", py::arg("distance") = "raw",
        py::arg("top_tolerance") = cldyn::tools::kDefaultTopTolerance, py::arg("top_k") = 3, py::arg("alpha") = true,
        py::arg("hessian") = true, py::arg("find_fixed_points") = false, py::arg("starts") = 64,
        py::arg("seed") = 0, py::arg("fixed_point_tolerance") = 1e-8, py::arg("infonce_kinks") = true,
        "The analysis of cldyn-analyze at views X, Xp and weights W: a dict with the fields of its JSON.");

  m.def(
      "certified_fixed_points",
      [](const py::handle& x, const py::handle& x_prime, const std::string& activation, const std::string& loss,
         std::optional<double> tau, std::optional<double> eps, const py::object& w, const std::string& layout,
         Eigen::Index starts, std::uint64_t seed, double tolerance, bool infonce_kinks) {
        cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const Eigen::MatrixXd user = w.is_none() ? Eigen::MatrixXd(b.dim(), 0) : weights_of(w, layout);
        if (user.rows() != b.dim())
          throw std::invalid_argument("W has " + std::to_string(user.rows()) + " rows per node but the views have d = " +
                                      std::to_string(b.dim()) + " columns");
        cldyn::analysis::CertifiedSearchOptions options;
        options.random_starts = starts;
        options.seed = seed;
        options.tolerance = tolerance;
        options.infonce_kinks = infonce_kinks;
        options.validate();
        const cldyn::analysis::SampleLandscape landscape(std::move(b), cldyn::Activation::parse(activation),
                                                         loss_of(loss, tau, eps));
        cldyn::analysis::CertifiedSearch search;
        {
          py::gil_scoped_release release;
          search = cldyn::analysis::certified_fixed_points(landscape, user, options);
        }
        cldyn::tools::ArraySink sink = cldyn::tools::ArraySink::memory();
        return python_of(cldyn::tools::fixed_point_json(search, user), sink);
      },
      py::arg("X"), py::arg("Xp"), py::kw_only(), py::arg("activation"), py::arg("loss"), py::arg("tau") = py::none(),
      py::arg("eps") = py::none(), py::arg("W") = py::none(), py::arg("layout") = "dK", py::arg("starts") = 64,
      py::arg("seed") = 0, py::arg("tolerance") = 1e-8, py::arg("infonce_kinks") = false,
      "Certified fixed points of the one-node sample landscape (the fixed_points record of analyze);\n"
      "infonce_kinks=True also runs the active-set solver and kink certificate for ReLU / leaky ReLU\n"
      "under InfoNCE (CertifiedSearchOptions::infonce_kinks).");

  m.def("token_run", &token_run, py::kw_only(), py::arg("T") = 20, py::arg("K") = 10, py::arg("P") = 5,
        py::arg("G") = 40, py::arg("pattern_len") = 5, py::arg("aug_degree") = 5, py::arg("embedding_dim") = 0,
        py::arg("magnitude_split") = 1.0, py::arg("beta") = 5.0, py::arg("p") = 50, py::arg("activation") = "relu",
        py::arg("bn") = true, py::arg("bn_grad_mean") = true, py::arg("bn_grad_var") = false,
        py::arg("bias") = false, py::arg("output_activation") = false, py::arg("loss") = "infonce",
        py::arg("tau") = 0.1, py::arg("lr") = 0.02, py::arg("momentum") = 0.9, py::arg("wd") = 0.005,
        py::arg("batch") = 128, py::arg("steps") = 5000, py::arg("seed") = 1,
        py::arg("structure_seed") = py::none(), py::arg("precision") = "float", py::arg("log_every") = 50,
        "One run of the token-pattern experiment (theory section 6), as exp_token_patterns runs it.");

  cldyn::python::bind_analysis(m);

  // Test-only: what the C++ side sees of an array (docs/python.md, "Conventions").
  py::module_ testing = m.def_submodule("_testing", "Test-only helpers of the zero-copy rule.");
  testing.def(
      "data_pointer",
      [](const py::handle& a, bool transposed) {
        const MatrixArg view(a, "a", transposed);
        return py::make_tuple(reinterpret_cast<std::uintptr_t>(view.data()), view.copied(), view.rows(), view.cols());
      },
      py::arg("a"), py::arg("transposed") = false,
      "(address of the first element C++ reads, copied, rows, cols) of a as the bindings convert it.");
}
