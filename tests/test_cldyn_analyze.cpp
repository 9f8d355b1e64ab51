// End-to-end test of the cldyn-analyze executable (design.md, "cldyn-analyze"): inputs written
// with tools::save_npy, the binary run as a user would, its JSON checked against in-process
// recomputation, finite differences and the theory's identities.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Eigenvalues>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cldyn/analysis/finite_difference.hpp"
#include "cldyn/analysis/gated_covariance.hpp"
#include "cldyn/analysis/loss_hessian.hpp"
#include "cldyn/data/latent_model.hpp"
#include "cldyn/models/convention.hpp"
#include "cldyn/models/one_layer.hpp"
#include "csv.hpp"
#include "npy.hpp"
#include "support/analyze_run.hpp"
#include "support/problems.hpp"

namespace cldyn {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::AllOf;
using testing::HasSubstr;
using testing::StartsWith;

using test::RunResult;
using test::slurp;

Eigen::MatrixXd matrix_of(const json& rows) {
  const auto r = static_cast<Eigen::Index>(rows.size());
  const auto c = r > 0 ? static_cast<Eigen::Index>(rows[0].size()) : 0;
  Eigen::MatrixXd m(r, c);
  for (Eigen::Index i = 0; i < r; ++i) {
    EXPECT_EQ(static_cast<Eigen::Index>(rows[static_cast<std::size_t>(i)].size()), c);
    for (Eigen::Index j = 0; j < c; ++j)
      m(i, j) = rows[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)].get<double>();
  }
  return m;
}

class CldynAnalyze : public test::AnalyzeTest {
 protected:
  /// Writes m as CSV with a header row and 17 significant digits (exact for doubles).
  std::string save_csv(const std::string& name, const Eigen::MatrixXd& m) const {
    std::string text;
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      text += j ? ",c" : "c";
      text += std::to_string(j);
    }
    text += "\r\n";
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      for (Eigen::Index j = 0; j < m.cols(); ++j) {
        char buf[40];
        std::snprintf(buf, sizeof buf, "%s%.17g", j ? ", " : "", m(i, j));
        text += buf;
      }
      text += "\r\n";
    }
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

  /// Exit status `code` and exactly one stderr line "cldyn-analyze: error: ..." containing
  /// every string in `needles`; no JSON file written.
  void expect_error(const std::vector<std::string>& args, int code,
                    const std::vector<std::string>& needles) const {
    const RunResult r = run(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_THAT(r.err, StartsWith("cldyn-analyze: error: "));
    ASSERT_FALSE(r.err.empty());
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
    for (const std::string& n : needles) EXPECT_THAT(r.err, HasSubstr(n));
    EXPECT_FALSE(fs::exists(path("bad.json")));
  }
};

