// check_global_modulation — theory §5 Claim 7 (global modulation) on the two-layer class model.
//
// (a) Identity. At random filters w_k (M = 1 per RF) and p = 1, the global-modulated covariance
//     Ã_k (built from L_k, Δ_k, d_k, b_k and λ, the secular root found with Boost.Math's
//     toms748_solve) gives Ã_k w_k equal to the generic Identity-C field s_k Σ_l s_l Cov(μ̃_k, g_l)
//     at VᵀV = s sᵀ, both exact population sums over the joint support; λ equals the dense top
//     eigenvalue of V[f_1] computed directly from the support.
// (b) Learning probability. Two-layer networks (M = 1 per RF, p = 1, V trained and kept at unit
//     norm, quadratic loss, fresh batches) are trained from many seeds. Per RF the filter counts
//     as having learned u_k (v_k) when cos(w_k, u_k) ≥ 0.9 (cos(w_k, v_k) ≥ 0.9). The fraction of
//     RFs learning the z-dependent pattern u_k must clearly exceed the fraction learning the
//     z-independent v_k of the same marginal variance: Clopper–Pearson 95% intervals (Boost.Math)
//     must be disjoint. The learning-time curve (mean cosine with u_k and v_k vs step) is a figure.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <optional>
#include <vector>

#include "cldyn/analysis/analysis.hpp"
#include "cldyn/analysis/global_modulation.hpp"
#include "cldyn/data/class_model.hpp"
#include "common/check.hpp"

using namespace cldyn;
using namespace cldyn::experiments;

namespace {

struct Run {
  TrainResult result;
  Eigen::VectorXd cos_u, cos_v;            // per RF, final
  std::vector<Eigen::Index> curve_steps;   // recorded steps
  std::vector<Eigen::VectorXd> curve_u, curve_v;  // per recorded step: per RF cosines
};

}  // namespace

