// cldyn-analyze --infonce-kinks (analysis/tools/cldyn_analyze.cpp): with InfoNCE and ReLU,
// --find-fixed-points certifies strict maxima on gate kinks (CertifiedSearchOptions::infonce_kinks,
// on by default in the tool); --no-infonce-kinks leaves the smooth certificate only. The binary is
// run as a user would, and every kink it reports is certified again in-process (certify_kink).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cldyn/analysis/certified_fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"
#include "cldyn/core/activation.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/loss.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/data/latent_model.hpp"
#include "support/analyze_run.hpp"

namespace cldyn {
namespace {

using nlohmann::json;

class CldynAnalyzeInfonceKinks : public test::AnalyzeTest {
 protected:
  /// Runs the binary with --json out --quiet; returns that JSON (exit status 0 and no stderr
  /// expected).
  json run_ok(std::vector<std::string> args, const std::string& out) const {
    args.insert(args.end(), {"--json", out, "--quiet"});
    return AnalyzeTest::run_ok(args, out);
  }
};

Eigen::VectorXd vector_of(const json& a) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i) v(static_cast<Eigen::Index>(i)) = a[i].get<double>();
  return v;
}

TEST_F(CldynAnalyzeInfonceKinks, ReluInfonceKinkOptimumIsCertifiedWithTheFlag) {
  // tests/test_certified_infonce.cpp's landscape: d = 20, L = 5 orthonormal patterns, σ = 0.2,
  // p = 0.2 … 0.6 normalised, one batch of N = 64, ReLU, InfoNCE τ = 0.1; W = the patterns.
  data::LatentModelOptions mo;
  mo.probabilities = data::normalise_probabilities({0.2, 0.3, 0.4, 0.5, 0.6});
  const data::LatentModel model(mo, 3);
  Rng rng(5, 11);
  const TwoViewBatch batch = model.sample(64, rng);
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    w = save("w.npy", model.patterns());
  const std::vector<std::string> args = {"--views", x, xp, "--weights", w, "--activation", "relu",
                                         "--loss", "infonce", "--tau", "0.1", "--find-fixed-points",
                                         "--starts", "6", "--seed", "4", "--no-hessian", "--no-alpha"};
  const json by_default = run_ok(args, path("default.json"));
  std::vector<std::string> with = args, without = args;
  with.push_back("--infonce-kinks");
  without.push_back("--no-infonce-kinks");
  const json on = run_ok(with, path("on.json"));
  const json off = run_ok(without, path("off.json"));

  // On by default: the flag changes nothing.
  ASSERT_TRUE(on["fixed_points"].is_object());
  EXPECT_TRUE(on["fixed_points"]["infonce_kinks"].get<bool>());
  EXPECT_EQ(by_default["fixed_points"], on["fixed_points"]);

  // With the flag: at least one stable kink, each certified again in-process on the same sample.
  const analysis::SampleLandscape land(batch, Activation::relu(), Loss::infonce(0.1));
  const json& fp = on["fixed_points"];
  const double tol = fp["tolerance"].get<double>();
  int stable_kinks = 0;
  for (const json& p : fp["points"]) {
    EXPECT_LE(p["residual"].get<double>(), tol);
    if (p["kind"] != "kink" || !p["stable"].get<bool>()) continue;
    ++stable_kinks;
    const analysis::KinkCertificate c = analysis::certify_kink(land, vector_of(p["w"]));
    EXPECT_TRUE(c.stable) << "point " << p["index"] << ": residual " << c.residual << ", slack " << c.slack
                          << ", face Hessian max " << c.face_hessian_max;
    EXPECT_EQ(static_cast<Eigen::Index>(c.active.size()), p["active_set_size"].get<Eigen::Index>());
    EXPECT_GT(c.slack, tol);
  }
  EXPECT_GE(stable_kinks, 1);
  EXPECT_GE(fp["certified_by"]["active_set"].get<Eigen::Index>(), 1);

  // Without it: the smooth certificate only, no kink, and fewer certified starts than with it
  // (measured: 1/11 against 11/11).
  const json& smooth = off["fixed_points"];
  EXPECT_FALSE(smooth["infonce_kinks"].get<bool>());
  EXPECT_EQ(smooth["certified_by"]["active_set"].get<Eigen::Index>(), 0);
  for (const json& p : smooth["points"]) EXPECT_EQ(p["kind"], "smooth");
  EXPECT_LT(smooth["converged"].get<Eigen::Index>(), fp["converged"].get<Eigen::Index>());
  EXPECT_EQ(smooth["starts"].get<Eigen::Index>(), fp["starts"].get<Eigen::Index>());
  std::printf("[ cldyn-analyze InfoNCE tau=0.1 N=64 ] --infonce-kinks: %ld/%ld starts certified, %d stable "
              "kinks; --no-infonce-kinks: %ld/%ld\n",
              static_cast<long>(fp["converged"].get<Eigen::Index>()), static_cast<long>(fp["starts"].get<Eigen::Index>()),
              stable_kinks, static_cast<long>(smooth["converged"].get<Eigen::Index>()),
              static_cast<long>(smooth["starts"].get<Eigen::Index>()));
}

}  // namespace
}  // namespace cldyn
