// The SimCLR conventions (lib/cldyn/models/convention.hpp): negatives from view 1 or both views,
// distances on raw or ℓ2-normalised outputs. Identity A, central differences, an independent
// naive implementation of each loss and of NT-Xent, the partner entries of α, and the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/core.hpp"
#include "cldyn/models/convention.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

// Identity A is exact algebra: both sides are sums of the same O(M²) terms in another order, so
// they agree to rounding (~1e-15 relative here); 1e-10 is the contract of theory §7.
constexpr double kIdentityTolerance = 1e-10;
// Central differences with relative step 6e-6: truncation O(h²) ≈ 4e-11 times the third
// derivative, rounding O(1e-16·|L|/h) ≈ 1e-10 relative to |∇L| here; 1e-6 leaves margin and a
// wrong term would change the gradient at O(1).
constexpr double kFiniteDifferenceTolerance = 1e-6;
// Two implementations of the same finite sum in different orders (and 1 − cos vs ½‖f̂_a − f̂_b‖²):
// each term is exact to a few ulps of its own size, so the difference is bounded by a few
// hundred ulps of the sum of the terms' magnitudes.
constexpr double kSumTolerance = 1e-12;

std::vector<Convention> all_conventions() {
  return {{Negatives::first_view, Distance::raw},
          {Negatives::first_view, Distance::normalized},
          {Negatives::both_views, Distance::raw},
          {Negatives::both_views, Distance::normalized}};
}

std::vector<Loss> all_losses() {
  return {Loss::quadratic(), Loss::infonce(0.5, 1.0), Loss::infonce(0.3, 2.0)};
}

/// A batch and a d × K W with every output row of norm ≥ 0.1 (so normalisation is defined and
/// smooth) and every sample at least 1e-3 (in cosine) from every gate boundary (so the central
/// differences below, with steps ≤ 6e-6·max(|w|, 1), never cross a ReLU kink). W is redrawn from
/// one seeded stream until both hold: deterministic data selection, not a retried assertion.
struct Problem {
  TwoViewBatch batch;
  Eigen::MatrixXd w;
};

Problem make_problem(const Activation& act, std::uint64_t seed) {
  constexpr Eigen::Index n = 6, d = 4, k = 3;
  Problem p{test::gaussian_batch(n, d, 0.3, seed), Eigen::MatrixXd()};
  Rng rng(seed + 100);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    p.w = rng.normal_matrix(d, k);
    const Eigen::MatrixXd f = act.value(p.batch.x * p.w), fp = act.value(p.batch.x_prime * p.w);
    const double min_norm = std::min(f.rowwise().norm().minCoeff(), fp.rowwise().norm().minCoeff());
    if (min_norm >= 0.1 && test::gate_margin(p.batch, p.w) >= 1e-3) return p;
  }
  throw std::runtime_error("make_problem: no W with nonzero outputs away from the kinks");
}

// ---- independent naive implementation, written from the formulas ----------------------------

/// f_k(x) = h(w_kᵀx) by explicit loops (linear or ReLU).
Eigen::MatrixXd naive_forward(const Eigen::MatrixXd& x, const Eigen::MatrixXd& w, bool relu) {
  Eigen::MatrixXd f(x.rows(), w.cols());
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index k = 0; k < w.cols(); ++k) {
      double u = 0.0;
      for (Eigen::Index j = 0; j < x.cols(); ++j) u += x(i, j) * w(j, k);
      f(i, k) = relu && u <= 0.0 ? 0.0 : u;
    }
  }
  return f;
}

double dot(const Eigen::VectorXd& u, const Eigen::VectorXd& v) {
  double s = 0.0;
  for (Eigen::Index k = 0; k < u.size(); ++k) s += u(k) * v(k);
  return s;
}

/// cos(u, v) = uᵀv/(‖u‖‖v‖).
double cosine(const Eigen::VectorXd& u, const Eigen::VectorXd& v) {
  return dot(u, v) / std::sqrt(dot(u, u) * dot(v, v));
}

/// d²(u, v): ½‖u − v‖² (raw) or 1 − cos(u, v) (normalised).
double naive_d2(const Eigen::VectorXd& u, const Eigen::VectorXd& v, bool normalized) {
  if (normalized) return 1.0 - cosine(u, v);
  double s = 0.0;
  for (Eigen::Index k = 0; k < u.size(); ++k) s += 0.5 * (u(k) - v(k)) * (u(k) - v(k));
  return s;
}

