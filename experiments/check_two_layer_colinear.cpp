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
#include <map>
#include <numeric>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "common/shape.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct Options {
  Eigen::Index fields = 4, field_size = 6, nodes = 6, n = 64, seeds = 10, train_seeds = 8, steps = 3000, L = 6;
  std::vector<Eigen::Index> outputs = {1, 3};
  double sigma = 0.2, lr = 1.0, tau = 0.5;

  void describe(OptionSet& o) {
    o.add("--fields", fields, "Number of receptive fields K", "K")->check(CLI::Range(1, 1000));
    o.add("--field-size", field_size, "Size d_k of every receptive field", "d_k")->check(CLI::Range(1, 10000));
    o.add("--nodes", nodes, "Hidden nodes M per receptive field", "M")->check(CLI::Range(2, 10000));
    // "params" holds the output dimensions sorted and without repeats (key p), as the cases use them.
    o.add("--outputs", outputs, "Output dimensions p to test", "")->check(CLI::Range(1, 10000));
    o.add("--n", n, "Batch size N", "N")->check(CLI::Range(2, 1 << 20));
    o.add("--seeds", seeds, "Random networks per gradient case")->check(CLI::Range(1, 100000));
    o.add("--train-seeds", train_seeds, "Training runs per (activation, p)")->check(CLI::Range(1, 100000));
    o.add("--steps", steps, "SGD steps per training run")->check(CLI::Range(1, 100000000));
    o.add("--L", L, "Patterns of the latent mixture model")->check(CLI::Range(1, 100000));
    o.add("--sigma", sigma, "Augmentation noise sigma")->check(positive_number());
    o.add("--lr", lr, "Learning rate of the training runs", "learning_rate")->check(positive_number());
    o.add("--tau", tau, "InfoNCE temperature of the gradient cases")->check(positive_number());
    o.record_all([this] {
      return nlohmann::json{{"d", dim()}, {"p", sorted_outputs()}, {"rank_tolerance", analysis::kDefaultRankTolerance},
                            {"train", "fresh batches of the mixture latent model (uniform p), quadratic loss, plain SGD, "
                                      "filters renormalised per column, V renormalised per row"}};
    });
  }
  /// The model of the training runs must exist (L <= d = K·d_k): it is built once here, from a
  /// placeholder seed, so that the refusal is the model's own message, before anything is printed.
  void validate() const { data::LatentModel(model_options(), std::uint64_t{0}); }
  void use_smoke_sizes() {
    seeds = std::min<Eigen::Index>(seeds, 3);
    train_seeds = std::min<Eigen::Index>(train_seeds, 3);
    steps = std::min<Eigen::Index>(steps, 1000);
  }
  // Refuse sizes that cannot fit before allocating anything of that size: one InfoNCE batch per
  // thread (parse() has set the OpenMP thread count from --threads).
  double memory_bytes() const { return omp_get_max_threads() * infonce_batch_bytes(n); }
  std::string memory_what() const {
    return "InfoNCE on N = " + std::to_string(n) + " samples in " + counted(omp_get_max_threads(), "thread");
  }

  Eigen::Index dim() const { return fields * field_size; }
  /// The output dimensions p in increasing order, each once.
  std::vector<Eigen::Index> sorted_outputs() const {
    std::vector<Eigen::Index> p = outputs;
    std::sort(p.begin(), p.end());
    p.erase(std::unique(p.begin(), p.end()), p.end());
    return p;
  }
  data::LatentModelOptions model_options() const {
    data::LatentModelOptions m;
    m.d = dim();
    m.L = L;
    m.sigma = sigma;
    return m;
  }
};

/// The data sets, activations and losses of the gradient cases, in the order of the cases.
const std::vector<std::string> kData = {"random", "latent"};
const std::vector<Activation>& activations() {
  static const std::vector<Activation> list = {Activation::linear(), Activation::relu()};
  return list;
}
std::vector<Loss> losses(const Options& o) { return {Loss::quadratic(), Loss::infonce(o.tau)}; }

