#pragma once
// NumPy <-> Eigen conversions shared by the bindings of cldyn._cldyn (module.cpp, analysis.cpp).
//
// Zero-copy rule (docs/python.md, "Conventions"): a float64 array (native byte order, aligned)
// whose memory already is the column-major matrix the library wants reaches C++ as an
// Eigen::Map, without a copy: a Fortran-ordered (or any column-major strided) N x d array as
// itself, and with transposed = true (layout="Kd" weights) a C-ordered K x d array as the d x K
// matrix it transposes to. Everything else (float32, integers, lists, C-ordered views, negative
// or odd strides) is converted once into an owned float64 column-major matrix.
#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "analyze_report.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/pairwise_importance.hpp"

namespace cldyn::python {

namespace py = pybind11;
using json = nlohmann::ordered_json;

/// A 2-D (or 1-D: one column) array seen as a column-major float64 matrix: a view of the
/// NumPy buffer when its layout allows (copied() false), else one owned converted copy. Keeps the
/// array alive; destroy it with the GIL held (declare it outside any gil_scoped_release).
class MatrixArg {
 public:
  using Map = Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>>;

  /// `name` goes into the error message; `transposed`: the wanted matrix is the array's transpose.
  MatrixArg(const py::handle& obj, const char* name, bool transposed = false) {
    if (py::array_t<double>::check_(obj)) {
      auto a = py::reinterpret_borrow<py::array>(obj);
      if (a.ndim() == 1 || a.ndim() == 2) {
        const py::ssize_t r = a.shape(0), c = a.ndim() == 2 ? a.shape(1) : 1;
        const py::ssize_t s0 = a.strides(0), s1 = a.ndim() == 2 ? a.strides(1) : 0;
        const auto* p = static_cast<const double*>(a.data());
        const bool aligned = reinterpret_cast<std::uintptr_t>(p) % alignof(double) == 0;
        constexpr py::ssize_t e = sizeof(double);
        // inner: stride between consecutive rows of the wanted matrix; outer: between columns.
        const py::ssize_t rows = transposed ? c : r, cols = transposed ? r : c;
        const py::ssize_t inner = transposed ? s1 : s0, outer = transposed ? s0 : s1;
        const bool inner_ok = rows <= 1 || inner == e;
        const bool outer_ok = cols <= 1 || (outer > 0 && outer % e == 0 && outer >= rows * e);
        if (aligned && inner_ok && outer_ok && rows > 0 && cols > 0) {
          keep_ = py::reinterpret_borrow<py::object>(obj);
          data_ = p;
          rows_ = rows;
          cols_ = cols;
          outer_ = cols <= 1 ? rows : outer / e;
          return;
        }
      }
    }
    owned_ = copy_of(obj, name, transposed);
    data_ = owned_.data();
    rows_ = owned_.rows();
    cols_ = owned_.cols();
    outer_ = rows_;
    copied_ = true;
  }
  MatrixArg(const MatrixArg&) = delete;
  MatrixArg& operator=(const MatrixArg&) = delete;

  Map map() const { return Map(data_, rows_, cols_, Eigen::OuterStride<>(outer_)); }
  /// The matrix as an owned Eigen::MatrixXd (moves the converted copy; copies a view once).
  Eigen::MatrixXd take() {
    if (copied_) return std::move(owned_);
    return Eigen::MatrixXd(map());
  }
  bool copied() const { return copied_; }
  const double* data() const { return data_; }
  Eigen::Index rows() const { return rows_; }
  Eigen::Index cols() const { return cols_; }

 private:
  /// One converted copy (the transpose when `transposed`): a 1-D array is one column.
  static Eigen::MatrixXd copy_of(const py::handle& obj, const char* name, bool transposed) {
    auto a = py::array_t<double, py::array::forcecast>::ensure(obj);
    if (!a) throw std::invalid_argument(std::string(name) + ": expected a 2-D array of numbers");
    if (a.ndim() == 1) {
      Eigen::MatrixXd m(transposed ? 1 : a.shape(0), transposed ? a.shape(0) : 1);
      auto r = a.unchecked<1>();
      for (py::ssize_t i = 0; i < a.shape(0); ++i) m(i) = r(i);
      return m;
    }
    if (a.ndim() != 2)
      throw std::invalid_argument(std::string(name) + ": expected a 2-D array, got " + std::to_string(a.ndim()) +
                                  " dimensions");
    Eigen::MatrixXd m(transposed ? a.shape(1) : a.shape(0), transposed ? a.shape(0) : a.shape(1));
    auto r = a.unchecked<2>();
    for (py::ssize_t i = 0; i < a.shape(0); ++i)
      for (py::ssize_t j = 0; j < a.shape(1); ++j) (transposed ? m(j, i) : m(i, j)) = r(i, j);
    return m;
  }