/// One anchor: its output, its positive and its negatives (indices into the anchor list for α).
struct Anchor {
  Eigen::VectorXd z, positive;
  std::vector<std::pair<Eigen::Index, Eigen::VectorXd>> negatives;
};

/// First view: anchors f[i], positive f'[i], negatives f[j], j ≠ i. Both views: anchors z_a of
/// Z = [F; F'], positive z_{a±N}, negatives z_b, b ∉ {a, a±N}.
std::vector<Anchor> anchors(const Eigen::MatrixXd& f1, const Eigen::MatrixXd& f2, Negatives neg) {
  const Eigen::Index n = f1.rows();
  std::vector<Anchor> out;
  if (neg == Negatives::first_view) {
    for (Eigen::Index i = 0; i < n; ++i) {
      Anchor a{f1.row(i).transpose(), f2.row(i).transpose(), {}};
      for (Eigen::Index j = 0; j < n; ++j)
        if (j != i) a.negatives.push_back({j, f1.row(j).transpose()});
      out.push_back(a);
    }
    return out;
  }
  auto z = [&](Eigen::Index a) -> Eigen::VectorXd {
    return a < n ? f1.row(a).transpose() : f2.row(a - n).transpose();
  };
  for (Eigen::Index a = 0; a < 2 * n; ++a) {
    const Eigen::Index partner = a < n ? a + n : a - n;
    Anchor an{z(a), z(partner), {}};
    for (Eigen::Index b = 0; b < 2 * n; ++b)
      if (b != a && b != partner) an.negatives.push_back({b, z(b)});
    out.push_back(an);
  }
  return out;
}

struct NaiveLoss {
  double value = 0.0;
  double magnitude = 0.0;  // Σ of the terms' magnitudes: the scale of the rounding
  Eigen::MatrixXd alpha;   // M × M
  Eigen::VectorXd p_pos;   // M: ε·e^{−d²(a,a⁺)/τ}/Z_a (0 for the quadratic loss)
};

/// L = Σ_a [d²(a,a⁺) + τ·log(ε·e^{−d²(a,a⁺)/τ} + Σ_neg e^{−d²(a,b)/τ})] or Σ_a Σ_neg
/// (d²(a,a⁺) − d²(a,b)), and α_ab = e^{−d²(a,b)/τ}/Z_a (1 for the quadratic loss).
NaiveLoss naive_loss(const Eigen::MatrixXd& f1, const Eigen::MatrixXd& f2, const Loss& loss,
                     const Convention& c) {
  const bool normalized = c.distance == Distance::normalized;
  const std::vector<Anchor> list = anchors(f1, f2, c.negatives);
  const auto m = static_cast<Eigen::Index>(list.size());
  NaiveLoss out{0.0, 0.0, Eigen::MatrixXd::Zero(m, m), Eigen::VectorXd::Zero(m)};
  for (Eigen::Index a = 0; a < m; ++a) {
    const Anchor& an = list[static_cast<std::size_t>(a)];
    const double dp = naive_d2(an.z, an.positive, normalized);
    if (loss.kind() == Loss::Kind::quadratic) {
      for (const auto& [b, zb] : an.negatives) {
        const double term = dp - naive_d2(an.z, zb, normalized);
        out.value += term;
        out.magnitude += std::abs(dp) + std::abs(term);
        out.alpha(a, b) = 1.0;
      }
      continue;
    }
    const double tau = loss.tau();
    double z_a = loss.eps() * std::exp(-dp / tau);
    for (const auto& [b, zb] : an.negatives) z_a += std::exp(-naive_d2(an.z, zb, normalized) / tau);
    for (const auto& [b, zb] : an.negatives)
      out.alpha(a, b) = std::exp(-naive_d2(an.z, zb, normalized) / tau) / z_a;
    out.p_pos(a) = loss.eps() * std::exp(-dp / tau) / z_a;
    out.value += dp + tau * std::log(z_a);
    // log Z_a carries an absolute rounding error of a few ulps of 1 (Z_a's relative error).
    out.magnitude += std::abs(dp) + tau * (std::abs(std::log(z_a)) + 1.0);
  }
  return out;
}