struct GradientCase {
  std::size_t data = 0, activation = 0, loss = 0;  // indices into kData, activations(), losses()
  Eigen::Index p = 1, seed_index = 0;
  std::vector<analysis::GradientColinearity> fields;
};

struct TrainCase {
  std::size_t activation = 0;  // index into activations()
  Eigen::Index p = 1, seed_index = 0;
  TrainResult result;
  std::vector<analysis::FilterDiversity> fields;
};

struct Result {
  std::vector<Eigen::Index> outputs;  // sorted, distinct
  std::vector<GradientCase> cases;    // (data, p, activation, loss, seed); case i on substream i of the seed
  std::vector<TrainCase> runs;        // (p, activation, seed); run i on substream i of substream 2^20
  double gradients_seconds = 0.0, training_seconds = 0.0;
};

TwoViewBatch gaussian_views(Eigen::Index n, Eigen::Index d, double sigma, Rng& rng) {
  const Eigen::MatrixXd x0 = rng.normal_matrix(n, d);
  TwoViewBatch b;
  b.x = x0 + sigma * rng.normal_matrix(n, d);
  b.x_prime = x0 + sigma * rng.normal_matrix(n, d);
  return b;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); }

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result compute(const Options& o, std::uint64_t seed, const Context& ctx) {
  Result res;
  res.outputs = o.sorted_outputs();
  const data::LatentModel model(o.model_options(), seed);
  const Eigen::Index d = o.dim(), n = o.n;
  const std::vector<Eigen::Index> sizes(static_cast<std::size_t>(o.fields), o.field_size);
  const Rng root(seed);

  // (a) gradients
  const std::vector<Loss> loss_list = losses(o);
  for (std::size_t data = 0; data < kData.size(); ++data)
    for (const Eigen::Index p : res.outputs)
      for (std::size_t a = 0; a < activations().size(); ++a)
        for (std::size_t l = 0; l < loss_list.size(); ++l)
          for (Eigen::Index s = 0; s < o.seeds; ++s) res.cases.push_back({data, a, l, p, s, {}});
  const auto grad_start = std::chrono::steady_clock::now();
  parallel_runs(static_cast<long>(res.cases.size()), root, 0, "gradient cases", ctx, [&](long i, Rng& rng) {
    GradientCase& c = res.cases[static_cast<std::size_t>(i)];
    const TwoViewBatch b = kData[c.data] == "random" ? gaussian_views(n, d, o.sigma, rng) : model.sample(n, rng);
    const TwoLayerNetwork net = TwoLayerNetwork::random(sizes, o.nodes, c.p, activations()[c.activation], rng);
    const PairwiseImportance alpha = loss_list[c.loss].pairwise_importance(net.forward(b.x), net.forward(b.x_prime));
    c.fields = analysis::field_gradient_colinearity(net, b, alpha);
  });
  res.gradients_seconds = seconds_since(grad_start);

  // (b) training
  for (const Eigen::Index p : res.outputs)
    for (std::size_t a = 0; a < activations().size(); ++a)
      for (Eigen::Index s = 0; s < o.train_seeds; ++s) res.runs.push_back({a, p, s, {}, {}});
  TrainerOptions opt;
  opt.learning_rate = o.lr;
  opt.max_steps = o.steps;
  opt.tolerance = 0.0;  // fresh batches: the full budget is used
  opt.normalization = Normalization::renormalize;
  opt.top_normalization = TopNormalization::rows;
  const BatchSampler sampler = [&model, n](Rng& rng) { return model.sample(n, rng); };
  const auto train_start = std::chrono::steady_clock::now();
  parallel_runs(static_cast<long>(res.runs.size()), root.substream(kTrainingRunsStream), 0, "training runs", ctx,
                [&](long i, Rng& rng) {
                  TrainCase& r = res.runs[static_cast<std::size_t>(i)];
                  TwoLayerNetwork net = TwoLayerNetwork::random(sizes, o.nodes, r.p, activations()[r.activation], rng);
                  r.result = train(net, Loss::quadratic(), sampler, rng, opt);
                  for (Eigen::Index k = 0; k < o.fields; ++k) r.fields.push_back(analysis::filter_diversity(net.filters(k)));
                });
  res.training_seconds = seconds_since(train_start);
  return res;
}