  py::object keep_;
  Eigen::MatrixXd owned_;
  const double* data_ = nullptr;
  Eigen::Index rows_ = 0, cols_ = 0, outer_ = 0;
  bool copied_ = false;
};

/// A 2-D float array as an owned column-major Eigen matrix (converted or copied once).
inline Eigen::MatrixXd matrix_of(const py::handle& obj, const char* name) { return MatrixArg(obj, name).take(); }

/// A 1-D array of numbers (length n; a 2-D array with one column or row is accepted) as a vector.
inline Eigen::VectorXd vector_of(const py::handle& obj, const char* name) {
  Eigen::MatrixXd m = matrix_of(obj, name);
  if (m.cols() != 1 && m.rows() != 1)
    throw std::invalid_argument(std::string(name) + ": expected a vector, got a " + std::to_string(m.rows()) + " x " +
                                std::to_string(m.cols()) + " array");
  return m.cols() == 1 ? Eigen::VectorXd(m.col(0)) : Eigen::VectorXd(m.row(0).transpose());
}

/// Throws std::invalid_argument "name: 'value' is not one of a | b" unless value is a or b.
inline void require_one_of(const char* name, const std::string& value, const char* a, const char* b) {
  if (value != a && value != b)
    throw std::invalid_argument(std::string(name) + ": '" + value + "' is not one of " + a + " | " + b);
}

inline void require_layout(const std::string& layout) { require_one_of("layout", layout, "dK", "Kd"); }

/// Weights d x K (layout "dK") or K x d (layout "Kd", PyTorch), as a d x K view or copy.
inline MatrixArg weights_arg(const py::handle& obj, const std::string& layout, const char* name = "W") {
  require_layout(layout);
  return MatrixArg(obj, name, layout == "Kd");
}

inline Eigen::MatrixXd weights_of(const py::handle& obj, const std::string& layout) {
  return weights_arg(obj, layout).take();
}

inline cldyn::Loss loss_of(const std::string& loss, std::optional<double> tau, std::optional<double> eps) {
  if (loss == "quadratic") {
    if (tau || eps) throw std::invalid_argument("tau and eps apply only to loss='infonce'");
    return cldyn::Loss::quadratic();
  }
  if (loss == "infonce") {
    if (!tau) throw std::invalid_argument("tau is required with loss='infonce'");
    return cldyn::Loss::infonce(*tau, eps.value_or(1.0));
  }
  throw std::invalid_argument("loss: '" + loss + "' is not one of quadratic | infonce");
}

/// α of N samples: all ones (None) or the given N x N matrix.
inline cldyn::PairwiseImportance alpha_of(const py::object& alpha, Eigen::Index n) {
  return alpha.is_none() ? cldyn::PairwiseImportance::uniform(n)
                         : cldyn::PairwiseImportance::from_matrix(matrix_of(alpha, "alpha"));
}

/// fn() with the GIL released: convert the arguments before, the result after (with the GIL).
template <class Fn>
auto without_gil(Fn&& fn) {
  py::gil_scoped_release release;
  return fn();
}

/// (E_α, ∇E_α) of a network (one- or two-layer) at a batch, α frozen, with the GIL released.
template <class Network>
auto energy_and_gradient(const Network& net, const cldyn::TwoViewBatch& b, const cldyn::PairwiseImportance& a) {
  return without_gil([&] {
    const double energy = net.energy(b, a);
    return std::pair{energy, net.energy_gradient(b, a)};
  });
}

/// The two views as the library's batch (it owns its data: one copy of each view).
inline cldyn::TwoViewBatch batch_of(const py::handle& x, const py::handle& x_prime) {
  cldyn::TwoViewBatch b{matrix_of(x, "X"), matrix_of(x_prime, "Xp")};
  b.validate("cldyn");
  return b;
}

inline py::array_t<double> numpy_stack(const std::vector<Eigen::MatrixXd>& ms) {
  const Eigen::Index r = ms.empty() ? 0 : ms[0].rows(), c = ms.empty() ? 0 : ms[0].cols();
  py::array_t<double> out({static_cast<Eigen::Index>(ms.size()), r, c});
  auto w = out.mutable_unchecked<3>();
  for (std::size_t k = 0; k < ms.size(); ++k)
    for (Eigen::Index i = 0; i < r; ++i)
      for (Eigen::Index j = 0; j < c; ++j) w(static_cast<py::ssize_t>(k), i, j) = ms[k](i, j);
  return out;
}

/// JSON -> Python, with {"array": name} replaced by the NumPy array the sink holds; arrays of
/// numbers become 1-D NumPy arrays.
inline py::object python_of(const json& j, cldyn::tools::ArraySink& sink) {
  switch (j.type()) {
    case json::value_t::null: return py::none();
    case json::value_t::boolean: return py::bool_(j.get<bool>());
    case json::value_t::number_integer: return py::int_(j.get<long long>());
    case json::value_t::number_unsigned: return py::int_(j.get<unsigned long long>());
    case json::value_t::number_float: return py::float_(j.get<double>());
    case json::value_t::string: return py::str(j.get<std::string>());
    case json::value_t::array: {
      bool numbers = !j.empty();
      for (const json& v : j) numbers = numbers && v.is_number();
      if (numbers) {
        py::array_t<double> out(static_cast<py::ssize_t>(j.size()));
        auto w = out.mutable_unchecked<1>();
        for (std::size_t i = 0; i < j.size(); ++i) w(static_cast<py::ssize_t>(i)) = j[i].get<double>();
        return out;
      }
      py::list out;
      for (const json& v : j) out.append(python_of(v, sink));
      return out;
    }
    case json::value_t::object: {
      if (j.size() == 1 && j.contains("array") && j["array"].is_string()) {
        const auto& a = sink.arrays().at(j["array"].get<std::string>());
        return a.stacked ? py::object(numpy_stack(a.matrices)) : py::cast(a.matrices.front());
      }
      py::dict out;
      for (auto it = j.begin(); it != j.end(); ++it) out[py::str(it.key())] = python_of(it.value(), sink);
      return out;
    }
    default: return py::none();
  }
}

/// The analysis bindings (analysis.cpp), called from the module init.
void bind_analysis(py::module_& m);

}  // namespace cldyn::python
