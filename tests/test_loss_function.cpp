// The loss concept (lib/cldyn/core/loss.hpp): Loss holds one LossFunction type and forwards to
// it bit for bit; node_hessian is the derivative of the output gradient at fixed gates; the
// capability queries (uniform_alpha, as<T>) that algorithms use instead of testing a kind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cldyn/core/loss.hpp"
#include "cldyn/core/rng.hpp"

namespace cldyn {
namespace {

using testing::HasSubstr;

struct Views {
  Eigen::MatrixXd a, a_prime;  // gated inputs of node k (here: the linear node, a = X)
  Eigen::MatrixXd w;           // d × p weights
  Eigen::MatrixXd f, f_prime;  // outputs X·W, X'·W
};

Views linear_views(Eigen::Index n, Eigen::Index d, Eigen::Index p, std::uint64_t seed) {
  Rng rng(seed);
  Views v;
  v.a = rng.normal_matrix(n, d);
  v.a_prime = v.a + 0.3 * rng.normal_matrix(n, d);
  v.w = 0.5 * rng.normal_matrix(d, p);
  v.f = v.a * v.w;
  v.f_prime = v.a_prime * v.w;
  return v;
}

/// A loss outside cldyn, written the way a contributor would start one: the concept accepts it.
struct ScaledQuadratic {
  static constexpr bool uniform_alpha = true;
  double scale = 2.0;
  std::string name() const { return "scaled_quadratic"; }
  double value(const Eigen::Ref<const Eigen::MatrixXd>& f,
               const Eigen::Ref<const Eigen::MatrixXd>& fp) const {
    return scale * QuadraticLoss{}.value(f, fp);
  }
  PairwiseImportance pairwise_importance(const Eigen::Ref<const Eigen::MatrixXd>& f,
                                         const Eigen::Ref<const Eigen::MatrixXd>&) const {
    return PairwiseImportance::uniform(f.rows());
  }
  LossEvaluation evaluate(const Eigen::Ref<const Eigen::MatrixXd>& f,
                          const Eigen::Ref<const Eigen::MatrixXd>& fp) const {
    return {value(f, fp), pairwise_importance(f, fp)};
  }
  std::pair<Eigen::MatrixXd, Eigen::MatrixXd> output_gradient(
      const Eigen::Ref<const Eigen::MatrixXd>& f, const Eigen::Ref<const Eigen::MatrixXd>& fp) const {
    auto g = QuadraticLoss{}.output_gradient(f, fp);
    return {scale * g.first, scale * g.second};
  }
  Eigen::MatrixXd node_hessian(const Eigen::MatrixXd& a, const Eigen::MatrixXd& ap,
                               const Eigen::Ref<const Eigen::MatrixXd>& f,
                               const Eigen::Ref<const Eigen::MatrixXd>& fp, Eigen::Index k) const {
    return scale * QuadraticLoss{}.node_hessian(a, ap, f, fp, k);
  }
};
static_assert(LossFunction<ScaledQuadratic>);
static_assert(!LossFunction<int>);

TEST(LossFunction, LossForwardsToItsTypeBitForBit) {
  const Views v = linear_views(12, 4, 3, 1);
  const InfoNceLoss nce{0.5, 1.0};
  const Loss l = Loss::infonce(0.5, 1.0);
  EXPECT_EQ(l.value(v.f, v.f_prime), nce.value(v.f, v.f_prime));
  EXPECT_EQ(l.evaluate(v.f, v.f_prime).value, nce.value(v.f, v.f_prime));
  EXPECT_EQ(l.pairwise_importance(v.f, v.f_prime).matrix(),
            nce.pairwise_importance(v.f, v.f_prime).matrix());
  EXPECT_EQ(l.output_gradient(v.f, v.f_prime).first, nce.output_gradient(v.f, v.f_prime).first);
  EXPECT_EQ(l.name(), nce.name());
  const Loss q = Loss::quadratic();
  EXPECT_EQ(q.value(v.f, v.f_prime), QuadraticLoss{}.value(v.f, v.f_prime));
  EXPECT_EQ(q.output_gradient(v.f, v.f_prime).second,
            QuadraticLoss{}.output_gradient(v.f, v.f_prime).second);
}

TEST(LossFunction, CapabilitiesAreAskedOfTheHeldType) {
  const Loss q = Loss::quadratic(), l = Loss::infonce(0.2, 0.5);
  EXPECT_TRUE(q.uniform_alpha());
  EXPECT_FALSE(l.uniform_alpha());
  EXPECT_NE(q.as<QuadraticLoss>(), nullptr);
  EXPECT_EQ(q.as<InfoNceLoss>(), nullptr);
  ASSERT_NE(l.as<InfoNceLoss>(), nullptr);
  EXPECT_EQ(l.as<InfoNceLoss>()->tau, 0.2);
  EXPECT_EQ(l.tau(), 0.2);
  EXPECT_EQ(l.eps(), 0.5);
  EXPECT_EQ(q.tau(), 0.0);  // documented: 0 for a loss without a temperature
  EXPECT_EQ(q.kind(), Loss::Kind::quadratic);
  EXPECT_EQ(l.kind(), Loss::Kind::infonce);
}

// The node Hessian of a linear node (gates 1, a = X) is the Jacobian in w_k of
// Xᵀ ∂L/∂f_k + X'ᵀ ∂L/∂f'_k: compared with central differences of the output gradient.
TEST(LossFunction, NodeHessianIsTheDerivativeOfTheOutputGradient) {
  for (const Loss& loss : {Loss::quadratic(), Loss::infonce(0.7, 1.0), Loss::infonce(0.3, 0.0)}) {
    const Views v = linear_views(10, 3, 2, 7);
    const Eigen::Index k = 1, d = v.w.rows();
    auto grad = [&](const Eigen::MatrixXd& w) {
      const Eigen::MatrixXd f = v.a * w, fp = v.a_prime * w;
      const auto [df, dfp] = loss.output_gradient(f, fp);
      return Eigen::VectorXd(v.a.transpose() * df.col(k) + v.a_prime.transpose() * dfp.col(k));
    };
    const Eigen::MatrixXd h = loss.node_hessian(v.a, v.a_prime, v.f, v.f_prime, k);
    ASSERT_EQ(h.rows(), d);
    EXPECT_EQ(h, h.transpose()) << loss.name();
    Eigen::MatrixXd fd(d, d);
    const double step = 1e-5;
    for (Eigen::Index j = 0; j < d; ++j) {
      Eigen::MatrixXd up = v.w, down = v.w;
      up(j, k) += step;
      down(j, k) -= step;
      fd.col(j) = (grad(up) - grad(down)) / (2.0 * step);
    }
    // Central differences of an O(1) gradient with step 1e-5: truncation ~1e-10, rounding ~1e-11.
    EXPECT_LT((h - fd).norm(), 1e-6 * std::max(1.0, h.norm())) << loss.name();
  }
}

TEST(LossFunction, NodeHessianRejectsABadNodeOrShape) {
  const Views v = linear_views(6, 3, 2, 3);
  const Loss l = Loss::quadratic();
  try {
    (void)l.node_hessian(v.a, v.a_prime, v.f, v.f_prime, 2);
    FAIL() << "k = 2 of p = 2 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("Loss::node_hessian"));
    EXPECT_THAT(e.what(), HasSubstr("0 <= k < p = 2"));
  }
  const Eigen::MatrixXd short_a = v.a.topRows(5);
  EXPECT_THROW((void)l.node_hessian(short_a, v.a_prime, v.f, v.f_prime, 0), std::invalid_argument);
}

}  // namespace
}  // namespace cldyn