/// Aggregates of the gradient cases over (activation, p), for the claims.
struct GradientSummary {
  double linear_p1_worst = 0.0, relu_p1_least = 1.0;  // max / min over RFs of max_pairs (1 − |cos|)
  Eigen::Index linear_max_rank_over_p = -1000, relu_min_rank_over_p = 1000;
};

/// Part (a): a table row per (data, p, activation, loss) and the "gradient_fields" series.
GradientSummary report_gradients(Check& check, const Options& o, const Result& res) {
  GradientSummary g;
  const std::vector<Loss> loss_list = losses(o);
  nlohmann::json grad_series = nlohmann::json::array();
  check.report("(a) gradient matrices G_k (d_k x M = " + std::to_string(o.field_size) + " x " + std::to_string(o.nodes) +
               "), " + std::to_string(o.seeds) + " random networks per case, rank at sigma_i > " +
               sci(analysis::kDefaultRankTolerance, 0) + " sigma_1");
  check.report("  data   | p | activation | loss                    | rank range | max(1-|cos|) range       | mean |cos|");
  for (std::size_t data = 0; data < kData.size(); ++data)
    for (const Eigen::Index p : res.outputs)
      for (std::size_t a = 0; a < activations().size(); ++a)
        for (std::size_t l = 0; l < loss_list.size(); ++l) {
          const Activation& act = activations()[a];
          const Loss& loss = loss_list[l];
          Eigen::Index rmin = 1 << 30, rmax = 0;
          double omin = 1.0, omax = 0.0;
          std::vector<double> means;
          for (const GradientCase& c : res.cases) {
            if (c.data != data || c.p != p || c.activation != a || c.loss != l) continue;
            for (const auto& f : c.fields) {
              rmin = std::min(rmin, f.rank);
              rmax = std::max(rmax, f.rank);
              omin = std::min(omin, f.cosines.max_one_minus_abs_cos);
              omax = std::max(omax, f.cosines.max_one_minus_abs_cos);
              means.push_back(f.cosines.mean_abs_cos);
              grad_series.push_back({{"data", kData[data]}, {"p", p}, {"activation", act.name()}, {"loss", loss.name()},
                                     {"seed_index", c.seed_index}, {"rank", f.rank},
                                     {"singular_values", std::vector<double>(f.singular_values.data(), f.singular_values.data() + f.singular_values.size())},
                                     {"max_one_minus_abs_cos", f.cosines.max_one_minus_abs_cos},
                                     {"mean_abs_cos", f.cosines.mean_abs_cos}});
            }
          }
          if (act.is_linear()) {
            g.linear_max_rank_over_p = std::max(g.linear_max_rank_over_p, rmax - p);
            if (p == 1) g.linear_p1_worst = std::max(g.linear_p1_worst, omax);
          } else {
            g.relu_min_rank_over_p = std::min(g.relu_min_rank_over_p, rmin - p);
            if (p == 1) g.relu_p1_least = std::min(g.relu_p1_least, omin);
          }
          char buf[240];
          std::snprintf(buf, sizeof buf, "  %-6s | %ld | %-10s | %-23s | %4ld..%-4ld | %.2e .. %.2e     | %.4f",
                        kData[data].c_str(), static_cast<long>(p), act.name().c_str(), loss.name().c_str(),
                        static_cast<long>(rmin), static_cast<long>(rmax), omin, omax, mean(means));
          check.report(buf);
        }
  check.series()["gradient_fields"] = grad_series;
  return g;
}

/// Filter diversity of the trained RFs of one (activation, p).
struct Diversity {
  std::vector<double> cos, erank;
};
using DiversityMap = std::map<std::pair<std::string, Eigen::Index>, Diversity>;

