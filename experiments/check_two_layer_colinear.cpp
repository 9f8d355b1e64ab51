// check_two_layer_colinear — theory §5 Claim 6 (linear activation cannot specialise).
//
// (a) Gradients. For random two-layer networks (K receptive fields of size d_k, M nodes each,
//     top layer V ∈ R^{p×KM}) on two data sets — Gaussian "random" data and the mixture latent
//     model of §4 — for p = 1 and p > 1, for uniform α (quadratic loss) and InfoNCE α, the
//     gradient matrix G_k = [∇w_k1 … ∇w_kM] of every RF is examined (Identity C, α frozen).
//     Linear h: G_k = C_α[x_k, f]·V_k, so rank(G_k) ≤ p and, for p = 1, 1 − |cos| ≤ 1e-12 for
//     every pair of columns. ReLU: the gates make every node see a different gated input, and
//     rank(G_k) exceeds p.
// (b) Training. Networks trained by α-CL (fresh batches of the latent model, filters and V
//     renormalised) from several seeds: linear RFs end with near-duplicate filters, ReLU RFs with
//     diverse ones. Both diversity measures are reported per RF: mean pairwise |cos| of the
//     filters and the effective rank exp(H(σ/Σσ)) of the column-normalised W_k.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <iostream>
#include <map>
#include <numeric>
#include <optional>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/check.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct GradientCase {
  std::string data, activation, loss;
  Eigen::Index p = 1, seed_index = 0;
  std::vector<analysis::GradientColinearity> fields;
};

struct TrainCase {
  std::string activation;
  Eigen::Index p = 1, seed_index = 0;
  TrainResult result;
  std::vector<analysis::FilterDiversity> fields;
};

TwoViewBatch gaussian_views(Eigen::Index n, Eigen::Index d, double sigma, Rng& rng) {
  const Eigen::MatrixXd x0 = rng.normal_matrix(n, d);
  TwoViewBatch b;
  b.x = x0 + sigma * rng.normal_matrix(n, d);
  b.x_prime = x0 + sigma * rng.normal_matrix(n, d);
  return b;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

}  // namespace