/// Checks the JSON of one run against in-process recomputation, finite differences and the
/// theory's identities.
void check_report(const json& j, const TwoViewBatch& batch, const OneLayerNetwork& net,
                  const Loss& loss) {
  const Eigen::Index n = batch.size(), d = batch.dim(), kk = net.width();
  ASSERT_EQ(j["shape"]["N"].get<Eigen::Index>(), n);
  ASSERT_EQ(j["shape"]["d"].get<Eigen::Index>(), d);
  ASSERT_EQ(j["shape"]["K"].get<Eigen::Index>(), kk);
  EXPECT_TRUE(j["version"].is_string());
  EXPECT_TRUE(j["git_hash"].is_string());
  EXPECT_TRUE(j["is_top_definition"].is_string());
  EXPECT_EQ(j["parameters"]["activation"], net.activation().name());

  const Eigen::MatrixXd eg = matrix_of(j["energy_gradient"]);
  const Eigen::MatrixXd lg = matrix_of(j["loss_gradient"]);
  ASSERT_EQ(eg.rows(), d);
  ASSERT_EQ(eg.cols(), kk);
  ASSERT_EQ(lg.rows(), d);
  ASSERT_EQ(lg.cols(), kk);
  ASSERT_EQ(matrix_of(j["alpha"]).rows(), n);
  ASSERT_EQ(j["gated_covariance"].size(), static_cast<std::size_t>(kk));
  ASSERT_EQ(j["loss_hessian"].size(), static_cast<std::size_t>(kk));
  ASSERT_EQ(j["nodes"].size(), static_cast<std::size_t>(kk));

  // The tool's loss is the library's loss at W (JSON numbers round-trip exactly; 1e-14 allows
  // a different but equivalent evaluation order).
  auto loss_at = [&](const Eigen::MatrixXd& w) {
    const OneLayerNetwork probe(w, net.activation());
    return loss.value(probe.forward(batch.x), probe.forward(batch.x_prime));
  };
  EXPECT_NEAR(j["loss"].get<double>(), loss_at(net.weights()),
              1e-14 * std::abs(loss_at(net.weights())));

  // Acceptance: loss_gradient vs central differences of the loss, ≤ 1e-7 relative. Steps
  // 6e-6·max(|W_ij|, 1) (≈ ε^{1/3}) give truncation and rounding errors near 1e-10; the gates
  // stay fixed because every sample is ≥ 1e-4 (relative) away from a gate boundary.
  ASSERT_GT(test::gate_margin(batch, net.weights()), 1e-4);
  const analysis::GradientCheckResult fd = analysis::check_gradient(loss_at, net.weights(), lg);
  EXPECT_LE(fd.relative_error, 1e-7) << "numerical:\n" << fd.numerical << "\nanalytic:\n" << lg;

  for (Eigen::Index k = 0; k < kk; ++k) {
    const auto uk = static_cast<std::size_t>(k);
    const Eigen::MatrixXd a = matrix_of(j["gated_covariance"][uk]);
    // Identity B: energy_gradient column k = A(w_k)·w_k (two summation orders: ≤ 1e-12).
    EXPECT_LE(test::relative_error(eg.col(k), a * net.weights().col(k)), 1e-12) << "k=" << k;
    // loss_hessian is the library's dense one, up to the summation order of the streamed row
    // blocks (analysis::analyze_one_layer): a few hundred roundings of O(N) terms, ≤ 1e-12.
    EXPECT_LE(test::relative_error(matrix_of(j["loss_hessian"][uk]),
                                   analysis::loss_hessian(net, batch, loss, k)),
              1e-12);
    const json& node = j["nodes"][uk];
    const Eigen::VectorXd all = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(a).eigenvalues().reverse();
    const Eigen::Index top = std::min<Eigen::Index>(5, d);
    ASSERT_EQ(node["top_eigenvalues"].size(), static_cast<std::size_t>(top));
    for (Eigen::Index i = 0; i < top; ++i)
      EXPECT_NEAR(node["top_eigenvalues"][static_cast<std::size_t>(i)].get<double>(), all(i),
                  1e-12 * all.cwiseAbs().maxCoeff());
    const Eigen::VectorXd w = net.weights().col(k);
    EXPECT_NEAR(node["rayleigh"].get<double>(), w.dot(a * w) / w.squaredNorm(),
                1e-12 * all.cwiseAbs().maxCoeff());
    EXPECT_TRUE(node["is_top"].is_boolean());
    EXPECT_LE(node["eigen_residual"].get<double>(), 1e-12);
  }
  // Identity A: loss_gradient = −2N²·energy_gradient (α at W), ≤ 1e-10 as in theory §7.
  EXPECT_LE(test::relative_error(lg, -2.0 * n * n * eg), 1e-10);
}

TEST_F(CldynAnalyze, InfoNceReluReportMatchesFiniteDifferencesAndIdentities) {
  const TwoViewBatch batch = test::gaussian_batch(12, 4, 0.3, 101);
  Rng rng(102);
  const OneLayerNetwork net(0.6 * rng.normal_matrix(4, 3) / 2.0, Activation::relu());
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    w = save("w.npy", net.weights()), out = path("out.json");
  const json j = run_ok({"--views", x, xp, "--weights", w, "--activation", "relu", "--loss",
                         "infonce", "--tau", "0.5", "--eps", "1", "--json", out},
                        out);
  check_report(j, batch, net, Loss::infonce(0.5, 1.0));
  EXPECT_EQ(j["parameters"]["tau"].get<double>(), 0.5);
  EXPECT_EQ(j["parameters"]["eps"].get<double>(), 1.0);
  EXPECT_EQ(j["inputs"]["weights"].get<std::string>(), w);
  // Nothing but the inputs, the JSON and the captured streams is left (no temporary files).
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 6u);
}