/// Part (b): the "trained_fields" series, a table row per (activation, p) and the figure.
DiversityMap report_training(Check& check, const Options& o, const Result& res) {
  nlohmann::json train_series = nlohmann::json::array();
  std::vector<std::vector<std::string>> csv;
  DiversityMap summary;
  for (const TrainCase& r : res.runs) {
    const std::string act = activations()[r.activation].name();
    Diversity& s = summary[{act, r.p}];
    for (std::size_t k = 0; k < r.fields.size(); ++k) {
      const auto& f = r.fields[k];
      s.cos.push_back(f.mean_abs_cos);
      s.erank.push_back(f.effective_rank);
      train_series.push_back({{"activation", act}, {"p", r.p}, {"seed_index", r.seed_index}, {"field", k},
                              {"status", to_string(r.result.status)}, {"final_energy", r.result.final_energy},
                              {"mean_abs_cos", f.mean_abs_cos}, {"min_abs_cos", f.min_abs_cos},
                              {"effective_rank", f.effective_rank}});
      csv.push_back({act, std::to_string(r.p), std::to_string(r.seed_index), std::to_string(k),
                     fixed(f.mean_abs_cos, 6), fixed(f.effective_rank, 6)});
    }
  }
  check.series()["trained_fields"] = train_series;
  check.report("(b) after training (" + counted(o.train_seeds, "seed") + " x " + counted(o.fields, "RF") + ", " +
               counted(o.steps, "step") + "): per (activation, p) mean [min, max] over RFs");
  check.report("  activation | p | mean pairwise |cos|          | effective rank (max " +
               std::to_string(std::min(o.field_size, o.nodes)) + ")");
  for (const auto& [key, s] : summary) {
    char buf[200];
    std::snprintf(buf, sizeof buf, "  %-10s | %ld | %.4f [%.4f, %.4f]     | %.3f [%.3f, %.3f]", key.first.c_str(),
                  static_cast<long>(key.second), mean(s.cos), *std::min_element(s.cos.begin(), s.cos.end()),
                  *std::max_element(s.cos.begin(), s.cos.end()), mean(s.erank),
                  *std::min_element(s.erank.begin(), s.erank.end()), *std::max_element(s.erank.begin(), s.erank.end()));
    check.report(buf);
  }
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
  return summary;
}

/// Claims of part (a).
void report_gradient_claims(Check& check, const Result& res, const GradientSummary& g) {
  std::string ps;
  for (const auto p : res.outputs) ps += (ps.empty() ? "" : ",") + std::to_string(p);
  const std::string rank_text = "sigma_i > " + sci(analysis::kDefaultRankTolerance, 0) + " sigma_1";
  // The rank bounds are counts (max rank − p <= 0, min rank − p >= 1); both hold vacuously
  // without a case, as before (the initial −1000 / 1000 pass).
  check.add_claim(Claim::of("6a-linear-rank",
                            "linear: rank(G_k) <= p in every RF (p in {" + ps + "}, both data sets, both losses)",
                            "max rank - p <= 0", "max rank - p = " + std::to_string(g.linear_max_rank_over_p),
                            static_cast<double>(g.linear_max_rank_over_p), Bound::at_most(0).shown_as(rank_text)));
  if (std::find(res.outputs.begin(), res.outputs.end(), 1) != res.outputs.end()) {
    // Theory §7: co-linear to rounding. The columns are exact multiples v_km·c of one vector c,
    // so 1 − |cos| is a few ulps; 1e-12 is the stated criterion.
    check.add_claim(Claim::of("6a-linear-colinear", "linear, p = 1: every pair of gradients in an RF is co-linear",
                              "1 - |cos| = 0", "max 1 - |cos| = " + sci(g.linear_p1_worst, 2), g.linear_p1_worst,
                              Bound::at_most(1e-12)));
    // "Clearly not": every ReLU RF has a pair whose 1 − |cos| is ≥ 1e-3, nine orders above the
    // linear bound, i.e. a visible angle (≥ 2.6°) between two gradients.
    check.add_claim(Claim::of("6a-relu-not-colinear",
                              "ReLU, p = 1: every RF has a pair of gradients that is clearly not co-linear",
                              "max 1 - |cos| >> 1e-12", "min over RFs of max 1 - |cos| = " + sci(g.relu_p1_least, 2),
                              g.relu_p1_least, Bound::at_least(1e-3).shown_as(">= 1e-3")));
  }
  check.add_claim(Claim::of("6a-relu-rank", "ReLU: rank(G_k) > p in every RF (p in {" + ps + "})", "min rank - p >= 1",
                            "min rank - p = " + std::to_string(g.relu_min_rank_over_p),
                            static_cast<double>(g.relu_min_rank_over_p), Bound::at_least(1).shown_as(rank_text)));
}