/// NT-Xent as usually written: mean over the 2N anchors of
/// −log( e^{cos(a,a⁺)/τ} / Σ_{b≠a} e^{cos(a,b)/τ} ), on Z = [F; F'].
double naive_nt_xent(const Eigen::MatrixXd& f1, const Eigen::MatrixXd& f2, double tau) {
  const Eigen::Index n = f1.rows();
  Eigen::MatrixXd z(2 * n, f1.cols());
  z << f1, f2;
  double sum = 0.0;
  for (Eigen::Index a = 0; a < 2 * n; ++a) {
    const Eigen::Index partner = a < n ? a + n : a - n;
    double denominator = 0.0;
    for (Eigen::Index b = 0; b < 2 * n; ++b)
      if (b != a) denominator += std::exp(cosine(z.row(a), z.row(b)) / tau);
    sum -= std::log(std::exp(cosine(z.row(a), z.row(partner)) / tau) / denominator);
  }
  return sum / static_cast<double>(2 * n);
}

std::string label(const Convention& c, const Loss& l, const Activation& a) {
  return c.name() + " " + l.name() + " " + a.name();
}

// ---- tests --------------------------------------------------------------------------------------

TEST(Convention, IdentityAAndCentralDifferencesForEveryConventionLossAndActivation) {
  std::uint64_t seed = 1;
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    for (const Convention& conv : all_conventions()) {
      for (const Loss& loss : all_losses()) {
        SCOPED_TRACE(label(conv, loss, act));
        const Problem p = make_problem(act, seed++);
        const OneLayerNetwork net(p.w, act);
        const ConventionEvaluation e = evaluate(net, p.batch, loss, conv);
        const Eigen::Index n = p.batch.size();
        ASSERT_EQ(e.samples, conv.negatives == Negatives::both_views ? 2 * n : n);
        ASSERT_EQ(e.alpha.size(), e.samples);
        const double m = static_cast<double>(e.samples);
        EXPECT_LE(test::relative_error(e.loss_gradient, -2.0 * m * m * e.energy_gradient),
                  kIdentityTolerance);
        const auto loss_at = [&](const Eigen::MatrixXd& w) {
          return evaluate(OneLayerNetwork(w, act), p.batch, loss, conv).loss;
        };
        const analysis::GradientCheckResult fd =
            analysis::check_gradient(loss_at, p.w, e.loss_gradient);
        EXPECT_LE(fd.relative_error, kFiniteDifferenceTolerance);
        EXPECT_GT(e.loss_gradient.norm(), 0.0);  // a zero gradient would pass the relative checks
      }
    }
  }
}

TEST(Convention, LossAndAlphaMatchAnIndependentNaiveImplementation) {
  std::uint64_t seed = 50;
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    const bool relu = act.kind() == Activation::Kind::relu;
    for (const Convention& conv : all_conventions()) {
      for (const Loss& loss : all_losses()) {
        SCOPED_TRACE(label(conv, loss, act));
        const Problem p = make_problem(act, seed++);
        const ConventionEvaluation e = evaluate(OneLayerNetwork(p.w, act), p.batch, loss, conv);
        const NaiveLoss naive = naive_loss(naive_forward(p.batch.x, p.w, relu),
                                           naive_forward(p.batch.x_prime, p.w, relu), loss, conv);
        EXPECT_LE(std::abs(e.loss - naive.value), kSumTolerance * naive.magnitude);
        // α entries are softmax weights in [0, 1] (or 1): absolute agreement to rounding, with
        // zeros on the diagonal and (both views) on the partner entries exactly.
        const Eigen::MatrixXd alpha = e.alpha.matrix();
        EXPECT_LE((alpha - naive.alpha).cwiseAbs().maxCoeff(), kSumTolerance);
        EXPECT_TRUE(((alpha.array() == 0.0) == (naive.alpha.array() == 0.0)).all());
        // Row sums r_a = 1 − p⁺_a (softmax normalisation, partner counted in p⁺ with weight ε).
        if (loss.kind() == Loss::Kind::infonce) {
          EXPECT_LE((e.alpha.row_sums() + naive.p_pos - Eigen::VectorXd::Ones(e.samples))
                        .cwiseAbs()
                        .maxCoeff(),
                    kSumTolerance);
        }
      }
    }
  }
}

TEST(Convention, NtXentIsTheSymmetricNormalisedLossOverTwoNTau) {
  const Convention nt_xent{Negatives::both_views, Distance::normalized};
  std::uint64_t seed = 90;
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    for (const double tau : {0.5, 0.3, 0.07}) {
      SCOPED_TRACE(act.name() + " tau=" + std::to_string(tau));
      const Problem p = make_problem(act, seed++);
      const OneLayerNetwork net(p.w, act);
      const ConventionEvaluation e = evaluate(net, p.batch, Loss::infonce(tau, 1.0), nt_xent);
      const double expected =
          naive_nt_xent(net.forward(p.batch.x), net.forward(p.batch.x_prime), tau);
      const double two_n = static_cast<double>(2 * p.batch.size());
      // NT-Xent is O(log 2N) per anchor; rounding of a sum of 2N such terms (and exp(cos/τ)
      // vs e^{−(1−cos)/τ}) stays within a few hundred ulps.
      EXPECT_NEAR(e.loss / (two_n * tau), expected, kSumTolerance * std::max(1.0, expected));
    }
  }
}

