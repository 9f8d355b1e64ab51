// The extension module cldyn._checks: every check's computation, run in-process with the same
// parse, validation and JSON as its executable (experiments/common/shape.hpp, run_registered).
// python/cldyn/checks.py turns keyword arguments into the check's flags and the JSON into a dict.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <tuple>
#include <vector>

#include "common/shape.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_checks, m) {
  m.doc() = "cldyn's checks, run in-process (see cldyn.checks)";
  m.def("names", [] {
    std::vector<std::tuple<std::string, std::string>> out;
    for (const auto& c : cldyn::experiments::check_registry()) out.emplace_back(c.info.name, c.info.description);
    return out;
  }, "(name, description) of every check linked in");
  m.def(
      "run",
      [](const std::string& name, const std::vector<std::string>& args) {
        cldyn::experiments::CheckRun run;
        {
          py::gil_scoped_release release;  // a check runs seconds to minutes
          run = cldyn::experiments::run_registered(name, args);
        }
        return std::make_tuple(run.exit_code, run.result.is_null() ? std::string() : run.result.dump(),
                               run.output, run.error);
      },
      py::arg("name"), py::arg("args"),
      "Runs check `name` with command-line words `args`; returns (exit_code, result JSON text or '', "
      "stdout text, stderr text). Raises ValueError for an unknown check.");
}
