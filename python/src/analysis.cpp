// The analysis layer of cldyn._cldyn (issue 17): gated covariance and its top eigenpairs, the
// latent and class models, exact population quantities, one-node landscapes (population and
// sample) with their certified fixed points, stability, predicted critical points and basins,
// the one-layer loss Hessian, two-layer networks, co-linearity and global modulation. Each
// binding converts its arguments (convert.hpp), calls the library function it names with the
// GIL released and converts the result to NumPy / dicts; no formula is implemented here.
// docs/python.md maps every Python name to the C++ function it wraps.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/colinearity.hpp"
#include "cldyn/analysis/critical_points.hpp"
#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/global_modulation.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/analysis/population.hpp"
#include "cldyn/analysis/spectra.hpp"
#include "cldyn/analysis/stability.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/data/class_model.hpp"
#include "cldyn/data/latent_model.hpp"
#include "cldyn/models/one_layer.hpp"
#include "cldyn/models/two_layer.hpp"
#include "convert.hpp"
#include "docstrings.hpp"
#include "fixed_point_report.hpp"

namespace cldyn::python {
namespace {

namespace an = cldyn::analysis;
using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

/// A vector of length d (the error names the argument and both lengths).
VectorXd vector_of_length(const py::handle& obj, const char* name, Index d) {
  VectorXd v = vector_of(obj, name);
  if (v.size() != d)
    throw std::invalid_argument(std::string(name) + ": length " + std::to_string(v.size()) + " but d = " +
                                std::to_string(d));
  return v;
}

py::object finite_or_none(double x) { return std::isfinite(x) ? py::object(py::float_(x)) : py::object(py::none()); }

/// A dict with the status and message of a result (the fields every result dict starts with).
template <class Result>
py::dict status_dict(const Result& r) {
  py::dict out;
  out["status"] = std::string(cldyn::to_string(r.status));
  out["message"] = r.message;
  return out;
}

py::dict eigen_dict(const an::EigenResult& r) {
  py::dict out = status_dict(r);
  out["values"] = r.values;
  out["vectors"] = r.vectors;
  out["residual"] = r.residual;
  return out;
}

// ---- models -------------------------------------------------------------------------------

/// Rows of a matrix-of-rows result: support points x0 (S × d) and their probabilities.
py::tuple support_tuple(const std::vector<data::SupportPoint>& support, Index d) {
  MatrixXd x0(static_cast<Index>(support.size()), d);
  VectorXd p(static_cast<Index>(support.size()));
  for (std::size_t s = 0; s < support.size(); ++s) {
    x0.row(static_cast<Index>(s)) = support[s].x0.transpose();
    p(static_cast<Index>(s)) = support[s].probability;
  }
  return py::make_tuple(x0, p);
}

data::LatentModel make_latent_model(Index d, Index L, std::optional<std::vector<double>> probabilities,
                                    std::optional<std::vector<double>> amplitudes, double sigma,
                                    const std::string& mode, std::uint64_t seed, const py::object& patterns) {
  data::LatentModelOptions o;
  o.d = d;
  o.L = L;
  if (probabilities) o.probabilities = *probabilities;
  if (amplitudes) o.amplitudes = *amplitudes;
  o.sigma = sigma;
  require_one_of("mode", mode, "mixture", "summation");
  o.mode = mode == "mixture" ? data::LatentMode::mixture : data::LatentMode::summation;
  if (patterns.is_none()) return data::LatentModel(o, seed);
  const MatrixXd p = matrix_of(patterns, "patterns");
  if (p.rows() != d || p.cols() != L)
    throw std::invalid_argument("patterns: " + std::to_string(p.rows()) + " x " + std::to_string(p.cols()) +
                                " but d x L = " + std::to_string(d) + " x " + std::to_string(L));
  return data::LatentModel(o, p);
}

data::ClassModel make_class_model(std::vector<Index> field_sizes, double p1, double q0, double q1, double sigma,
                                  std::uint64_t seed, const py::object& u, const py::object& v) {
  data::ClassModelOptions o;
  o.field_sizes = std::move(field_sizes);
  o.p1 = p1;
  o.q0 = q0;
  o.q1 = q1;
  o.sigma = sigma;
  if (u.is_none() != v.is_none()) throw std::invalid_argument("u and v: give both or neither");
  if (u.is_none()) return data::ClassModel(o, seed);
  return data::ClassModel(o, matrix_of(u, "u"), matrix_of(v, "v"));
}

/// K filter vectors w_k (length d_k) of a class model from a list of arrays.
std::vector<VectorXd> filters_of(const data::ClassModel& model, const py::sequence& w) {
  if (static_cast<Index>(py::len(w)) != model.num_fields())
    throw std::invalid_argument("w: " + std::to_string(py::len(w)) + " filters but the model has K = " +
                                std::to_string(model.num_fields()) + " receptive fields");
  std::vector<VectorXd> out;
  for (Index k = 0; k < model.num_fields(); ++k)
    out.push_back(vector_of_length(w[static_cast<std::size_t>(k)], "w[k]", model.field_size(k)));
  return out;
}

py::list list_of(const std::vector<MatrixXd>& ms) {
  py::list out;
  for (const auto& m : ms) out.append(py::cast(m));
  return out;
}
py::list list_of(const std::vector<VectorXd>& vs) {
  py::list out;
  for (const auto& v : vs) out.append(py::cast(v));
  return out;
}

py::dict modulation_dict(const an::GlobalModulation& g) {
  py::dict out = status_dict(g);
  out["p0"] = g.p0;
  out["p1"] = g.p1;
  out["within"] = list_of(g.within);
  out["between"] = list_of(g.between);
  out["d"] = g.d;
  out["b"] = g.b;
  py::dict root = status_dict(g.root);
  root["lambda"] = g.root.lambda;
  root["residual"] = g.root.residual;
  root["iterations"] = g.root.iterations;
  root["bracket"] = py::make_tuple(g.root.bracket_low, g.root.bracket_high);
  out["root"] = root;
  out["lambda"] = g.lambda;
  out["s"] = g.s;
  out["z"] = g.z;
  out["modulated"] = list_of(g.modulated);
  return out;
}

// ---- landscapes ---------------------------------------------------------------------------

/// A one-node landscape with the patterns predict_* assign to (the latent model's, if known).
struct Landscape {
  std::shared_ptr<const an::NodeLandscape> land;
  std::optional<MatrixXd> patterns;  ///< d × L
  const an::NodeLandscape& get() const { return *land; }
  VectorXd w(const py::handle& obj) const { return vector_of_length(obj, "w", land->dim()); }
  MatrixXd patterns_or(const py::object& given) const {
    if (!given.is_none()) {
      MatrixXd p = matrix_of(given, "patterns");
      if (p.rows() != land->dim())
        throw std::invalid_argument("patterns: " + std::to_string(p.rows()) + " rows but d = " +
                                    std::to_string(land->dim()));
      return p;
    }
    if (!patterns) throw std::invalid_argument("patterns: required (this landscape was not built from a LatentModel)");
    return *patterns;
  }
};
struct PopulationLandscapeHolder : Landscape {};

/// The method w -> (landscape.*member)(w), with the GIL released (sample landscapes cost O(N^2)
/// per call).
template <class R>
auto at_w(R (an::NodeLandscape::*member)(const Eigen::Ref<const VectorXd>&) const) {
  return [member](const Landscape& l, const py::handle& w) {
    const VectorXd v = l.w(w);
    return without_gil([&] { return (l.get().*member)(v); });
  };
}
struct SampleLandscapeHolder : Landscape {};

py::dict stability_dict(const an::StabilityResult& r) {
  py::dict out = status_dict(r);
  out["verdict"] = std::string(an::to_string(r.verdict));
  out["lambda"] = r.lambda;
  out["tangent_eigenvalues"] = r.tangent_eigenvalues;
  out["tangent_top_vector"] = r.tangent_top_vector;
  out["gated_eigenvalues"] = r.gated_eigenvalues;
  out["eigengap"] = r.eigengap;
  out["is_top"] = r.is_top;
  out["remainder_norm"] = r.remainder_norm;
  out["hessian_norm"] = r.hessian_norm;
  out["fd_relative_error"] = r.fd_relative_error < 0.0 ? py::object(py::none()) : py::object(py::float_(r.fd_relative_error));
  out["gate_margin"] = finite_or_none(r.gate_margin);
  return out;
}

an::CertifiedSearchOptions certified_options(double tolerance, bool kinks, bool infonce_kinks) {
  an::CertifiedSearchOptions o;
  o.tolerance = tolerance;
  o.kinks = kinks;
  o.infonce_kinks = infonce_kinks;
  return o;
}

py::object landscape_fixed_points(const Landscape& l, const py::object& w, const std::string& layout, Index starts,
                                  std::uint64_t seed, double tolerance, bool kinks, bool infonce_kinks) {
  const Index d = l.get().dim();
  const MatrixXd user = w.is_none() ? MatrixXd(d, 0) : weights_of(w, layout);
  if (user.rows() != d)
    throw std::invalid_argument("W has " + std::to_string(user.rows()) + " rows per node but the landscape has d = " +
                                std::to_string(d));
  an::CertifiedSearchOptions o = certified_options(tolerance, kinks, infonce_kinks);
  o.random_starts = starts;
  o.seed = seed;
  o.validate();
  an::CertifiedSearch search;
  {
    py::gil_scoped_release release;
    search = an::certified_fixed_points(l.get(), user, o);
  }
  cldyn::tools::ArraySink sink = cldyn::tools::ArraySink::memory();
  return python_of(cldyn::tools::fixed_point_json(search, user), sink);
}

/// The patterns predict_* assign to, after `o` is given its seed and a certified search (kinks,
/// at `tolerance`) and validated, in the order their errors are reported.
template <class Options>
MatrixXd prediction_patterns(const Landscape& l, const py::object& patterns, Options& o, std::uint64_t seed,
                             double tolerance) {
  MatrixXd p = l.patterns_or(patterns);
  o.seed = seed;
  o.certified = certified_options(tolerance, true, false);
  o.validate();
  return p;
}

py::dict predict_critical_points(const Landscape& l, const py::object& patterns, Index random_directions,
                                 std::uint64_t seed, bool pairs, bool triples, double tolerance) {
  an::PredictionOptions o;
  o.random_directions = random_directions;
  o.pairs = pairs;
  o.triples = triples;
  const MatrixXd p = prediction_patterns(l, patterns, o, seed, tolerance);
  const an::CriticalPointPrediction r = without_gil([&] { return an::predict_critical_points(l.get(), p, o); });
  py::list points;
  for (const auto& q : r.points) {
    py::dict d;
    d["w"] = q.point.w;
    d["lambda"] = q.point.lambda;
    d["energy"] = q.point.energy;
    d["residual"] = q.point.residual;
    d["index"] = q.index;
    d["verdict"] = std::string(an::to_string(q.stability.verdict));
    d["first_seed"] = std::string(an::to_string(q.first_seed));
    d["seeds_reached"] = q.seeds_reached;
    d["by_ascent"] = q.by_ascent;
    d["by_newton"] = q.by_newton;
    d["stability"] = stability_dict(q.stability);
    points.append(d);
  }
  py::list kinds;
  for (auto k : r.seed_kinds) kinds.append(std::string(an::to_string(k)));
  py::dict out;
  out["points"] = points;
  out["seeds"] = r.seeds;
  out["seed_kinds"] = kinds;
  out["ascent_certified"] = r.ascent_certified;
  out["newton_certified"] = r.newton_certified;
  out["stable"] = r.stable;
  out["saddles"] = r.saddles;
  out["minima"] = r.minima;
  out["degenerate"] = r.degenerate;
  return out;
}

py::dict predict_basins(const Landscape& l, const py::object& patterns, Index starts, std::uint64_t seed,
                        double cos_threshold, double confidence, double tolerance,
                        const std::vector<Index>& widths) {
  an::BasinOptions o;
  o.starts = starts;
  o.cos_threshold = cos_threshold;
  o.confidence = confidence;
  const MatrixXd p = prediction_patterns(l, patterns, o, seed, tolerance);
  for (Index k : widths)
    if (k < 0) throw std::invalid_argument("widths: K = " + std::to_string(k) + " violates K >= 0");
  an::BasinPrediction r;
  std::vector<an::CoveragePrediction> coverage;
  {
    py::gil_scoped_release release;
    r = an::predict_basins(l.get(), p, o);
    for (Index k : widths) coverage.push_back(an::predicted_coverage(r, k));
  }
  py::dict out;
  out["starts"] = r.starts;
  out["converged"] = r.converged;
  out["unconverged"] = r.unconverged;
  out["other"] = r.other;
  out["counts"] = r.counts;
  out["fraction"] = r.fraction;
  out["low"] = r.low;
  out["high"] = r.high;
  out["pattern_confidence"] = r.pattern_confidence;
  py::list cov;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    const auto& c = coverage[i];
    py::dict d;
    d["K"] = widths[i];
    d["mean"] = c.mean;
    d["low"] = c.low;
    d["high"] = c.high;
    d["sd"] = c.sd;
    d["sd_low"] = c.sd_low;
    d["sd_high"] = c.sd_high;
    cov.append(d);
  }
  out["coverage"] = cov;
  cldyn::tools::ArraySink sink = cldyn::tools::ArraySink::memory();
  out["search"] = python_of(cldyn::tools::fixed_point_json(r.search, MatrixXd(l.get().dim(), 0)), sink);
  return out;
}

// ---- two-layer networks ---------------------------------------------------------------------

cldyn::TwoLayerNetwork two_layer_of(const py::sequence& filters, const py::handle& top, const std::string& activation) {
  std::vector<MatrixXd> w;
  for (const auto& f : filters) w.push_back(matrix_of(f, "filters[k]"));
  return cldyn::TwoLayerNetwork(std::move(w), matrix_of(top, "V"), cldyn::Activation::parse(activation));
}

py::dict gradient_dict(const cldyn::TwoLayerGradient& g) {
  py::dict out;
  out["filters"] = list_of(g.filters);
  out["top"] = g.top;
  return out;
}

py::dict colinearity_dict(const an::GradientColinearity& g) {
  py::dict out;
  out["singular_values"] = g.singular_values;
  out["rank"] = g.rank;
  out["rank_tolerance"] = g.rank_tolerance;
  out["abs_cos"] = g.cosines.abs_cos;
  out["zero_columns"] = g.cosines.zero_columns;
  out["pairs"] = g.cosines.pairs;
  out["min_abs_cos"] = g.cosines.min_abs_cos;
  out["mean_abs_cos"] = g.cosines.mean_abs_cos;
  out["max_one_minus_abs_cos"] = g.cosines.max_one_minus_abs_cos;
  return out;
}

}  // namespace