TEST_F(CldynAnalyze, QuadraticLinearReportAndIsTop) {
  const TwoViewBatch batch = test::gaussian_batch(10, 5, 0.3, 111);
  // Linear h, uniform α: A = C_1[x] for every node, so its eigenvectors are fixed points.
  const Eigen::MatrixXd c = analysis::input_covariance(batch, PairwiseImportance::uniform(10));
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(c);
  Eigen::MatrixXd w(5, 3);
  w.col(0) = 2.0 * es.eigenvectors().col(4);  // top eigenvector (any positive scale)
  w.col(1) = es.eigenvectors().col(3);        // second eigenvector: a fixed point, not the top
  Rng rng(112);
  w.col(2) = rng.normal_matrix(5, 1);  // a generic direction
  const OneLayerNetwork net(w, Activation::linear());
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    wp = save("w.npy", w), out = path("out.json");
  const json j = run_ok({"--views", x, xp, "--weights", wp, "--activation", "linear", "--loss",
                         "quadratic", "--json", out},
                        out);
  check_report(j, batch, net, Loss::quadratic());
  EXPECT_TRUE(j["parameters"]["tau"].is_null());
  EXPECT_TRUE(j["nodes"][0]["is_top"].get<bool>());
  EXPECT_FALSE(j["nodes"][1]["is_top"].get<bool>());
  EXPECT_LE(j["nodes"][1]["rayleigh_residual"].get<double>(), 1e-12);  // but an eigenvector
  EXPECT_FALSE(j["nodes"][2]["is_top"].get<bool>());
  EXPECT_NEAR(j["nodes"][0]["eigengap"].get<double>(), es.eigenvalues()(4) - es.eigenvalues()(3),
              1e-12 * es.eigenvalues().cwiseAbs().maxCoeff());
  // The quadratic loss's Hessian is −2N²·A(w_k) (theory: the loss is quadratic in the outputs).
  EXPECT_LE(test::relative_error(matrix_of(j["loss_hessian"][0]), -200.0 * c), 1e-12);
}

TEST_F(CldynAnalyze, InfoNceSmallTauLeakyReluSingleNode) {
  const auto [batch, w, x, xp, wp] = saved_problem(8, 3, 1, 121);
  const OneLayerNetwork net(w, Activation::leaky_relu(0.2));
  const std::string out = path("out.json");
  const json j = run_ok({"--views", x, xp, "--weights", wp, "--activation", "leaky:0.2", "--loss",
                         "infonce", "--tau", "0.1", "--eps", "0", "--json", out},
                        out);
  check_report(j, batch, net, Loss::infonce(0.1, 0.0));
}

TEST_F(CldynAnalyze, WritesToStandardOutputWithoutJsonOption) {
  const TwoViewBatch batch = test::gaussian_batch(4, 2, 0.3, 131);
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    w = save("w.npy", Eigen::MatrixXd::Ones(2, 1));
  const RunResult r = run({"--views", x, xp, "--weights", w, "--activation", "relu", "--loss",
                           "quadratic"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["shape"]["N"], 4);
}

TEST_F(CldynAnalyze, HelpDefinesIsTop) {
  const RunResult r = run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, AllOf(HasSubstr("--views"), HasSubstr("is_top"), HasSubstr("lambda_1")));
}

TEST_F(CldynAnalyze, BadInputsExitNonZeroWithOneLineNamingTheInput) {
  const TwoViewBatch batch = test::gaussian_batch(6, 3, 0.3, 141);
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    w = save("w.npy", Eigen::MatrixXd::Ones(3, 2)), out = path("bad.json");
  const std::string wide = save("wide.npy", Eigen::MatrixXd::Ones(6, 4));
  const std::string w4 = save("w4.npy", Eigen::MatrixXd::Ones(4, 2));
  const std::string one = save("one.npy", Eigen::MatrixXd::Ones(1, 3));
  Eigen::MatrixXd with_nan = batch.x;
  with_nan(2, 1) = std::numeric_limits<double>::quiet_NaN();
  const std::string nan = save("nan.npy", with_nan);
  // A valid NPY header with an int64 dtype, as numpy.save(np.arange(6).reshape(2, 3)) writes.
  std::string i8 = "\x93NUMPY\x01";
  i8 += '\0';
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');  // pad to 64 bytes
  header += '\n';
  i8 += static_cast<char>(header.size());
  i8 += '\0';
  i8 += header + std::string(48, '\0');
  const std::string ints = path("ints.npy");
  std::ofstream(ints, std::ios::binary) << i8;
  const std::string missing = path("missing.npy");

  auto args = [&](const std::string& a, const std::string& b, const std::string& weights,
                  std::vector<std::string> extra = {"--activation", "relu", "--loss", "quadratic"}) {
    std::vector<std::string> v = {"--views", a, b, "--weights", weights, "--json", out};
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  // Data errors: exit 1.
  expect_error(args(missing, xp, w), 1, {missing, "no such file"});
  expect_error(args(x, wide, w), 1, {x, wide, "differ in shape"});
  expect_error(args(x, xp, w4), 1, {w4, "4 rows", "d = 3"});
  expect_error(args(x, xp, ints), 1, {ints, "unsupported dtype '<i8'"});
  expect_error(args(one, one, w), 1, {one, "N >= 2"});
  expect_error(args(nan, xp, w), 1, {nan, "non-finite"});
  // Usage errors: exit 2.
  expect_error(args(x, xp, w, {"--activation", "tanh", "--loss", "quadratic"}), 2,
               {"--activation", "tanh"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "infonce", "--tau", "0"}), 2,
               {"--tau", "tau > 0"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "infonce", "--tau", "1",
                               "--eps", "-1"}),
               2, {"--eps", "eps >= 0"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "infonce"}), 2, {"--tau"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "hinge"}), 2, {"--loss"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "quadratic", "--tau", "1"}), 2,
               {"--tau and --eps apply only to --loss infonce"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "quadratic", "--top-tol", "0"}),
               2, {"--top-tol = 0 violates tol > 0"});
  // A truncated NPY (the last 5 data bytes cut) and a 3-D one, through the executable.
  const std::string full = slurp(x);
  const std::string cut = path("cut.npy"), rank3 = path("rank3.npy");
  std::ofstream(cut, std::ios::binary) << full.substr(0, full.size() - 5);
  expect_error(args(cut, xp, w), 1, {cut, "truncated data"});
  std::string r3 = full;
  const std::size_t shape_at = r3.find("(6, 3)");
  ASSERT_NE(shape_at, std::string::npos);
  r3.replace(shape_at, 6, "(2,3,3)");  // same byte count: 2*3*3 = 18 = 6*3 values
  r3.erase(r3.find('\n') - 1, 1);     // keep the header length: drop one padding space
  std::ofstream(rank3, std::ios::binary) << r3;
  expect_error(args(rank3, xp, w), 1, {rank3, "rank 3"});
  expect_error(args(x, xp, w, {"--activation", "relu", "--loss", "quadratic", "--frobnicate"}), 2,
               {"--frobnicate"});
  expect_error({"--views", x, "--weights", w, "--activation", "relu", "--loss", "quadratic"}, 2,
               {"--views"});
}