int main(int argc, char** argv) {
  Check check("two_layer_colinear",
              "Claim 6: in a two-layer network, linear nodes of one receptive field receive gradients "
              "of rank <= p (co-linear for p = 1) and end as duplicates; ReLU nodes do not");
  Eigen::Index fields = 4, field_size = 6, nodes = 6, n = 64, seeds = 10, train_seeds = 8, steps = 3000, L = 6;
  std::vector<Eigen::Index> outputs = {1, 3};
  double sigma = 0.2, lr = 1.0, tau = 0.5;
  auto& app = check.app();
  app.add_option("--fields", fields, "Number of receptive fields K")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--field-size", field_size, "Size d_k of every receptive field")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--nodes", nodes, "Hidden nodes M per receptive field")->check(CLI::Range(2, 10000))->capture_default_str();
  app.add_option("--outputs", outputs, "Output dimensions p to test")->check(CLI::Range(1, 10000))->capture_default_str();
  app.add_option("--n", n, "Batch size N")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  app.add_option("--seeds", seeds, "Random networks per gradient case")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--train-seeds", train_seeds, "Training runs per (activation, p)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--steps", steps, "SGD steps per training run")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--L", L, "Patterns of the latent mixture model")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--sigma", sigma, "Augmentation noise sigma")->check(positive_number())->capture_default_str();
  app.add_option("--lr", lr, "Learning rate of the training runs")->check(positive_number())->capture_default_str();
  app.add_option("--tau", tau, "InfoNCE temperature of the gradient cases")->check(positive_number())->capture_default_str();
  if (const int rc = check.parse(argc, argv); rc >= 0) return rc;
  if (check.smoke()) {
    seeds = std::min<Eigen::Index>(seeds, 3);
    train_seeds = std::min<Eigen::Index>(train_seeds, 3);
    steps = std::min<Eigen::Index>(steps, 1000);
  }
  std::sort(outputs.begin(), outputs.end());
  outputs.erase(std::unique(outputs.begin(), outputs.end()), outputs.end());
  const Eigen::Index d = fields * field_size;
  const std::vector<Eigen::Index> sizes(static_cast<std::size_t>(fields), field_size);
  check.params() = {{"K", fields}, {"d_k", field_size}, {"M", nodes}, {"d", d}, {"p", outputs}, {"N", n},
                    {"seeds", seeds}, {"train_seeds", train_seeds}, {"steps", steps}, {"L", L}, {"sigma", sigma},
                    {"learning_rate", lr}, {"tau", tau}, {"rank_tolerance", analysis::kDefaultRankTolerance},
                    {"train", "fresh batches of the mixture latent model (uniform p), quadratic loss, plain SGD, "
                              "filters renormalised per column, V renormalised per row"}};
  // Refuse sizes that cannot fit before allocating anything of that size.
  if (const int rc = check.require_memory(check.max_threads() * infonce_batch_bytes(n),
                                          "InfoNCE on N = " + std::to_string(n) + " samples in " +
                                              counted(check.max_threads(), "thread"));
      rc >= 0)
    return rc;
  // The model of the training runs; L > d = K·d_k is refused here, before anything is printed.
  std::optional<data::LatentModel> model_storage;
  try {
    data::LatentModelOptions o;
    o.d = d;
    o.L = L;
    o.sigma = sigma;
    model_storage.emplace(o, check.seed());
  } catch (const std::invalid_argument& e) {
    return check.usage_error(e.what());
  }
  const data::LatentModel& model = *model_storage;
  check.begin();
  const Rng root(check.seed());

  // ---- (a) gradients --------------------------------------------------------------------------
  const std::vector<Activation> acts = {Activation::linear(), Activation::relu()};
  const std::vector<Loss> losses = {Loss::quadratic(), Loss::infonce(tau)};
  std::vector<GradientCase> cases;
  for (const std::string data : {"random", "latent"})
    for (const Eigen::Index p : outputs)
      for (const Activation& act : acts)
        for (const Loss& loss : losses)
          for (Eigen::Index s = 0; s < seeds; ++s) cases.push_back({data, act.name(), loss.name(), p, s, {}});
  const auto grad_start = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(cases.size()); ++i) {
    GradientCase& c = cases[static_cast<std::size_t>(i)];
    Rng rng = root.substream(static_cast<std::uint64_t>(i));
    const TwoViewBatch b = c.data == "random" ? gaussian_views(n, d, sigma, rng) : model.sample(n, rng);
    const TwoLayerNetwork net = TwoLayerNetwork::random(sizes, nodes, c.p, Activation::parse(c.activation), rng);
    const Loss& loss = c.loss == "quadratic" ? losses[0] : losses[1];
    const PairwiseImportance alpha = loss.pairwise_importance(net.forward(b.x), net.forward(b.x_prime));
    c.fields = analysis::field_gradient_colinearity(net, b, alpha);
  }
  check.add_timing("gradients_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - grad_start).count());

  // Aggregates per (activation, p).
  nlohmann::json grad_series = nlohmann::json::array();
  bool linear_rank_ok = true, relu_rank_ok = true;
  double linear_p1_worst = 0.0, relu_p1_least = 1.0;  // max / min over RFs of max_pairs (1 − |cos|)
  Eigen::Index linear_max_rank_over_p = -1000, relu_min_rank_over_p = 1000;
  check.report("(a) gradient matrices G_k (d_k x M = " + std::to_string(field_size) + " x " + std::to_string(nodes) +
               "), " + std::to_string(seeds) + " random networks per case, rank at sigma_i > " +
               sci(analysis::kDefaultRankTolerance, 0) + " sigma_1");
  check.report("  data   | p | activation | loss                    | rank range | max(1-|cos|) range       | mean |cos|");
  for (const std::string data : {"random", "latent"})
    for (const Eigen::Index p : outputs)
      for (const Activation& act : acts)
        for (const Loss& loss : losses) {
          Eigen::Index rmin = 1 << 30, rmax = 0;
          double omin = 1.0, omax = 0.0;
          std::vector<double> means;
          for (const GradientCase& c : cases) {
            if (c.data != data || c.p != p || c.activation != act.name() || c.loss != loss.name()) continue;
            for (const auto& f : c.fields) {
              rmin = std::min(rmin, f.rank);
              rmax = std::max(rmax, f.rank);
              omin = std::min(omin, f.cosines.max_one_minus_abs_cos);
              omax = std::max(omax, f.cosines.max_one_minus_abs_cos);
              means.push_back(f.cosines.mean_abs_cos);
              grad_series.push_back({{"data", data}, {"p", p}, {"activation", act.name()}, {"loss", loss.name()},
                                     {"seed_index", c.seed_index}, {"rank", f.rank},
                                     {"singular_values", std::vector<double>(f.singular_values.data(), f.singular_values.data() + f.singular_values.size())},
                                     {"max_one_minus_abs_cos", f.cosines.max_one_minus_abs_cos},
                                     {"mean_abs_cos", f.cosines.mean_abs_cos}});
            }
          }
          const bool linear = act.kind() == Activation::Kind::linear;
          if (linear) {
            linear_rank_ok = linear_rank_ok && rmax <= p;
            linear_max_rank_over_p = std::max(linear_max_rank_over_p, rmax - p);
            if (p == 1) linear_p1_worst = std::max(linear_p1_worst, omax);
          } else {
            relu_rank_ok = relu_rank_ok && rmin > p;
            relu_min_rank_over_p = std::min(relu_min_rank_over_p, rmin - p);
            if (p == 1) relu_p1_least = std::min(relu_p1_least, omin);
          }
          char buf[240];
          std::snprintf(buf, sizeof buf, "  %-6s | %ld | %-10s | %-23s | %4ld..%-4ld | %.2e .. %.2e     | %.4f", data.c_str(),
                        static_cast<long>(p), act.name().c_str(), loss.name().c_str(), static_cast<long>(rmin),
                        static_cast<long>(rmax), omin, omax, mean(means));
          check.report(buf);
        }
  check.series()["gradient_fields"] = grad_series;

  // ---- (b) training ----------------------------------------------------------------------------
  std::vector<TrainCase> runs;
  for (const Eigen::Index p : outputs)
    for (const Activation& act : acts)
      for (Eigen::Index s = 0; s < train_seeds; ++s) runs.push_back({act.name(), p, s, {}, {}});
  TrainerOptions opt;
  opt.learning_rate = lr;
  opt.max_steps = steps;
  opt.tolerance = 0.0;  // fresh batches: the full budget is used
  opt.normalization = Normalization::renormalize;
  opt.top_normalization = TopNormalization::rows;
  const BatchSampler sampler = [&model, n](Rng& rng) { return model.sample(n, rng); };
  const Rng train_root = root.substream(1u << 20);
  const auto train_start = std::chrono::steady_clock::now();
  Progress progress("training runs", static_cast<long>(runs.size()), check.quiet());
  long done = 0;
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(runs.size()); ++i) {
    TrainCase& r = runs[static_cast<std::size_t>(i)];
    Rng rng = train_root.substream(static_cast<std::uint64_t>(i));
    TwoLayerNetwork net = TwoLayerNetwork::random(sizes, nodes, r.p, Activation::parse(r.activation), rng);
    r.result = train(net, Loss::quadratic(), sampler, rng, opt);
    for (Eigen::Index k = 0; k < fields; ++k) r.fields.push_back(analysis::filter_diversity(net.filters(k)));
#pragma omp critical
    progress.tick(++done);
  }
  check.add_timing("training_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count());

  nlohmann::json train_series = nlohmann::json::array();
  std::vector<std::vector<std::string>> csv;
  struct Summary {
    std::vector<double> cos, erank;
  };
  std::map<std::pair<std::string, Eigen::Index>, Summary> summary;
  bool all_finished = true;
  for (const TrainCase& r : runs) {
    all_finished = all_finished && r.result.status == Status::max_steps;
    Summary& s = summary[{r.activation, r.p}];
    for (std::size_t k = 0; k < r.fields.size(); ++k) {
      const auto& f = r.fields[k];
      s.cos.push_back(f.mean_abs_cos);
      s.erank.push_back(f.effective_rank);
      train_series.push_back({{"activation", r.activation}, {"p", r.p}, {"seed_index", r.seed_index}, {"field", k},
                              {"status", to_string(r.result.status)}, {"final_energy", r.result.final_energy},
                              {"mean_abs_cos", f.mean_abs_cos}, {"min_abs_cos", f.min_abs_cos},
                              {"effective_rank", f.effective_rank}});
      csv.push_back({r.activation, std::to_string(r.p), std::to_string(r.seed_index), std::to_string(k),
                     fixed(f.mean_abs_cos, 6), fixed(f.effective_rank, 6)});
    }
  }
  check.series()["trained_fields"] = train_series;
  check.report("(b) after training (" + counted(train_seeds, "seed") + " x " + counted(fields, "RF") + ", " +
               counted(steps, "step") + "): per (activation, p) mean [min, max] over RFs");
  check.report("  activation | p | mean pairwise |cos|          | effective rank (max " + std::to_string(std::min(field_size, nodes)) + ")");
  for (const auto& [key, s] : summary) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-10s | %ld | %.4f [%.4f, %.4f]     | %.3f [%.3f, %.3f]", key.first.c_str(),
                  static_cast<long>(key.second), mean(s.cos), *std::min_element(s.cos.begin(), s.cos.end()),
                  *std::max_element(s.cos.begin(), s.cos.end()), mean(s.erank),
                  *std::min_element(s.erank.begin(), s.erank.end()), *std::max_element(s.erank.begin(), s.erank.end()));
    check.report(buf);
  }
  {
    const std::string note = check.write_figure(
        "two_layer_colinear_diversity", {"activation", "p", "seed", "field", "mean_abs_cos", "effective_rank"}, csv,
        "set title 'Trained two-layer networks: filter diversity per receptive field (duplicates sit at (1, 1))'\n"
        "set xlabel 'mean pairwise |cos| of the filters of one RF (1: all duplicates)'\n"
        "set ylabel 'effective rank of W_k (1: one direction)'\n"
        "set key top right box opaque\nset grid\nset autoscale fix\n"
        "set offsets graph 0.03, graph 0.03, graph 0.05, graph 0.05\n"
        "plot 'two_layer_colinear_diversity.csv' using (strcol(1) eq 'relu' && $2 == 1 ? $5 : 1/0):6 with points pt 5 lc 1 title 'ReLU, p = 1', "
        "'' using (strcol(1) eq 'relu' && $2 != 1 ? $5 : 1/0):6 with points pt 4 lc 2 title 'ReLU, p > 1', "
        "'' using (strcol(1) eq 'linear' && $2 == 1 ? $5 : 1/0):6 with points pt 7 ps 1.2 lc 3 title 'linear, p = 1', "
        "'' using (strcol(1) eq 'linear' && $2 != 1 ? $5 : 1/0):6 with points pt 6 ps 2.2 lw 2 lc 4 title 'linear, p > 1'");
    if (!note.empty()) check.report(note);
  }

  // ---- claims ----------------------------------------------------------------------------------
  const std::string ps = [&] {
    std::string s;
    for (const auto p : outputs) s += (s.empty() ? "" : ",") + std::to_string(p);
    return s;
  }();
  check.add_claim({"6a-linear-rank", "linear: rank(G_k) <= p in every RF (p in {" + ps + "}, both data sets, both losses)",
                   "max rank - p <= 0", "max rank - p = " + std::to_string(linear_max_rank_over_p),
                   "sigma_i > " + sci(analysis::kDefaultRankTolerance, 0) + " sigma_1", linear_rank_ok});
  if (std::find(outputs.begin(), outputs.end(), 1) != outputs.end()) {
    // Theory §7: co-linear to rounding. The columns are exact multiples v_km·c of one vector c,
    // so 1 − |cos| is a few ulps; 1e-12 is the stated criterion.
    check.add_claim({"6a-linear-colinear", "linear, p = 1: every pair of gradients in an RF is co-linear",
                     "1 - |cos| = 0", "max 1 - |cos| = " + sci(linear_p1_worst, 2), "<= 1e-12", linear_p1_worst <= 1e-12});
    // "Clearly not": every ReLU RF has a pair whose 1 − |cos| is ≥ 1e-3, nine orders above the
    // linear bound, i.e. a visible angle (≥ 2.6°) between two gradients.
    check.add_claim({"6a-relu-not-colinear", "ReLU, p = 1: every RF has a pair of gradients that is clearly not co-linear",
                     "max 1 - |cos| >> 1e-12", "min over RFs of max 1 - |cos| = " + sci(relu_p1_least, 2), ">= 1e-3",
                     relu_p1_least >= 1e-3});
  }
  check.add_claim({"6a-relu-rank", "ReLU: rank(G_k) > p in every RF (p in {" + ps + "})", "min rank - p >= 1",
                   "min rank - p = " + std::to_string(relu_min_rank_over_p),
                   "sigma_i > " + sci(analysis::kDefaultRankTolerance, 0) + " sigma_1", relu_rank_ok});
  for (const Eigen::Index p : outputs) {
    const Summary& lin = summary[{"linear", p}];
    const Summary& relu = summary[{"relu", p}];
    const double lc = mean(lin.cos), rc = mean(relu.cos), le = mean(lin.erank), re = mean(relu.erank);
    if (p == 1) {
      // p = 1 is the exact statement (rank-1 VᵀV): all filters of a linear RF move along one
      // vector C_α[x_k, f], so after training they coincide up to sign (mean |cos| → 1, effective
      // rank → 1), while ReLU filters settle at different gated optima. The alignment is only
      // asymptotic: the spread orthogonal to C_α[x_k, f] decays at a rate ∝ |v_km|·‖C_α[x_k, f]‖,
      // slow in an RF the top layer reads weakly (measured: mean |cos| 0.92 after 500 steps,
      // 0.998 after 3000 at lr 1). Criterion: the linear mean |cos| is ≥ 0.95 (near-duplicates:
      // a mean angle below 18°) and exceeds the ReLU mean by ≥ 0.2, and the ReLU mean effective
      // rank exceeds the linear one by ≥ 0.5 — at least half an extra effective direction per
      // RF. Random unit filters in R^6 have mean |cos| ≈ 0.33, so a gap of 0.2 between trained
      // networks cannot come from filters that merely failed to move.
      const bool pass = lc >= 0.95 && lc - rc >= 0.2 && re - le >= 0.5;
      check.add_claim({"6b-diversity-p1", "after training (p = 1): linear RFs hold near-duplicate filters, ReLU RFs diverse ones",
                       "linear |cos| ~ 1, erank ~ 1; ReLU clearly lower |cos|, higher erank",
                       "mean |cos| linear " + fixed(lc, 4) + " vs ReLU " + fixed(rc, 4) + "; erank linear " + fixed(le, 3) +
                           " vs ReLU " + fixed(re, 3),
                       "lin |cos| >= 0.95, gap >= 0.2; erank gap >= 0.5", pass});
    } else {
      // p > 1: linear filters span at most p directions (rank(G_k) ≤ p at every step), so their
      // effective rank stays ≤ p up to the initial transient; ReLU is not bound. Reported and
      // asserted only through the ordering of the means.
      const bool pass = rc < lc && re > le;
      check.add_claim({"6b-diversity-p" + std::to_string(p),
                       "after training (p = " + std::to_string(p) + "): ReLU RFs are more diverse than linear RFs",
                       "ReLU |cos| < linear, ReLU erank > linear",
                       "mean |cos| linear " + fixed(lc, 4) + " vs ReLU " + fixed(rc, 4) + "; erank linear " + fixed(le, 3) +
                           " vs ReLU " + fixed(re, 3),
                       "strict ordering of the means", pass});
    }
  }
  check.add_claim({"6b-runs", "every training run used its full budget with finite values", "all max_steps",
                   all_finished ? "all" : "some stopped early", "-", all_finished});
  return check.finish();
}