void bind_analysis(py::module_& m) {
  // ---- gated covariance, eigenpairs, Hessians of the sample ----
  m.def(
      "gated_covariance",
      [](const py::handle& x, const py::handle& x_prime, const py::handle& w, const std::string& activation,
         const py::object& alpha) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const VectorXd wv = vector_of_length(w, "w", b.dim());
        const cldyn::PairwiseImportance a = alpha_of(alpha, b.size());
        const cldyn::Activation act = cldyn::Activation::parse(activation);
        py::gil_scoped_release release;
        return an::gated_covariance(b, a, wv, act);
      },
      py::arg("X"), py::arg("Xp"), py::arg("w"), py::arg("activation") = "relu", py::arg("alpha") = py::none(), doc::gated_covariance);

  m.def(
      "top_eigenpairs",
      [](const py::handle& a, Index k) {
        const MatrixArg A(a, "A");
        return eigen_dict(without_gil([&] { return an::top_eigenpairs(A.map(), k); }));
      },
      py::arg("A"), py::arg("k") = 1, doc::top_eigenpairs);

  m.def(
      "gated_covariance_top_eigenpairs",
      [](const py::handle& x, const py::handle& x_prime, const py::handle& w, Index k, const std::string& activation,
         const py::object& alpha, Index ncv, Index max_iterations, double tolerance) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const VectorXd wv = vector_of_length(w, "w", b.dim());
        const cldyn::PairwiseImportance a = alpha_of(alpha, b.size());
        const cldyn::Activation act = cldyn::Activation::parse(activation);
        an::LanczosOptions o;
        o.ncv = ncv;
        o.max_iterations = max_iterations;
        o.tolerance = tolerance;
        return eigen_dict(
            without_gil([&] { return an::top_eigenpairs_matrix_free(an::gated_covariance_operator(b, a, wv, act), k, o); }));
      },
      py::arg("X"), py::arg("Xp"), py::arg("w"), py::arg("k") = 1, py::arg("activation") = "relu",
      py::arg("alpha") = py::none(), py::kw_only(), py::arg("ncv") = 0, py::arg("max_iterations") = 1000,
      py::arg("tolerance") = 1e-12, doc::gated_covariance_top_eigenpairs);

  m.def(
      "one_layer_loss_hessian",
      [](const py::handle& x, const py::handle& x_prime, const py::handle& w, Index k, const std::string& activation,
         const std::string& loss, std::optional<double> tau, std::optional<double> eps, const std::string& layout) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::OneLayerNetwork net(weights_of(w, layout), cldyn::Activation::parse(activation));
        const cldyn::Loss l = loss_of(loss, tau, eps);
        py::gil_scoped_release release;
        return an::loss_hessian(net, b, l, k);
      },
      py::arg("X"), py::arg("Xp"), py::arg("W"), py::arg("k"), py::arg("activation") = "linear",
      py::arg("loss") = "quadratic", py::kw_only(), py::arg("tau") = py::none(), py::arg("eps") = py::none(),
      py::arg("layout") = "dK", doc::one_layer_loss_hessian);

  // ---- the latent model and its population ----
  py::class_<data::LatentModel>(m, "LatentModel", doc::latent_model)
      .def(py::init(&make_latent_model), py::kw_only(), py::arg("d") = 20, py::arg("L") = 5,
           py::arg("probabilities") = py::none(), py::arg("amplitudes") = py::none(), py::arg("sigma") = 0.2,
           py::arg("mode") = "mixture", py::arg("seed") = 0, py::arg("patterns") = py::none())
      .def_property_readonly("patterns", &data::LatentModel::patterns)
      .def_property_readonly("d", &data::LatentModel::dim)
      .def_property_readonly("L", &data::LatentModel::num_patterns)
      .def_property_readonly("sigma", &data::LatentModel::sigma)
      .def_property_readonly("mode", [](const data::LatentModel& lm) { return std::string(data::to_string(lm.mode())); })
      .def_property_readonly("probabilities", [](const data::LatentModel& lm) { return lm.options().probabilities; })
      .def_property_readonly("amplitudes", [](const data::LatentModel& lm) { return lm.options().amplitudes; })
      .def("support",
           [](const data::LatentModel& lm) { return support_tuple(without_gil([&] { return lm.support(); }), lm.dim()); })
      .def(
          "sample",
          [](const data::LatentModel& lm, Index n, std::uint64_t seed) {
            cldyn::Rng rng(seed);
            const data::LatentSample s = without_gil([&] { return lm.sample_with_latents(n, rng); });
            py::dict out;
            out["X"] = s.batch.x;
            out["Xp"] = s.batch.x_prime;
            out["x0"] = s.x0;
            out["z"] = s.z;
            out["support_index"] = s.support_index;
            return out;
          },
          py::arg("n"), py::arg("seed") = 0);

  py::class_<an::DiscretePopulation>(m, "Population", doc::population)
      .def(py::init([](const py::handle& x0, const py::handle& probability, double sigma) {
             an::DiscretePopulation p;
             p.x0 = matrix_of(x0, "x0").transpose();
             p.probability = vector_of(probability, "probability");
             p.sigma = sigma;
             p.validate("Population");
             return p;
           }),
           py::arg("x0"), py::arg("probability"), py::arg("sigma"))
      .def(py::init([](const data::LatentModel& model) {
             py::gil_scoped_release release;  // the summation support has up to 2^20 points
             return an::DiscretePopulation::from_model(model);
           }),
           py::arg("model"))
      .def_property_readonly("x0", [](const an::DiscretePopulation& p) { return MatrixXd(p.x0.transpose()); })
      .def_readonly("probability", &an::DiscretePopulation::probability)
      .def_readonly("sigma", &an::DiscretePopulation::sigma)
      .def_property_readonly("d", &an::DiscretePopulation::dim)
      .def_property_readonly("S", &an::DiscretePopulation::size);
  py::implicitly_convertible<data::LatentModel, an::DiscretePopulation>();

  // E(w), A(w) and ∇E(w) of a population: the same call shape, one binding each.
  auto bind_at_w = [&m](const char* name, auto fn, const char* doc) {
    m.def(
        name,
        [fn](const an::DiscretePopulation& p, const py::handle& w, const std::string& activation) {
          const VectorXd v = vector_of_length(w, "w", p.dim());
          const cldyn::Activation act = cldyn::Activation::parse(activation);
          py::gil_scoped_release release;
          return fn(p, v, act);
        },
        py::arg("population"), py::arg("w"), py::arg("activation") = "relu", doc);
  };
  bind_at_w("population_energy", [](const auto& p, const auto& v, const auto& a) { return an::population_energy(p, v, a); },
            doc::population_energy);
  bind_at_w("population_gated_covariance",
            [](const auto& p, const auto& v, const auto& a) { return an::population_gated_covariance(p, v, a); },
            doc::population_gated_covariance);
  bind_at_w("population_energy_gradient",
            [](const auto& p, const auto& v, const auto& a) { return an::population_energy_gradient(p, v, a); },
            doc::population_energy_gradient);
  m.def(
      "population_energy_hessian",
      [](const an::DiscretePopulation& p, const py::handle& w, const std::string& activation) {
        const VectorXd v = vector_of_length(w, "w", p.dim());
        const cldyn::Activation act = cldyn::Activation::parse(activation);
        an::PopulationHessian h;
        {
          py::gil_scoped_release release;
          h = an::population_energy_hessian(p, v, act);
        }
        py::dict out;
        out["hessian"] = h.hessian;
        out["gated_covariance"] = h.gated_covariance;
        out["remainder"] = h.remainder;
        return out;
      },
      py::arg("population"), py::arg("w"), py::arg("activation") = "relu", doc::population_energy_hessian);

  // ---- one-node landscapes ----
  py::class_<Landscape>(m, "NodeLandscape", doc::node_landscape)
      .def_property_readonly("d", [](const Landscape& l) { return l.get().dim(); })
      .def_property_readonly("sign_symmetric", [](const Landscape& l) { return l.get().sign_symmetric(); })
      .def_property_readonly("patterns", [](const Landscape& l) { return l.patterns; })
      .def("energy", at_w(&an::NodeLandscape::energy), py::arg("w"))
      .def("gradient", at_w(&an::NodeLandscape::gradient), py::arg("w"))
      .def("gated_covariance", at_w(&an::NodeLandscape::gated_covariance), py::arg("w"))
      .def("hessian", at_w(&an::NodeLandscape::hessian), py::arg("w"))
      .def("gate_margin", at_w(&an::NodeLandscape::gate_margin), py::arg("w"))
      .def(
          "stability",
          [](const Landscape& l, const py::handle& w, double zero_tolerance, bool finite_difference_check,
             double fd_step) {
            const VectorXd v = l.w(w);
            an::StabilityOptions o;
            o.zero_tolerance = zero_tolerance;
            o.finite_difference_check = finite_difference_check;
            o.fd_step = fd_step;
            return stability_dict(without_gil([&] { return an::analyze_stability(l.get(), v, o); }));
          },
          py::arg("w"), py::kw_only(), py::arg("zero_tolerance") = 1e-9, py::arg("finite_difference_check") = true,
          py::arg("fd_step") = 1e-6)
      .def("certified_fixed_points", &landscape_fixed_points, py::kw_only(), py::arg("W") = py::none(),
           py::arg("layout") = "dK", py::arg("starts") = 64, py::arg("seed") = 0, py::arg("tolerance") = 1e-8,
           py::arg("kinks") = true, py::arg("infonce_kinks") = false)
      .def("predict_critical_points", &predict_critical_points, py::kw_only(), py::arg("patterns") = py::none(),
           py::arg("random_directions") = 64, py::arg("seed") = 0, py::arg("pairs") = true,
           py::arg("triples") = true, py::arg("tolerance") = 1e-8)
      .def("predict_basins", &predict_basins, py::kw_only(), py::arg("patterns") = py::none(),
           py::arg("starts") = 200, py::arg("seed") = 0, py::arg("cos_threshold") = 0.9,
           py::arg("confidence") = 0.95, py::arg("tolerance") = 1e-8,
           py::arg("widths") = std::vector<Index>{});

  py::class_<PopulationLandscapeHolder, Landscape>(m, "PopulationLandscape", doc::population_landscape)
      .def(py::init([](const py::object& population, const std::string& activation, const py::object& patterns) {
             PopulationLandscapeHolder h;
             an::DiscretePopulation p;
             if (py::isinstance<data::LatentModel>(population)) {
               const auto& lm = population.cast<const data::LatentModel&>();
               p = an::DiscretePopulation::from_model(lm);
               h.patterns = lm.patterns();
             } else {
               p = population.cast<an::DiscretePopulation>();
             }
             if (!patterns.is_none()) h.patterns = matrix_of(patterns, "patterns");
             h.land = std::make_shared<an::PopulationLandscape>(std::move(p), cldyn::Activation::parse(activation));
             return h;
           }),
           py::arg("population"), py::arg("activation") = "relu", py::kw_only(), py::arg("patterns") = py::none());

  py::class_<SampleLandscapeHolder, Landscape>(m, "SampleLandscape", doc::sample_landscape)
      .def(py::init([](const py::handle& x, const py::handle& x_prime, const std::string& activation,
                       const std::string& loss, std::optional<double> tau, std::optional<double> eps,
                       const py::object& patterns) {
             SampleLandscapeHolder h;
             h.land = std::make_shared<an::SampleLandscape>(batch_of(x, x_prime), cldyn::Activation::parse(activation),
                                                            loss_of(loss, tau, eps));
             if (!patterns.is_none()) h.patterns = matrix_of(patterns, "patterns");
             return h;
           }),
           py::arg("X"), py::arg("Xp"), py::kw_only(), py::arg("activation"), py::arg("loss"),
           py::arg("tau") = py::none(), py::arg("eps") = py::none(), py::arg("patterns") = py::none());

  // ---- two-layer networks and co-linearity ----
  m.def(
      "two_layer_forward",
      [](const py::handle& x, const py::sequence& filters, const py::handle& top, const std::string& activation) {
        const cldyn::TwoLayerNetwork net = two_layer_of(filters, top, activation);
        const MatrixArg X(x, "X");
        MatrixXd hidden, output;
        {
          py::gil_scoped_release release;
          hidden = net.hidden(X.map());
          output = net.forward(X.map());
        }
        return py::make_tuple(hidden, output);
      },
      py::arg("X"), py::arg("filters"), py::arg("V"), py::arg("activation") = "linear", doc::two_layer_forward);
  m.def(
      "two_layer_energy",
      [](const py::handle& x, const py::handle& x_prime, const py::sequence& filters, const py::handle& top,
         const std::string& activation, const py::object& alpha) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::TwoLayerNetwork net = two_layer_of(filters, top, activation);
        const cldyn::PairwiseImportance a = alpha_of(alpha, b.size());
        const auto [energy, gradient] = energy_and_gradient(net, b, a);
        return py::make_tuple(energy, gradient_dict(gradient));
      },
      py::arg("X"), py::arg("Xp"), py::arg("filters"), py::arg("V"), py::arg("activation") = "linear",
      py::arg("alpha") = py::none(), doc::two_layer_energy);
  m.def(
      "two_layer_loss_gradient",
      [](const py::handle& x, const py::handle& x_prime, const py::sequence& filters, const py::handle& top,
         const std::string& activation, const std::string& loss, std::optional<double> tau, std::optional<double> eps) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::TwoLayerNetwork net = two_layer_of(filters, top, activation);
        const cldyn::Loss l = loss_of(loss, tau, eps);
        cldyn::TwoLayerGradient g;
        {
          py::gil_scoped_release release;
          g = net.loss_gradient(b, l);
        }
        return gradient_dict(g);
      },
      py::arg("X"), py::arg("Xp"), py::arg("filters"), py::arg("V"), py::arg("activation") = "linear",
      py::arg("loss") = "quadratic", py::kw_only(), py::arg("tau") = py::none(), py::arg("eps") = py::none(), doc::two_layer_loss_gradient);
  m.def(
      "gradient_colinearity",
      [](const py::handle& g, double rank_tolerance) {
        const MatrixArg G(g, "G");
        return colinearity_dict(without_gil([&] { return an::gradient_colinearity(G.map(), rank_tolerance); }));
      },
      py::arg("G"), py::arg("rank_tolerance") = an::kDefaultRankTolerance, doc::gradient_colinearity);
  m.def(
      "field_gradient_colinearity",
      [](const py::handle& x, const py::handle& x_prime, const py::sequence& filters, const py::handle& top,
         const std::string& activation, const py::object& alpha, double rank_tolerance) {
        const cldyn::TwoViewBatch b = batch_of(x, x_prime);
        const cldyn::TwoLayerNetwork net = two_layer_of(filters, top, activation);
        const cldyn::PairwiseImportance a = alpha_of(alpha, b.size());
        std::vector<an::GradientColinearity> r;
        {
          py::gil_scoped_release release;
          r = an::field_gradient_colinearity(net, b, a, rank_tolerance);
        }
        py::list out;
        for (const auto& c : r) out.append(colinearity_dict(c));
        return out;
      },
      py::arg("X"), py::arg("Xp"), py::arg("filters"), py::arg("V"), py::arg("activation") = "linear",
      py::arg("alpha") = py::none(), py::arg("rank_tolerance") = an::kDefaultRankTolerance, doc::field_gradient_colinearity);
  m.def(
      "filter_diversity",
      [](const py::handle& w) {
        const MatrixArg W(w, "W");
        const an::FilterDiversity f = without_gil([&] { return an::filter_diversity(W.map()); });
        py::dict out;
        out["mean_abs_cos"] = f.mean_abs_cos;
        out["min_abs_cos"] = f.min_abs_cos;
        out["effective_rank"] = f.effective_rank;
        out["singular_values"] = f.singular_values;
        return out;
      },
      py::arg("W"), doc::filter_diversity);

  // ---- the class model and global modulation ----
  py::class_<data::ClassModel>(m, "ClassModel", doc::class_model)
      .def(py::init(&make_class_model), py::kw_only(), py::arg("field_sizes") = std::vector<Index>{6, 6, 6, 6},
           py::arg("p1") = 0.5, py::arg("q0") = 0.1, py::arg("q1") = 0.9, py::arg("sigma") = 0.3,
           py::arg("seed") = 0, py::arg("u") = py::none(), py::arg("v") = py::none())
      .def_property_readonly("d", &data::ClassModel::dim)
      .def_property_readonly("K", &data::ClassModel::num_fields)
      .def_property_readonly("sigma", &data::ClassModel::sigma)
      .def_property_readonly("field_sizes", [](const data::ClassModel& c) { return c.options().field_sizes; })
      .def_property_readonly("field_offsets",
                             [](const data::ClassModel& c) {
                               std::vector<Index> o;
                               for (Index k = 0; k < c.num_fields(); ++k) o.push_back(c.field_offset(k));
                               return o;
                             })
      .def_property_readonly("q_bar", [](const data::ClassModel& c) { return c.options().q_bar(); })
      .def_property_readonly("u", [](const data::ClassModel& c) { return c.discriminative(); })
      .def_property_readonly("v", [](const data::ClassModel& c) { return c.nondiscriminative(); })
      .def("support",
           [](const data::ClassModel& c) {
             const std::vector<data::ClassSupportPoint> s = without_gil([&] { return c.support(); });
             MatrixXd x0(static_cast<Index>(s.size()), c.dim());
             Eigen::VectorXi z(static_cast<Index>(s.size()));
             VectorXd p(static_cast<Index>(s.size()));
             for (std::size_t i = 0; i < s.size(); ++i) {
               x0.row(static_cast<Index>(i)) = s[i].x0.transpose();
               z(static_cast<Index>(i)) = s[i].z;
               p(static_cast<Index>(i)) = s[i].probability;
             }
             return py::make_tuple(x0, z, p);
           })
      .def(
          "sample",
          [](const data::ClassModel& c, Index n, std::uint64_t seed) {
            cldyn::Rng rng(seed);
            const data::ClassSample s = without_gil([&] { return c.sample_with_classes(n, rng); });
            return py::make_tuple(s.batch.x, s.batch.x_prime, s.z);
          },
          py::arg("n"), py::arg("seed") = 0);

  // Functions of a class model's K filters w (global_modulation, hidden_covariance) and of w and
  // the field vector s (one result per receptive field k): one conversion of the arguments each.
  auto bind_filters = [&m](const char* name, auto fn, auto convert, const char* doc) {
    m.def(
        name,
        [fn, convert](const data::ClassModel& model, const py::sequence& w, const std::string& activation) {
          const auto filters = filters_of(model, w);
          const cldyn::Activation act = cldyn::Activation::parse(activation);
          return convert(without_gil([&] { return fn(model, filters, act); }));
        },
        py::arg("model"), py::arg("w"), py::arg("activation") = "relu", doc);
  };
  auto bind_fields = [&m](const char* name, auto fn, const char* doc) {
    m.def(
        name,
        [fn](const data::ClassModel& model, const py::sequence& w, const py::handle& s, const std::string& activation) {
          const auto filters = filters_of(model, w);
          const VectorXd sv = vector_of_length(s, "s", model.num_fields());
          const cldyn::Activation act = cldyn::Activation::parse(activation);
          return list_of(without_gil([&] { return fn(model, filters, sv, act); }));
        },
        py::arg("model"), py::arg("w"), py::arg("s"), py::arg("activation") = "relu", doc);
  };
  bind_filters(
      "global_modulation",
      [](const auto& model, const auto& filters, const auto& act) { return an::global_modulation(model, filters, act); },
      [](const an::GlobalModulation& g) { return modulation_dict(g); }, doc::global_modulation);
  bind_fields(
      "modulated_covariance",
      [](const data::ClassModel& model, const std::vector<VectorXd>& filters, const VectorXd& s, const cldyn::Activation& act) {
        const an::GlobalModulation g = an::global_modulation(model, filters, act);
        std::vector<MatrixXd> out;
        for (Index k = 0; k < model.num_fields(); ++k) out.push_back(an::modulated_covariance(g, s, k));
        return out;
      },
      doc::modulated_covariance);
  bind_filters(
      "hidden_covariance",
      [](const auto& model, const auto& filters, const auto& act) { return an::hidden_covariance(model, filters, act); },
      [](auto covariance) { return covariance; }, doc::hidden_covariance);
  bind_fields(
      "generic_field",
      [](const auto& model, const auto& filters, const auto& s, const auto& act) { return an::generic_field(model, filters, s, act); },
      doc::generic_field);
  bind_fields(
      "two_layer_population_field",
      [](const auto& model, const auto& filters, const auto& s, const auto& act) {
        return an::two_layer_population_field(model, filters, s, act);
      },
      doc::two_layer_population_field);
}

}  // namespace cldyn::python