TEST_F(CldynAnalyze, CsvAndNpyInputsOfTheSameDataGiveIdenticalJson) {
  const TwoViewBatch batch = test::gaussian_batch(9, 4, 0.3, 151);
  Rng rng(152);
  const Eigen::MatrixXd w = 0.5 * rng.normal_matrix(4, 2);
  // Through the CSV text and back: the data both runs see must be bit-identical.
  ASSERT_EQ(tools::load_csv(save_csv("probe.csv", batch.x)), batch.x);
  const std::vector<std::string> options = {"--activation", "relu", "--loss", "infonce",
                                            "--tau",        "0.3",  "--eps",  "1"};
  auto run_with = [&](const std::string& x, const std::string& xp, const std::string& wp,
                      const std::string& out) {
    std::vector<std::string> args = {"--views", x, xp, "--weights", wp, "--json", out};
    args.insert(args.end(), options.begin(), options.end());
    return run_ok(args, out);
  };
  json from_npy = run_with(save("x.npy", batch.x), save("xp.npy", batch.x_prime),
                           save("w.npy", w), path("npy.json"));
  json from_csv = run_with(save_csv("x.csv", batch.x), save_csv("xp.csv", batch.x_prime),
                           save_csv("w.csv", w), path("csv.json"));
  // Mixed: CSV views, NPY weights.
  json mixed = run_with(path("x.csv"), path("xp.csv"), path("w.npy"), path("mixed.json"));
  EXPECT_EQ(from_csv["inputs"]["weights"].get<std::string>(), path("w.csv"));
  // Everything but the recorded file names is identical.
  for (json* j : {&from_npy, &from_csv, &mixed}) j->erase("inputs");
  EXPECT_EQ(from_npy.dump(), from_csv.dump());
  EXPECT_EQ(from_npy.dump(), mixed.dump());
  check_report(from_csv, batch, OneLayerNetwork(w, Activation::relu()), Loss::infonce(0.3, 1.0));
}

TEST_F(CldynAnalyze, BadCsvInputsAndUnknownExtensionsAreOneLineDataErrors) {
  const TwoViewBatch batch = test::gaussian_batch(5, 2, 0.3, 161);
  const std::string x = save_csv("x.csv", batch.x), xp = save_csv("xp.csv", batch.x_prime),
                    w = save("w.npy", Eigen::MatrixXd::Ones(2, 1)), out = path("bad.json");
  const std::string ragged = path("ragged.csv"), text = path("text.csv"), nan = path("nan.csv"),
                    empty = path("empty.csv"), other = path("x.txt");
  std::ofstream(ragged) << "1,2\n3,4\n5\n";
  std::ofstream(text) << "1,2\n3,four\n";
  std::ofstream(nan) << "1,2\n3,inf\n";
  std::ofstream(empty) << "";
  std::ofstream(other) << "1,2\n3,4\n";
  auto args = [&](const std::string& a, const std::string& b, const std::string& weights) {
    return std::vector<std::string>{"--views", a, b, "--weights", weights, "--activation",
                                    "relu", "--loss", "quadratic", "--json", out};
  };
  expect_error(args(ragged, xp, w), 1, {"CSV file '" + ragged + "'", "ragged", "(row 3, column 2)"});
  expect_error(args(x, text, w), 1, {"CSV file '" + text + "'", "'four'", "(row 2, column 2)"});
  expect_error(args(x, xp, nan), 1, {"CSV file '" + nan + "'", "non-finite", "(row 2, column 2)"});
  expect_error(args(empty, xp, w), 1, {"CSV file '" + empty + "'", "empty"});
  expect_error(args(x, other, w), 1, {other, "unknown extension '.txt'"});
  expect_error(args(x, path("absent.csv"), w), 1, {path("absent.csv"), "no such file"});
}