TEST(Convention, PartnerEntriesChangeNeitherEnergyNorContrastiveCovariance) {
  std::uint64_t seed = 120;
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    for (const Distance distance : {Distance::raw, Distance::normalized}) {
      for (const Loss& loss : all_losses()) {
        SCOPED_TRACE(act.name() + " " + loss.name());
        const Problem p = make_problem(act, seed++);
        const OneLayerNetwork net(p.w, act);
        const TwoViewBatch b2 = symmetric_batch(p.batch);
        Eigen::MatrixXd f = net.forward(b2.x), fp = net.forward(b2.x_prime);
        if (distance == Distance::normalized) {
          f.rowwise().normalize();
          fp.rowwise().normalize();
        }
        const PairwiseImportance full = symmetric_form(loss).pairwise_importance(f, fp);
        const PairwiseImportance zeroed = without_partners(full);
        const Eigen::Index n = p.batch.size();
        for (Eigen::Index i = 0; i < n; ++i) {
          EXPECT_GT(full(i, i + n), 0.0);  // the partner entry is there to be removed
          EXPECT_EQ(zeroed(i, i + n), 0.0);
          EXPECT_EQ(zeroed(i + n, i), 0.0);
        }
        // The partner terms vanish identically (x'_a = x_{a⁺} on the doubled batch): the rest
        // is rounding of sums of equal terms in the same order (relative 1e-12, theory §7).
        const double e_full = contrastive_energy(full, f, fp);
        const double e_zeroed = contrastive_energy(zeroed, f, fp);
        EXPECT_LE(std::abs(e_full - e_zeroed), kSumTolerance * std::abs(e_full));
        EXPECT_LE(test::relative_error(contrastive_covariance(zeroed, f, fp),
                                       contrastive_covariance(full, f, fp)),
                  kSumTolerance);
        EXPECT_LE(test::relative_error(contrastive_covariance(zeroed, b2.x, b2.x_prime),
                                       contrastive_covariance(full, b2.x, b2.x_prime)),
                  kSumTolerance);
        const ConventionEvaluation e =
            evaluate(net, p.batch, loss, {Negatives::both_views, distance});
        EXPECT_LE(std::abs(e.energy - e_full), kSumTolerance * std::abs(e_full));
      }
    }
  }
}

TEST(Convention, FirstViewRawReproducesTheLibraryExactly) {
  std::uint64_t seed = 200;
  for (const Activation act : {Activation::linear(), Activation::relu()}) {
    for (const Loss& loss : all_losses()) {
      SCOPED_TRACE(act.name() + " " + loss.name());
      const Problem p = make_problem(act, seed++);
      const OneLayerNetwork net(p.w, act);
      const ConventionEvaluation e = evaluate(net, p.batch, loss, Convention{});
      const Eigen::MatrixXd f = net.forward(p.batch.x), fp = net.forward(p.batch.x_prime);
      const LossEvaluation today = loss.evaluate(f, fp);
      EXPECT_EQ(e.samples, p.batch.size());
      EXPECT_EQ(e.loss, today.value);
      EXPECT_EQ(e.loss, loss.value(f, fp));
      EXPECT_TRUE(e.alpha.matrix() == today.alpha.matrix());
      EXPECT_EQ(e.energy, net.energy(p.batch, today.alpha));
      EXPECT_TRUE(e.loss_gradient == net.loss_gradient(p.batch, loss));
      EXPECT_TRUE(e.energy_gradient == net.energy_gradient(p.batch, today.alpha));
    }
  }
}