/// Claims of part (b).
void report_training_claims(Check& check, const Result& res, DiversityMap& summary) {
  for (const Eigen::Index p : res.outputs) {
    const Diversity& lin = summary[{"linear", p}];
    const Diversity& relu = summary[{"relu", p}];
    const double lc = mean(lin.cos), rc = mean(relu.cos), le = mean(lin.erank), re = mean(relu.erank);
    const std::string measured = "mean |cos| linear " + fixed(lc, 4) + " vs ReLU " + fixed(rc, 4) + "; erank linear " +
                                 fixed(le, 3) + " vs ReLU " + fixed(re, 3);
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
      // networks cannot come from filters that merely failed to move. A conjunction over three
      // measured quantities: a criterion, not one typed bound.
      const bool pass = lc >= 0.95 && lc - rc >= 0.2 && re - le >= 0.5;
      check.add_claim(Claim::of("6b-diversity-p1",
                                "after training (p = 1): linear RFs hold near-duplicate filters, ReLU RFs diverse ones",
                                "linear |cos| ~ 1, erank ~ 1; ReLU clearly lower |cos|, higher erank", measured, lc,
                                Bound::criterion(pass, "lin |cos| >= 0.95, gap >= 0.2; erank gap >= 0.5")));
    } else {
      // p > 1: linear filters span at most p directions (rank(G_k) ≤ p at every step), so their
      // effective rank stays ≤ p up to the initial transient; ReLU is not bound. Reported and
      // asserted only through the ordering of the means (a criterion over two orderings).
      const bool pass = rc < lc && re > le;
      check.add_claim(Claim::of("6b-diversity-p" + std::to_string(p),
                                "after training (p = " + std::to_string(p) + "): ReLU RFs are more diverse than linear RFs",
                                "ReLU |cos| < linear, ReLU erank > linear", measured, rc,
                                Bound::criterion(pass, "strict ordering of the means")));
    }
  }
  const auto finished = std::count_if(res.runs.begin(), res.runs.end(),
                                      [](const TrainCase& r) { return r.result.status == Status::max_steps; });
  const bool all_finished = finished == static_cast<long>(res.runs.size());
  check.add_claim(Claim::of("6b-runs", "every training run used its full budget with finite values", "all max_steps",
                            all_finished ? "all" : "some stopped early", static_cast<double>(finished),
                            Bound::all_of(static_cast<double>(res.runs.size())).shown_as("-")));
}

void report(Check& check, const Options& o, const Result& res) {
  check.add_timing("gradients_seconds", res.gradients_seconds);
  check.add_timing("training_seconds", res.training_seconds);
  const GradientSummary g = report_gradients(check, o, res);
  DiversityMap summary = report_training(check, o, res);
  report_gradient_claims(check, res, g);
  report_training_claims(check, res, summary);
}

}  // namespace

const cldyn::experiments::CheckInfo kInfo{"two_layer_colinear",
    "Claim 6: in a two-layer network, linear nodes of one receptive field receive gradients "
    "of rank <= p (co-linear for p = 1) and end as duplicates; ReLU nodes do not"};

CLDYN_REGISTER_CHECK(kInfo, Options, Result, compute, report)
