// TwoViewBatch validation and the shared argument checks of validate.hpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>

#include "cldyn/core/batch.hpp"
#include "cldyn/core/validate.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

TEST(TwoViewBatch, AcceptsAValidBatch) {
  const TwoViewBatch b = test::gaussian_batch(5, 3, 0.1, 1);
  EXPECT_EQ(b.size(), 5);
  EXPECT_EQ(b.dim(), 3);
  EXPECT_NO_THROW(b.validate());
}

TEST(TwoViewBatch, RejectsBadBatchesNamingTheProblemAndTheCaller) {
  TwoViewBatch one;
  one.x = Eigen::MatrixXd::Ones(1, 3);
  one.x_prime = one.x;
  EXPECT_THAT(test::invalid_argument_message([&] { one.validate("my_routine"); }),
              HasSubstr("my_routine: N (rows of X) = 1"));
  TwoViewBatch no_dim;
  no_dim.x = Eigen::MatrixXd(4, 0);
  no_dim.x_prime = no_dim.x;
  EXPECT_THAT(test::invalid_argument_message([&] { no_dim.validate(); }),
              HasSubstr("d (columns of X) = 0"));
  TwoViewBatch mismatch = test::gaussian_batch(5, 3, 0.1, 2);
  mismatch.x_prime = Eigen::MatrixXd::Zero(5, 2);
  EXPECT_THAT(test::invalid_argument_message([&] { mismatch.validate(); }),
              HasSubstr("X' (second view) has shape 5x2"));
  TwoViewBatch nan = test::gaussian_batch(5, 3, 0.1, 3);
  nan.x(2, 1) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(test::invalid_argument_message([&] { nan.validate(); }), HasSubstr("X(2,1) = nan"));
  EXPECT_THAT(test::invalid_argument_message([&] { validate_views(nan.x_prime, nan.x, "f"); }),
              HasSubstr("f: X'(2,1)"));
}

TEST(Validate, RequireFormatsParameterValueAndConstraint) {
  EXPECT_NO_THROW(require(true, "where", "param", 1, "anything"));
  EXPECT_THAT(test::invalid_argument_message([] { require(false, "fn", "tau", -2.5, "tau > 0"); }),
              HasSubstr("fn: tau = -2.5 violates tau > 0"));
  EXPECT_THAT(test::invalid_argument_message(
                  [] { require_shape(Eigen::MatrixXd::Zero(2, 3), 3, 3, "fn", "M"); }),
              HasSubstr("fn: M has shape 2x3, violates the required shape 3x3"));
  EXPECT_NO_THROW(require_shape(Eigen::MatrixXd::Zero(3, 3), 3, 3, "fn", "M"));
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(2, 2);
  m(1, 0) = -std::numeric_limits<double>::infinity();
  EXPECT_THAT(test::invalid_argument_message([&] { require_finite(m, "fn", "M"); }),
              HasSubstr("fn: M(1,0) = -inf"));
}

TEST(Validate, ShortestRoundTrips) {
  EXPECT_EQ(shortest(0.05), "0.05");
  EXPECT_EQ(shortest(1.0), "1");
  EXPECT_EQ(shortest(-2.5), "-2.5");
  for (double v : {0.1, 1.0 / 3.0, 6.02214076e23, -1e-300, 5e-324}) {
    // Exact round trip (strtod, not stod: stod rejects subnormals with ERANGE).
    EXPECT_EQ(std::strtod(shortest(v).c_str(), nullptr), v) << shortest(v);
  }
}

}  // namespace
}  // namespace cldyn