TEST(Convention, BothViewsRefuseEpsBelowOne) {
  const Problem p = make_problem(Activation::linear(), 300);
  const OneLayerNetwork net(p.w, Activation::linear());
  for (const double eps : {0.0, 0.5}) {
    const std::string msg = test::invalid_argument_message([&] {
      (void)evaluate(net, p.batch, Loss::infonce(0.5, eps), {Negatives::both_views, Distance::raw});
    });
    EXPECT_NE(msg.find("eps = " + shortest(eps)), std::string::npos) << msg;
    EXPECT_NE(msg.find("eps >= 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("decoupled"), std::string::npos) << msg;
    EXPECT_NE(test::invalid_argument_message([&] {
                (void)symmetric_form(Loss::infonce(1.0, eps));
              }).find("eps >= 1"),
              std::string::npos);
  }
  // First view keeps ε ≥ 0 (ε = 0 is a valid first-view loss).
  EXPECT_NO_THROW((void)evaluate(net, p.batch, Loss::infonce(0.5, 0.0), Convention{}));
  EXPECT_EQ(symmetric_form(Loss::infonce(0.5, 1.0)).eps(), 0.0);
  EXPECT_EQ(symmetric_form(Loss::quadratic()).kind(), Loss::Kind::quadratic);
}

TEST(Convention, ZeroOutputRowWithNormalisedDistancesNamesSampleAndView) {
  TwoViewBatch b = test::gaussian_batch(5, 3, 0.3, 310);
  const OneLayerNetwork net(Eigen::MatrixXd::Identity(3, 2), Activation::linear());
  b.x_prime.row(2) << 0.0, 0.0, 1.0;  // outputs (x_1, x_2) = 0 for this sample's second view
  for (const Negatives neg : {Negatives::first_view, Negatives::both_views}) {
    const std::string msg = test::invalid_argument_message([&] {
      (void)evaluate(net, b, Loss::infonce(0.5), {neg, Distance::normalized});
    });
    EXPECT_NE(msg.find("sample 2 in view 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("0 < ||f||"), std::string::npos) << msg;
    // Raw distances need no direction: the same batch is fine.
    EXPECT_NO_THROW((void)evaluate(net, b, Loss::infonce(0.5), {neg, Distance::raw}));
  }
  b.x.row(4) << 0.0, 0.0, -2.0;
  const std::string msg = test::invalid_argument_message([&] {
    (void)evaluate(net, b, Loss::quadratic(), {Negatives::first_view, Distance::normalized});
  });
  EXPECT_NE(msg.find("sample 4 in view 1"), std::string::npos) << msg;
}

TEST(Convention, ParseAcceptsTheDocumentedWordsAndRefusesOthers) {
  EXPECT_EQ(parse_negatives("view1"), Negatives::first_view);
  EXPECT_EQ(parse_negatives("both"), Negatives::both_views);
  EXPECT_EQ(parse_negatives("first_view"), Negatives::first_view);
  EXPECT_EQ(parse_negatives("both_views"), Negatives::both_views);
  EXPECT_EQ(parse_distance("raw"), Distance::raw);
  EXPECT_EQ(parse_distance("normalized"), Distance::normalized);
  const std::string neg = test::invalid_argument_message([] { (void)parse_negatives("view2"); });
  EXPECT_NE(neg.find("view2"), std::string::npos) << neg;
  EXPECT_NE(neg.find("view1 | both"), std::string::npos) << neg;
  const std::string dist = test::invalid_argument_message([] { (void)parse_distance("cosine"); });
  EXPECT_NE(dist.find("cosine"), std::string::npos) << dist;
  EXPECT_NE(dist.find("raw | normalized"), std::string::npos) << dist;
  EXPECT_NE(test::invalid_argument_message([] { (void)parse_distance(""); }),
            "<no exception thrown>");
  EXPECT_EQ((Convention{Negatives::both_views, Distance::raw}.name()),
            "negatives=both_views,distance=raw");
  EXPECT_EQ(Convention{}.name(), "negatives=first_view,distance=raw");
}

TEST(Convention, SymmetricBatchAndWithoutPartnersShapes) {
  const TwoViewBatch b = test::gaussian_batch(4, 3, 0.3, 320);
  const TwoViewBatch b2 = symmetric_batch(b);
  ASSERT_EQ(b2.size(), 8);
  EXPECT_TRUE(b2.x.topRows(4) == b.x && b2.x.bottomRows(4) == b.x_prime);
  EXPECT_TRUE(b2.x_prime.topRows(4) == b.x_prime && b2.x_prime.bottomRows(4) == b.x);
  const std::string msg = test::invalid_argument_message(
      [] { (void)without_partners(PairwiseImportance::uniform(5)); });
  EXPECT_NE(msg.find("size of alpha = 5"), std::string::npos) << msg;
  const PairwiseImportance z = without_partners(PairwiseImportance::uniform(4, 2.0));
  EXPECT_FALSE(z.is_uniform());
  EXPECT_EQ(z.row_sums(), Eigen::VectorXd::Constant(4, 4.0));  // 3 off-diagonal − 1 partner, × 2
}

}  // namespace
}  // namespace cldyn
