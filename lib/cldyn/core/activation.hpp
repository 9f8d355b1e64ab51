#pragma once
/// \file activation.hpp
/// Homogeneous activations h(u) = h'(u)·u (theory §3): linear (h' = 1), ReLU (h' = 1[u>0]),
/// leaky ReLU with slope γ (h' = 1 if u > 0 else γ).

#include <Eigen/Core>
#include <string>
#include <string_view>
#include <type_traits>

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

  /// h(u) = u: the linear node, whose landscape is E = ½wᵀCw (theory §1).
  bool is_linear() const { return kind_ == Kind::linear; }
  /// h(−u) = −h(u), so w and −w are the same node up to sign (only the linear activation; a
  /// ReLU or leaky-ReLU node at −w is another node).
  bool sign_symmetric() const { return is_linear(); }

  /// Gate h'(u) in the scalar type S (double, float); at u = 0 the ReLU gate is 0 (1[u > 0]).
  template <class S>
    requires std::is_floating_point_v<S>
  S gate(S u) const {
    switch (kind_) {
      case Kind::linear: return S(1);
      case Kind::relu: return u > S(0) ? S(1) : S(0);
      case Kind::leaky_relu: return u > S(0) ? S(1) : static_cast<S>(gamma_);
    }
    return S(1);
  }
  /// h(u) = h'(u)·u in the scalar type S.
  template <class S>
    requires std::is_floating_point_v<S>
  S value(S u) const {
    return gate(u) * u;
  }

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
