#include "cldyn/core/activation.hpp"

#include <cstdlib>
#include <cmath>
#include <sstream>

#include "cldyn/core/validate.hpp"

namespace cldyn {

Activation Activation::leaky_relu(double gamma) {
  require(std::isfinite(gamma), "Activation::leaky_relu", "gamma", gamma, "gamma finite");
  return Activation(Kind::leaky_relu, gamma);
}

Activation Activation::parse(std::string_view text) {
  if (text == "linear") return linear();
  if (text == "relu") return relu();
  if (text.substr(0, 6) == "leaky:") {
    const std::string number(text.substr(6));
    char* end = nullptr;
    const double g = std::strtod(number.c_str(), &end);
    if (!number.empty() && end == number.c_str() + number.size()) return leaky_relu(g);
  }
  require(false, "Activation::parse", "activation", std::string(text),
          "one of linear | relu | leaky:<gamma>");
  return linear();
}

std::string Activation::name() const {
  switch (kind_) {
    case Kind::linear: return "linear";
    case Kind::relu: return "relu";
    case Kind::leaky_relu: return "leaky:" + shortest(gamma_);
  }
  return "unknown";
}

Eigen::MatrixXd Activation::gate(const Eigen::Ref<const Eigen::MatrixXd>& u) const {
  switch (kind_) {
    case Kind::linear: return Eigen::MatrixXd::Ones(u.rows(), u.cols());
    case Kind::relu: return (u.array() > 0.0).cast<double>().matrix();
    case Kind::leaky_relu:
      return (u.array() > 0.0).select(Eigen::MatrixXd::Ones(u.rows(), u.cols()),
                                      Eigen::MatrixXd::Constant(u.rows(), u.cols(), gamma_));
  }
  return Eigen::MatrixXd::Ones(u.rows(), u.cols());
}

Eigen::MatrixXd Activation::value(const Eigen::Ref<const Eigen::MatrixXd>& u) const {
  return gate(u).cwiseProduct(u);
}

}  // namespace cldyn