TEST_F(CldynAnalyze, SizesBeyondTheMachineAreRefusedUpFrontWithTheEstimate) {
  // Small files whose analysis cannot fit: N = 100000 makes alpha (and its JSON) N x N, about
  // 8e11 bytes by the tool's estimate; d = 100000 makes every A(w_k) and Hessian d x d. Both
  // must be refused before any such allocation, quickly, with the estimate in the message.
  Rng rng(171);
  const Eigen::MatrixXd tall = rng.normal_matrix(100000, 1);
  const std::string x = save("tall.npy", tall), xp = save("tall_p.npy", tall + tall),
                    w1 = save("w1.npy", Eigen::MatrixXd::Ones(1, 1)), out = path("bad.json");
  expect_error({"--views", x, xp, "--weights", w1, "--activation", "relu", "--loss", "infonce",
                "--tau", "0.5", "--json", out},
               1, {"N = 100000", "need an estimated", "GB of memory", "alpha is N x N"});
  const Eigen::MatrixXd wide = rng.normal_matrix(2, 100000);
  const std::string wx = save("wide.npy", wide), wxp = save("wide_p.npy", 2.0 * wide),
                    wd = save("wd.npy", Eigen::MatrixXd::Ones(100000, 1));
  expect_error({"--views", wx, wxp, "--weights", wd, "--activation", "linear", "--loss",
                "quadratic", "--json", out},
               1, {"d = 100000", "need an estimated", "K d x d matrices"});
}


// Mixture data on which a finite ReLU sample has a certified stable point near every pattern
// (kink maxima, analysis/cldyn/analysis/certified_fixed_points.hpp).
constexpr double kFixedPointSigma = 0.2;
constexpr Eigen::Index kFixedPointN = 1000;