int main(int argc, char** argv) {
  Check check("global_modulation",
              "Claim 7: the global-modulated covariance equals the generic two-layer field, and a "
              "z-dependent local pattern is learned with clearly higher probability than a z-independent one");
  Eigen::Index fields = 4, field_size = 6, seeds = 100, n = 128, steps = 2000, record_every = 20, identity_sets = 5;
  double p1 = 0.5, q0 = 0.1, q1 = 0.9, sigma = 0.3, lr = 0.5, cos_threshold = 0.9, confidence = 0.95;
  std::string activation = "relu";
  auto& app = check.app();
  app.add_option("--fields", fields, "Receptive fields K")->check(CLI::Range(1, 9))->capture_default_str();
  app.add_option("--field-size", field_size, "Size d_k of every receptive field")->check(CLI::Range(2, 10000))->capture_default_str();
  app.add_option("--p1", p1, "P(z = 1)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--q0", q0, "P(u_k present | z = 0)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--q1", q1, "P(u_k present | z = 1)")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--sigma", sigma, "Augmentation noise sigma")->check(positive_number())->capture_default_str();
  app.add_option("--activation", activation, "Activation of the hidden nodes: linear | relu | leaky:GAMMA")
      ->check(activation_name())->capture_default_str();
  app.add_option("--seeds", seeds, "Training runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--n", n, "Fresh-batch size N")->check(CLI::Range(2, 1 << 20))->capture_default_str();
  app.add_option("--steps", steps, "SGD steps per run")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--lr", lr, "Learning rate")->check(positive_number())->capture_default_str();
  app.add_option("--record-every", record_every, "Steps between points of the learning-time curve")->check(CLI::Range(1, 100000000))->capture_default_str();
  app.add_option("--cos-threshold", cos_threshold, "A filter has learned a pattern when cos >= this")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--confidence", confidence, "Level of the Clopper-Pearson intervals")->check(CLI::Range(0.5, 0.9999))->capture_default_str();
  app.add_option("--identity-sets", identity_sets, "Random filter sets for part (a)")->check(CLI::Range(1, 100000))->capture_default_str();
  if (const int rc = check.parse(argc, argv); rc >= 0) return rc;
  if (check.smoke()) {
    seeds = std::min<Eigen::Index>(seeds, 16);
    steps = std::min<Eigen::Index>(steps, 1000);
    identity_sets = std::min<Eigen::Index>(identity_sets, 2);
  }
  data::ClassModelOptions mo;
  mo.field_sizes.assign(static_cast<std::size_t>(fields), field_size);
  mo.p1 = p1;
  mo.q0 = q0;
  mo.q1 = q1;
  mo.sigma = sigma;
  std::optional<data::ClassModel> model_storage;
  std::optional<Activation> act_storage;
  try {
    model_storage.emplace(mo, check.seed());
    act_storage.emplace(Activation::parse(activation));
  } catch (const std::invalid_argument& e) {
    return check.usage_error(e.what());
  }
  const data::ClassModel& model = *model_storage;
  const Activation act = *act_storage;
  check.params() = {{"K", fields}, {"d_k", field_size}, {"p1", p1}, {"q0", q0}, {"q1", q1}, {"q_bar", mo.q_bar()},
                    {"sigma", sigma}, {"activation", act.name()}, {"M", 1}, {"p", 1}, {"seeds", seeds}, {"N", n},
                    {"steps", steps}, {"learning_rate", lr}, {"record_every", record_every},
                    {"cos_threshold", cos_threshold}, {"confidence", confidence}, {"identity_sets", identity_sets},
                    {"loss", "quadratic (uniform alpha)"},
                    {"train", "fresh batches, plain SGD, filters renormalised, V renormalised (unit norm, p = 1)"}};
  check.begin();

  // ---- (a) identity ---------------------------------------------------------------------------
  const Rng root(check.seed());
  double worst_field = 0.0, worst_lambda = 0.0, worst_decomposition = 0.0;
  long identity_ok = 0, identity_total = 0;
  nlohmann::json identity_series = nlohmann::json::array();
  for (const Activation& a : {Activation::linear(), act}) {
    for (Eigen::Index t = 0; t < identity_sets; ++t) {
      Rng rng = root.substream(static_cast<std::uint64_t>(t) + (a.kind() == Activation::Kind::linear ? 0 : 1000));
      std::vector<Eigen::VectorXd> w;
      for (Eigen::Index k = 0; k < fields; ++k) w.push_back(rng.normal_matrix(field_size, 1).col(0).normalized());
      const analysis::GlobalModulation g = analysis::global_modulation(model, w, a);
      ++identity_total;
      if (g.status != Status::success) {
        check.report("identity set " + std::to_string(t) + " (" + a.name() + "): " + g.message);
        continue;
      }
      ++identity_ok;
      const Eigen::MatrixXd v = analysis::hidden_covariance(model, w, a);
      const analysis::EigenResult eig = analysis::top_eigenpairs(v, 1);
      const Eigen::MatrixXd dec = Eigen::MatrixXd(g.d.asDiagonal()) + g.p0 * g.p1 * g.b * g.b.transpose();
      const std::vector<Eigen::VectorXd> field = analysis::generic_field(model, w, g.s, a);
      double err = 0.0;
      for (std::size_t k = 0; k < w.size(); ++k) {
        const Eigen::VectorXd mod = g.modulated[k] * w[k];
        err = std::max(err, (mod - field[k]).norm() / std::max(field[k].norm(), 1e-300));
      }
      const double lerr = std::abs(g.lambda - eig.values(0)) / std::abs(eig.values(0));
      const double derr = (v - dec).norm() / v.norm();
      worst_field = std::max(worst_field, err);
      worst_lambda = std::max(worst_lambda, lerr);
      worst_decomposition = std::max(worst_decomposition, derr);
      identity_series.push_back({{"activation", a.name()}, {"set", t}, {"lambda", g.lambda}, {"dense_lambda", eig.values(0)},
                                 {"secular_residual", g.root.residual}, {"toms748_evaluations", g.root.iterations},
                                 {"field_relative_error", err}, {"decomposition_relative_error", derr},
                                 {"d", std::vector<double>(g.d.data(), g.d.data() + g.d.size())},
                                 {"b", std::vector<double>(g.b.data(), g.b.data() + g.b.size())}});
    }
  }
  check.series()["identity"] = identity_series;
  check.report("(a) " + std::to_string(identity_ok) + "/" + std::to_string(identity_total) +
               " random filter sets (linear and " + act.name() + "): max rel. error Ã_k w_k vs generic field " +
               sci(worst_field, 2) + ", secular λ vs dense " + sci(worst_lambda, 2) + ", V[f_1] vs diag(d)+p0p1 bbᵀ " +
               sci(worst_decomposition, 2));

  // ---- (b) learning probability ----------------------------------------------------------------
  std::vector<Run> runs(static_cast<std::size_t>(seeds));
  TrainerOptions opt;
  opt.learning_rate = lr;
  opt.max_steps = steps;
  opt.tolerance = 0.0;
  opt.normalization = Normalization::renormalize;
  opt.top_normalization = TopNormalization::rows;
  const BatchSampler sampler = [&model, n](Rng& rng) { return model.sample(n, rng); };
  const std::vector<Eigen::Index> sizes(static_cast<std::size_t>(fields), field_size);
  Eigen::MatrixXd u_local(field_size, fields), v_local(field_size, fields);
  for (Eigen::Index k = 0; k < fields; ++k) {
    u_local.col(k) = model.discriminative(k);
    v_local.col(k) = model.nondiscriminative(k);
  }
  auto cosines = [&](const TwoLayerNetwork& net, Eigen::VectorXd& cu, Eigen::VectorXd& cv) {
    cu.resize(fields);
    cv.resize(fields);
    for (Eigen::Index k = 0; k < fields; ++k) {
      const Eigen::VectorXd w = net.filters(k).col(0).normalized();
      cu(k) = w.dot(u_local.col(k));
      cv(k) = w.dot(v_local.col(k));
      if (act.kind() == Activation::Kind::linear) {  // a linear filter's sign is arbitrary
        cu(k) = std::abs(cu(k));
        cv(k) = std::abs(cv(k));
      }
    }
  };
  const Rng train_root = root.substream(1u << 20);
  const auto train_start = std::chrono::steady_clock::now();
  Progress progress("training runs", static_cast<long>(seeds), check.quiet());
  long done = 0;
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(seeds); ++i) {
    Run& r = runs[static_cast<std::size_t>(i)];
    Rng rng = train_root.substream(static_cast<std::uint64_t>(i));
    TwoLayerNetwork net = TwoLayerNetwork::random(sizes, 1, 1, act, rng);
    const TwoLayerTrainCallback record = [&](const TwoLayerStepInfo& info) {
      if (info.step % record_every == 0) {
        Eigen::VectorXd cu, cv;
        cosines(info.network, cu, cv);
        r.curve_steps.push_back(info.step);
        r.curve_u.push_back(cu);
        r.curve_v.push_back(cv);
      }
      return true;
    };
    r.result = train(net, Loss::quadratic(), sampler, rng, opt, {record});
    cosines(net, r.cos_u, r.cos_v);
#pragma omp critical
    progress.tick(++done);
  }
  check.add_timing("training_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - train_start).count());

  long total = 0, learned_u = 0, learned_v = 0, learned_blend = 0;
  bool all_finished = true;
  nlohmann::json run_series = nlohmann::json::array();
  for (const Run& r : runs) {
    all_finished = all_finished && r.result.status == Status::max_steps;
    for (Eigen::Index k = 0; k < fields; ++k) {
      ++total;
      learned_u += r.cos_u(k) >= cos_threshold ? 1 : 0;
      learned_v += r.cos_v(k) >= cos_threshold ? 1 : 0;
      // Reported only: the other ReLU endpoint seen in practice, w ∝ v_k − u_k ("v present, u
      // absent"), itself a z-dependent feature; cos with it = (cos_v − cos_u)/√2 for unit w.
      learned_blend += (r.cos_v(k) - r.cos_u(k)) / std::sqrt(2.0) >= cos_threshold ? 1 : 0;
    }
    run_series.push_back({{"status", to_string(r.result.status)}, {"final_energy", r.result.final_energy},
                          {"cos_u", std::vector<double>(r.cos_u.data(), r.cos_u.data() + r.cos_u.size())},
                          {"cos_v", std::vector<double>(r.cos_v.data(), r.cos_v.data() + r.cos_v.size())}});
  }
  check.series()["runs"] = run_series;
  const analysis::BinomialInterval iu = analysis::clopper_pearson(learned_u, total, confidence),
                                   iv = analysis::clopper_pearson(learned_v, total, confidence);
  const double fu = static_cast<double>(learned_u) / static_cast<double>(total);
  const double fv = static_cast<double>(learned_v) / static_cast<double>(total);
  const std::string ci = fixed(100.0 * confidence, 0) + "% CI";
  check.report("(b) " + counted(seeds, "run") + " x " + counted(fields, "RF") + " = " + counted(total, "filter") +
               "; learned u_k (cos >= " + fixed(cos_threshold, 2) + "): " + std::to_string(learned_u) + " = " +
               fixed(fu, 3) + " (" + ci + " [" + fixed(iu.low, 3) + ", " + fixed(iu.high, 3) + "]); learned v_k: " +
               std::to_string(learned_v) + " = " + fixed(fv, 3) + " (" + ci + " [" + fixed(iv.low, 3) + ", " +
               fixed(iv.high, 3) + "]); margin " + fixed(fu - fv, 3) + " (Clopper-Pearson, Boost.Math)");
  check.report("    reported: filters within cos " + fixed(cos_threshold, 2) + " of (v_k - u_k)/sqrt(2) (fires when v is present and u "
               "absent, also z-dependent): " + std::to_string(learned_blend) + "/" + std::to_string(total));
  check.series()["learned_v_minus_u"] = learned_blend;
  // Learning-time curve: mean over runs and RFs at each recorded step.
  std::vector<std::vector<std::string>> csv;
  nlohmann::json curve = nlohmann::json::array();
  if (!runs.empty()) {
    const std::size_t points = runs.front().curve_steps.size();
    for (std::size_t j = 0; j < points; ++j) {
      double su = 0.0, sv = 0.0, fu_t = 0.0, fv_t = 0.0;
      long cnt = 0;
      for (const Run& r : runs) {
        if (j >= r.curve_steps.size()) continue;
        su += r.curve_u[j].sum();
        sv += r.curve_v[j].sum();
        fu_t += static_cast<double>((r.curve_u[j].array() >= cos_threshold).count());
        fv_t += static_cast<double>((r.curve_v[j].array() >= cos_threshold).count());
        cnt += fields;
      }
      const double c = static_cast<double>(cnt);
      csv.push_back({std::to_string(runs.front().curve_steps[j]), fixed(su / c, 6), fixed(sv / c, 6), fixed(fu_t / c, 6),
                     fixed(fv_t / c, 6)});
      curve.push_back({{"step", runs.front().curve_steps[j]}, {"mean_cos_u", su / c}, {"mean_cos_v", sv / c},
                       {"fraction_u", fu_t / c}, {"fraction_v", fv_t / c}});
    }
  }
  check.series()["learning_curve"] = curve;
  {
    const std::string note = check.write_figure(
        "global_modulation_learning_curve", {"step", "mean_cos_u", "mean_cos_v", "fraction_u", "fraction_v"}, csv,
        "set title 'Class model: alignment of the M = 1 filters with u_k (z-dependent) and v_k (z-independent)'\n"
        "set xlabel 'step'\nset ylabel 'mean cosine / fraction of filters learned'\nset yrange [-0.1:1.05]\n"
        "set key top right box opaque\nset grid\n"
        "plot 'global_modulation_learning_curve.csv' using 1:2 with lines lw 2 lc 1 title 'mean cos(w_k, u_k)', "
        "'' using 1:3 with lines lw 2 lc 2 title 'mean cos(w_k, v_k)', "
        "'' using 1:4 with lines dt 2 lw 2 lc 1 title 'fraction cos(w_k, u_k) >= " + fixed(cos_threshold, 2) + "', "
        "'' using 1:5 with lines dt 2 lw 2 lc 2 title 'fraction cos(w_k, v_k) >= " + fixed(cos_threshold, 2) + "'");
    if (!note.empty()) check.report(note);
  }

  // ---- claims ----------------------------------------------------------------------------------
  check.add_claim({"7a-field", "Ã_k w_k equals the generic Identity-C field at VᵀV = s sᵀ (exact support)", "equal",
                   "max rel. error " + sci(worst_field, 2) + " (" + std::to_string(identity_ok) + "/" +
                       std::to_string(identity_total) + " sets)",
                   "<= 1e-10", identity_ok == identity_total && worst_field <= 1e-10});
  // λ: toms748 to ~50 bits against a dense eigenvalue accurate to O(ε‖V[f_1]‖); 1e-10 is the
  // tolerance of theory §7 for this claim, far above both.
  check.add_claim({"7a-lambda", "secular root λ equals the dense top eigenvalue of V[f_1]", "equal",
                   "max rel. error " + sci(worst_lambda, 2), "<= 1e-10",
                   identity_ok == identity_total && worst_lambda <= 1e-10});
  // "Clearly": the two exact (Clopper–Pearson) intervals do not overlap — the difference is
  // significant at the stated level — and the margin P(u) − P(v) is at least 0.25, i.e. a
  // quarter of all RFs more learn the discriminative pattern than the non-discriminative one.
  // Not every RF needs to learn u_k: ReLU filters also settle at other gated optima (e.g. near
  // −u_k or a blend), which the mean cosines in the learning curve show.
  check.add_claim({"7b-discriminative-wins", "u_k (z-dependent) is learned far more often than v_k (same marginal variance)",
                   "P(u) >> P(v)",
                   fixed(fu, 3) + " [" + fixed(iu.low, 3) + ", " + fixed(iu.high, 3) + "] vs " + fixed(fv, 3) + " [" +
                       fixed(iv.low, 3) + ", " + fixed(iv.high, 3) + "], margin " + fixed(fu - fv, 3),
                   "disjoint " + ci + "; margin >= 0.25", iu.low > iv.high && fu - fv >= 0.25});
  check.add_claim({"7b-runs", "every training run used its full budget with finite values", "all max_steps",
                   all_finished ? "all" : "some stopped early", "-", all_finished});
  return check.finish();
}
