#pragma once
/// \file activation.hpp
/// Homogeneous activations h(u) = h'(u)·u (theory §3): linear (h' = 1), ReLU (h' = 1[u>0]),
/// leaky ReLU with slope γ (h' = 1 if u > 0 else γ).

#include <Eigen/Core>
#include <string>
#include <string_view>

namespace cldyn {

class Activation {
 public:
  enum class Kind { linear, relu, leaky_relu };

  static Activation linear() { return Activation(Kind::linear, 0.0); }
  static Activation relu() { return Activation(Kind::relu, 0.0); }
  /// Leaky ReLU with negative slope γ (finite).
  static Activation leaky_relu(double gamma);
  /// Parses "linear", "relu" or "leaky:γ" (e.g. "leaky:0.1"); throws std::invalid_argument
  /// naming the text otherwise.
  static Activation parse(std::string_view text);

  Kind kind() const { return kind_; }
  double gamma() const { return gamma_; }
  /// The text parse() accepts for this activation.
  std::string name() const;

  /// Gate h'(u); at u = 0 the ReLU gate is 0 (1[u > 0]).
  double gate(double u) const {
    switch (kind_) {
      case Kind::linear: return 1.0;
      case Kind::relu: return u > 0.0 ? 1.0 : 0.0;
      case Kind::leaky_relu: return u > 0.0 ? 1.0 : gamma_;
    }
    return 1.0;
  }
  /// h(u) = h'(u)·u.
  double value(double u) const { return gate(u) * u; }

  /// Elementwise h'(U).
  Eigen::MatrixXd gate(const Eigen::Ref<const Eigen::MatrixXd>& u) const;
  /// Elementwise h(U).
  Eigen::MatrixXd value(const Eigen::Ref<const Eigen::MatrixXd>& u) const;

 private:
  Activation(Kind k, double g) : kind_(k), gamma_(g) {}
  Kind kind_;
  double gamma_;
};

}  // namespace cldyn