/// The data of a float64 NPY file of any rank written by the tool: (shape, values in C order).
std::pair<std::vector<long>, std::vector<double>> read_npy_any_rank(const std::string& file) {
  const std::string bytes = slurp(file);
  const std::size_t header_len = static_cast<unsigned char>(bytes[8]) |
                                 (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  const std::string header = bytes.substr(10, header_len);
  std::vector<long> shape;
  const std::size_t open = header.find("'shape': (") + 10;
  std::istringstream dims(header.substr(open, header.find(')', open) - open));
  for (std::string part; std::getline(dims, part, ',');)
    if (part.find_first_not_of(' ') != std::string::npos) shape.push_back(std::stol(part));
  std::vector<double> values((bytes.size() - 10 - header_len) / 8);
  std::memcpy(values.data(), bytes.data() + 10 + header_len, values.size() * 8);
  return {shape, values};
}

TEST_F(CldynAnalyze, SquareWeightsNeedALayoutAndKdReadsPyTorchWeights) {
  const TwoViewBatch batch = test::gaussian_batch(10, 3, 0.3, 181);
  Rng rng(182);
  const Eigen::MatrixXd w = 0.5 * rng.normal_matrix(3, 3);  // d = K = 3: square
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    wp = save("w.npy", w), wt = save("w_kd.npy", w.transpose()),
                    out = path("bad.json");
  const std::vector<std::string> rest = {"--activation", "relu", "--loss", "infonce", "--tau", "0.5"};
  auto args = [&](const std::string& weights, std::vector<std::string> extra, const std::string& json) {
    std::vector<std::string> v = {"--views", x, xp, "--weights", weights, "--json", json};
    v.insert(v.end(), rest.begin(), rest.end());
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  expect_error(args(wp, {}, out), 2, {wp, "square", "--weights-layout dK", "--weights-layout Kd"});
  json dk = run_ok(args(wp, {"--weights-layout", "dK"}, path("dk.json")), path("dk.json"));
  json kd = run_ok(args(wt, {"--weights-layout", "Kd"}, path("kd.json")), path("kd.json"));
  EXPECT_EQ(kd["parameters"]["weights_layout"], "Kd");
  // A PyTorch weight (K x d) read with Kd is the same network: identical analysis.
  for (json* j : {&dk, &kd}) {
    j->erase("inputs");
    (*j)["parameters"].erase("weights_layout");
  }
  EXPECT_EQ(dk.dump(), kd.dump());
  check_report(dk, batch, OneLayerNetwork(w, Activation::relu()), Loss::infonce(0.5, 1.0));
  // A non-square K x d weight without a layout: the error says to pass Kd.
  const std::string w23 = save("w23.npy", Eigen::MatrixXd::Ones(2, 3));
  expect_error(args(w23, {}, out), 1, {w23, "2 rows", "d = 3", "--weights-layout Kd"});
  // Views saved transposed (d x N): the error names the views, not the weights.
  const std::string xt = save("xt.npy", batch.x.transpose()), xpt = save("xpt.npy", batch.x_prime.transpose());
  const std::string w10 = save("w10.npy", Eigen::MatrixXd::Ones(3, 2));
  expect_error({"--views", xt, xpt, "--weights", w10, "--json", out, "--activation", "relu",
                "--loss", "quadratic"},
               1, {"views '" + xt + "' transposed", "N x d"});
}

TEST_F(CldynAnalyze, IndexColumnCsvRefusedUnlessDropped) {
  const TwoViewBatch batch = test::gaussian_batch(6, 2, 0.3, 191);
  const Eigen::MatrixXd w = Eigen::MatrixXd::Ones(2, 1);
  // pandas DataFrame.to_csv(): an unnamed index column first.
  auto pandas = [&](const std::string& name, const Eigen::MatrixXd& m) {
    std::string text = ",a,b\n";
    for (Eigen::Index i = 0; i < m.rows(); ++i) {
      char buf[128];
      std::snprintf(buf, sizeof buf, "%lld,%.17g,%.17g\n", static_cast<long long>(i), m(i, 0), m(i, 1));
      text += buf;
    }
    return write(name, text);
  };
  const std::string x = pandas("x.csv", batch.x), xp = pandas("xp.csv", batch.x_prime),
                    wp = save("w.npy", w), out = path("bad.json");
  const std::vector<std::string> base = {"--views", x, xp, "--weights", wp, "--activation",
                                         "linear", "--loss", "quadratic"};
  std::vector<std::string> refused = base;
  refused.insert(refused.end(), {"--json", out});
  expect_error(refused, 1, {"CSV file '" + x + "'", "row index", "--csv-index-col"});
  std::vector<std::string> dropped = base;
  dropped.insert(dropped.end(), {"--csv-index-col", "--json", path("csv.json")});
  json from_csv = run_ok(dropped, path("csv.json"));
  std::vector<std::string> npy = {"--views", save("x.npy", batch.x), save("xp.npy", batch.x_prime),
                                  "--weights", wp, "--activation", "linear", "--loss", "quadratic",
                                  "--json", path("npy.json")};
  json from_npy = run_ok(npy, path("npy.json"));
  for (json* j : {&from_csv, &from_npy}) j->erase("inputs");
  EXPECT_EQ(from_csv.dump(), from_npy.dump());
}

TEST_F(CldynAnalyze, MissingOutputFolderIsNamed) {
  const TwoViewBatch batch = test::gaussian_batch(4, 2, 0.3, 201);
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    w = save("w.npy", Eigen::MatrixXd::Ones(2, 1));
  const std::string missing = path("no/such");
  expect_error({"--views", x, xp, "--weights", w, "--activation", "relu", "--loss", "quadratic",
                "--json", missing + "/out.json"},
               1, {"output folder '" + missing + "' does not exist"});
  expect_error({"--views", x, xp, "--weights", w, "--activation", "relu", "--loss", "quadratic",
                "--arrays", missing + "/arrays"},
               1, {"parent folder '" + missing + "' does not exist"});
}

TEST_F(CldynAnalyze, ArraysGoToNpyFilesAndTheJsonKeepsSummaries) {
  const auto [batch, w, x, xp, wp] = saved_problem(11, 4, 3, 211);
  const std::vector<std::string> base = {"--views", x, xp, "--weights", wp, "--activation", "relu",
                                         "--loss", "infonce", "--tau", "0.4", "--top-k", "2"};
  std::vector<std::string> inline_args = base;
  inline_args.insert(inline_args.end(), {"--json", path("inline.json")});
  const json inl = run_ok(inline_args, path("inline.json"));
  std::vector<std::string> file_args = base;
  file_args.insert(file_args.end(), {"--arrays", path("arrays"), "--json", path("files.json")});
  const RunResult r = run(file_args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json files = json::parse(slurp(path("files.json")));
  // Every matrix written inline is the same, bit for bit, in its .npy file.
  for (const char* name : {"alpha", "input_covariance", "energy_gradient", "loss_gradient"}) {
    ASSERT_TRUE(files[name].contains("npy")) << name;
    EXPECT_EQ(tools::load_npy(files[name]["npy"].get<std::string>()), matrix_of(inl[name])) << name;
  }
  for (const char* name : {"gated_covariance", "loss_hessian", "top_eigenvectors"}) {
    const auto [shape, values] = read_npy_any_rank(files[name]["npy"].get<std::string>());
    ASSERT_EQ(shape.size(), 3u) << name;
    EXPECT_EQ(shape[0], 3) << name;
    EXPECT_EQ(files[name]["shape"], json(shape)) << name;
    std::size_t at = 0;
    for (const json& m : inl[name])
      for (const json& row : m)
        for (const json& v : row) EXPECT_EQ(values[at++], v.get<double>()) << name;
    EXPECT_EQ(at, values.size()) << name;
  }
  EXPECT_EQ(files["nodes"].dump(), inl["nodes"].dump());
  // Top eigenvectors: K x top_k x d unit eigenvectors of A(w_k) for its top eigenvalues.
  for (std::size_t k = 0; k < 3; ++k) {
    const Eigen::MatrixXd a = matrix_of(inl["gated_covariance"][k]);
    const Eigen::MatrixXd v = matrix_of(inl["top_eigenvectors"][k]);
    ASSERT_EQ(v.rows(), 2);
    ASSERT_EQ(v.cols(), 4);
    for (Eigen::Index i = 0; i < 2; ++i) {
      const double lambda = inl["nodes"][k]["top_eigenvalues"][static_cast<std::size_t>(i)].get<double>();
      EXPECT_NEAR(v.row(i).norm(), 1.0, 1e-12);
      // Dense eigensolver residual: a few ε·‖A‖.
      EXPECT_LE((a * v.row(i).transpose() - lambda * v.row(i).transpose()).norm(),
                1e-12 * a.norm());
    }
  }
  // The summary on standard output: one line per node with is_top.
  EXPECT_THAT(r.out, AllOf(HasSubstr("N = 11, d = 4, K = 3"), HasSubstr("is_top"),
                           HasSubstr("wrote " + path("files.json"))));
  // --no-alpha and --no-hessian leave those out; --quiet prints nothing.
  std::vector<std::string> lean = base;
  lean.insert(lean.end(), {"--arrays", path("lean"), "--no-alpha", "--no-hessian", "--quiet",
                           "--json", path("lean.json")});
  const RunResult q = run(lean);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "");
  const json lj = json::parse(slurp(path("lean.json")));
  EXPECT_FALSE(lj.contains("alpha"));
  EXPECT_FALSE(lj.contains("loss_hessian"));
  EXPECT_FALSE(fs::exists(path("lean/alpha.npy")));
  EXPECT_EQ(lj["loss"], inl["loss"]);
}

TEST_F(CldynAnalyze, BothViewsAndNormalizedConventionsMatchTheLibrary) {
  const auto [batch, w, x, xp, wp] = saved_problem(7, 3, 2, 221);
  // Leaky ReLU: no output row is zero, so every sample can be normalised.
  const OneLayerNetwork net(w, Activation::leaky_relu(0.2));
  const Loss loss = Loss::infonce(0.5, 1.0);
  for (const char* negatives : {"both", "view1"})
  for (const char* distance : {"raw", "normalized"}) {
    const std::string out = path(std::string(negatives) + "-" + distance + ".json");
    const json j = run_ok({"--views", x, xp, "--weights", wp, "--activation", "leaky:0.2", "--loss",
                           "infonce", "--tau", "0.5", "--negatives", negatives, "--distance",
                           distance, "--json", out},
                          out);
    Convention c;
    c.negatives = parse_negatives(negatives);
    c.distance = parse_distance(distance);
    const ConventionEvaluation e = evaluate(net, batch, loss, c);
    const Eigen::Index m = c.negatives == Negatives::both_views ? 14 : 7;
    ASSERT_EQ(j["shape"]["M"].get<Eigen::Index>(), m) << negatives << " " << distance;
    // The tool (streamed, on the doubled batch) against the library's convention evaluation:
    // equal up to summation order, ≤ 1e-12.
    EXPECT_NEAR(j["loss"].get<double>(), e.loss, 1e-12 * std::abs(e.loss)) << negatives << " " << distance;
    EXPECT_NEAR(j["energy"].get<double>(), e.energy, 1e-12 * std::abs(e.energy)) << negatives << " " << distance;
    EXPECT_LE(test::relative_error(matrix_of(j["loss_gradient"]), e.loss_gradient), 1e-12) << negatives << " " << distance;
    EXPECT_LE(test::relative_error(matrix_of(j["alpha"]), e.alpha.matrix()), 1e-12) << negatives << " " << distance;
    // Identity A with M = N or 2N samples.
    EXPECT_LE(test::relative_error(matrix_of(j["loss_gradient"]),
                                   -2.0 * m * m * matrix_of(j["energy_gradient"])),
              1e-10) << negatives << " " << distance;
    if (c.distance == Distance::normalized) {
      EXPECT_TRUE(j["nodes"].is_null());
      EXPECT_TRUE(j["nodes_note"].is_string());
    } else {
      EXPECT_EQ(j["nodes"].size(), 2u);
    }
  }
  expect_error({"--views", x, xp, "--weights", wp, "--activation", "relu", "--loss", "infonce",
                "--tau", "0.5", "--eps", "0.5", "--negatives", "both", "--json", path("bad.json")},
               2, {"--eps = 0.5 violates eps >= 1 with --negatives both"});
}

TEST_F(CldynAnalyze, FindFixedPointsOnMixtureDataOneCertifiedStablePointPerPattern) {
  // The acceptance: ReLU on mixture data (theory §4), quadratic loss; the views are the
  // user's data, W holds one trained-looking node near each pattern (pattern + noise).
  data::LatentModelOptions options;
  options.d = 20;
  options.L = 5;
  options.sigma = kFixedPointSigma;
  const data::LatentModel model(options, 301);
  Rng rng(302);
  const TwoViewBatch batch = model.sample(kFixedPointN, rng);
  const Eigen::MatrixXd& patterns = model.patterns();
  const Eigen::MatrixXd w = patterns + 0.05 * rng.normal_matrix(20, 5);
  const std::string x = save("x.npy", batch.x), xp = save("xp.npy", batch.x_prime),
                    wp = save("w.npy", w), out = path("fp.json");
  const RunResult r = run({"--views", x, xp, "--weights", wp, "--activation", "relu", "--loss",
                           "quadratic", "--find-fixed-points", "--starts", "24", "--seed", "7",
                           "--no-hessian", "--json", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(slurp(out));
  const json& fp = j["fixed_points"];
  ASSERT_TRUE(fp.is_object());
  EXPECT_EQ(fp["starts"].get<Eigen::Index>(), 29);
  EXPECT_EQ(fp["converged"].get<Eigen::Index>() + fp["unconverged"].get<Eigen::Index>(), 29);
  const double tol = fp["tolerance"].get<double>();
  // Every reported point is certified; exactly one stable point within cos 0.95 of each pattern.
  std::vector<int> stable_near(5, 0);
  std::vector<Eigen::VectorXd> stable_w;
  for (const json& p : fp["points"]) {
    EXPECT_LE(p["residual"].get<double>(), tol);
    if (!p["stable"].get<bool>()) continue;
    Eigen::VectorXd v(20);
    for (Eigen::Index i = 0; i < 20; ++i) v(i) = p["w"][static_cast<std::size_t>(i)].get<double>();
    stable_w.push_back(v);
    for (Eigen::Index l = 0; l < 5; ++l)
      if (v.dot(patterns.col(l)) >= 0.95) ++stable_near[static_cast<std::size_t>(l)];
  }
  for (int l = 0; l < 5; ++l) EXPECT_EQ(stable_near[static_cast<std::size_t>(l)], 1) << "pattern " << l;
  // Each user node sits at the stable point of its own pattern.
  ASSERT_EQ(fp["user_nodes"].size(), 5u);
  for (std::size_t k = 0; k < 5; ++k) {
    const json& node = fp["user_nodes"][k];
    ASSERT_TRUE(node["point"].is_number()) << "node " << k << " did not converge: " << node.dump();
    const json& p = fp["points"][node["point"].get<std::size_t>()];
    EXPECT_TRUE(p["stable"].get<bool>());
    Eigen::VectorXd v(20);
    for (Eigen::Index i = 0; i < 20; ++i) v(i) = p["w"][static_cast<std::size_t>(i)].get<double>();
    EXPECT_GE(v.dot(patterns.col(static_cast<Eigen::Index>(k))), 0.95) << "node " << k;
  }
  EXPECT_THAT(r.out, HasSubstr("certified"));
  // Fixed points need raw distances.
  expect_error({"--views", x, xp, "--weights", wp, "--activation", "relu", "--loss", "quadratic",
                "--find-fixed-points", "--distance", "normalized", "--json", path("bad.json")},
               2, {"--find-fixed-points needs --distance raw"});
}

}  // namespace
}  // namespace cldyn
