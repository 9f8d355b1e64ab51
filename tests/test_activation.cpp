// Activation: values, gates, homogeneity and parsing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <type_traits>

#include "cldyn/core/activation.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

TEST(Activation, ValuesAndGates) {
  const Activation lin = Activation::linear(), relu = Activation::relu();
  const Activation leaky = Activation::leaky_relu(0.1);
  EXPECT_EQ(lin.kind(), Activation::Kind::linear);
  EXPECT_EQ(relu.kind(), Activation::Kind::relu);
  EXPECT_EQ(leaky.kind(), Activation::Kind::leaky_relu);
  EXPECT_EQ(leaky.gamma(), 0.1);

  EXPECT_EQ(lin.value(-2.5), -2.5);
  EXPECT_EQ(lin.gate(-2.5), 1.0);
  EXPECT_EQ(relu.value(-2.5), 0.0);
  EXPECT_EQ(relu.value(3.0), 3.0);
  EXPECT_EQ(relu.gate(3.0), 1.0);
  EXPECT_EQ(relu.gate(-3.0), 0.0);
  EXPECT_EQ(leaky.value(3.0), 3.0);
  EXPECT_DOUBLE_EQ(leaky.value(-2.0), -0.2);
  EXPECT_EQ(leaky.gate(-2.0), 0.1);
  EXPECT_EQ(leaky.gate(2.0), 1.0);
}

TEST(Activation, LinearityAndSignSymmetryAreAskedNotTestedByKind) {
  EXPECT_TRUE(Activation::linear().is_linear());
  EXPECT_TRUE(Activation::linear().sign_symmetric());
  EXPECT_FALSE(Activation::relu().is_linear());
  EXPECT_FALSE(Activation::relu().sign_symmetric());
  EXPECT_FALSE(Activation::leaky_relu(0.1).is_linear());
  EXPECT_FALSE(Activation::leaky_relu(0.1).sign_symmetric());
  // The sign symmetry claimed is h(-u) = -h(u).
  for (const Activation& a : {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.1)})
    EXPECT_EQ(a.value(-1.5) == -a.value(1.5), a.sign_symmetric()) << a.name();
}

TEST(Activation, FloatFormsAreTheDoubleFormsRounded) {
  const Activation leaky = Activation::leaky_relu(0.1);
  static_assert(std::is_same_v<decltype(leaky.gate(1.0f)), float>);
  static_assert(std::is_same_v<decltype(leaky.value(1.0f)), float>);
  EXPECT_EQ(leaky.gate(-2.0f), 0.1f);
  EXPECT_EQ(leaky.value(-2.0f), 0.1f * -2.0f);
  EXPECT_EQ(Activation::relu().value(-3.0f), 0.0f);
  EXPECT_EQ(Activation::relu().gate(0.0f), 0.0f);
  EXPECT_EQ(Activation::linear().value(-3.0f), -3.0f);
}

TEST(Activation, ReluAndLeakyGateAtZeroIsTheNegativeBranch) {
  EXPECT_EQ(Activation::relu().gate(0.0), 0.0);
  EXPECT_EQ(Activation::relu().gate(-0.0), 0.0);
  EXPECT_EQ(Activation::leaky_relu(0.3).gate(0.0), 0.3);
  EXPECT_EQ(Activation::relu().value(0.0), 0.0);
}

TEST(Activation, HomogeneityAndMatrixFormsAgreeWithScalarForms) {
  const Eigen::VectorXd u_values =
      (Eigen::VectorXd(7) << -3.0, -1e-300, -0.0, 0.0, 1e-300, 0.5, 4.0).finished();
  Eigen::MatrixXd u(7, 2);
  u.col(0) = u_values;
  u.col(1) = -u_values;
  for (const Activation act :
       {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.2)}) {
    const Eigen::MatrixXd g = act.gate(u), h = act.value(u);
    ASSERT_EQ(g.rows(), 7);
    ASSERT_EQ(g.cols(), 2);
    for (Eigen::Index j = 0; j < u.cols(); ++j) {
      for (Eigen::Index i = 0; i < u.rows(); ++i) {
        // h(u) = h'(u)·u exactly: both sides are the same single product.
        EXPECT_EQ(act.value(u(i, j)), act.gate(u(i, j)) * u(i, j)) << act.name();
        EXPECT_EQ(g(i, j), act.gate(u(i, j))) << act.name();
        EXPECT_EQ(h(i, j), act.value(u(i, j))) << act.name();
      }
    }
  }
}

TEST(Activation, ParseAndNameRoundTrip) {
  EXPECT_EQ(Activation::parse("linear").kind(), Activation::Kind::linear);
  EXPECT_EQ(Activation::parse("relu").kind(), Activation::Kind::relu);
  const Activation leaky = Activation::parse("leaky:0.1");
  EXPECT_EQ(leaky.kind(), Activation::Kind::leaky_relu);
  EXPECT_EQ(leaky.gamma(), 0.1);
  EXPECT_EQ(leaky.name(), "leaky:0.1");  // shortest round-trip text, not 0.10000000000000001
  EXPECT_EQ(Activation::relu().name(), "relu");
  EXPECT_EQ(Activation::linear().name(), "linear");
  for (const Activation act :
       {Activation::linear(), Activation::relu(), Activation::leaky_relu(0.1),
        Activation::leaky_relu(-0.25)}) {
    const Activation back = Activation::parse(act.name());
    EXPECT_EQ(back.kind(), act.kind());
    EXPECT_EQ(back.gamma(), act.gamma());  // name() prints 17 digits: exact round trip
  }
}

TEST(Activation, ParseErrorsNameTheOffendingText) {
  for (const char* bad : {"tanh", "leaky:", "leaky:abc", "leaky:0.1x", "", "RELU"}) {
    const std::string msg = test::invalid_argument_message([&] { Activation::parse(bad); });
    EXPECT_THAT(msg, HasSubstr("activation = " + std::string(bad) + " violates")) << bad;
  }
}

TEST(Activation, LeakyRejectsNonFiniteSlope) {
  EXPECT_THAT(test::invalid_argument_message([] {
                Activation::leaky_relu(std::numeric_limits<double>::quiet_NaN());
              }),
              HasSubstr("gamma"));
  EXPECT_THAT(test::invalid_argument_message([] { Activation::parse("leaky:inf"); }),
              HasSubstr("gamma"));
}

}  // namespace
}  // namespace cldyn
