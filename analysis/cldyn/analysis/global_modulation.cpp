#include "cldyn/analysis/global_modulation.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <boost/math/tools/roots.hpp>
#include <cmath>
#include <cstdint>
#include <limits>

#include "cldyn/analysis/population.hpp"
#include "cldyn/core/batch.hpp"
#include "cldyn/core/pairwise_importance.hpp"
#include "cldyn/core/validate.hpp"
#include "cldyn/models/two_layer.hpp"

namespace cldyn::analysis {

SecularRoot solve_secular(const Eigen::Ref<const Eigen::VectorXd>& d, const Eigen::Ref<const Eigen::VectorXd>& b,
                          double c) {
  constexpr const char* where = "solve_secular";
  require(d.size() >= 1, where, "K (length of d)", d.size(), "K >= 1");
  require(b.size() == d.size(), where, "length of b", b.size(), "== K = " + std::to_string(d.size()));
  require_finite(d, where, "d");
  require_finite(b, where, "b");
  require(std::isfinite(c) && c >= 0.0 && c <= 0.25, where, "c (= p0 p1)", c, "0 <= c <= 1/4");
  SecularRoot out;
  Eigen::Index j = 0;
  const double dmax = d.maxCoeff(&j);
  const double b2 = b.squaredNorm();
  if (c == 0.0) {
    out.message = "degenerate: p0 p1 = 0 (p1 in {0, 1}), V[f_1] = diag(d) has no rank-one term";
    return out;
  }
  if (b2 == 0.0) {
    out.message = "degenerate: b = 0, no filter separates the classes";
    return out;
  }
  if (b(j) == 0.0) {
    out.message = "degenerate: b_j = 0 for the field j with the largest d_j; the bracket of the "
                  "secular root above max d_k is not guaranteed";
    return out;
  }
  auto f = [&](double lambda) { return 1.0 - c * (b.array().square() / (lambda - d.array())).sum(); };
  out.bracket_low = dmax + 0.5 * c * b(j) * b(j);
  out.bracket_high = dmax + c * b2;
  const double f_low = f(out.bracket_low), f_high = f(out.bracket_high);
  if (!(f_low < 0.0) || !(f_high >= 0.0)) {
    out.message = "bracket failed: F(low) = " + shortest(f_low) + ", F(high) = " + shortest(f_high);
    return out;
  }
  if (f_high == 0.0) {
    out.lambda = out.bracket_high;
  } else {
    // Terminate when the bracket is a few ulps wide: 50 bits of 53.
    const boost::math::tools::eps_tolerance<double> tol(50);
    std::uintmax_t iters = 200;
    const auto [lo, hi] = boost::math::tools::toms748_solve(f, out.bracket_low, out.bracket_high, f_low, f_high, tol, iters);
    out.iterations = static_cast<Eigen::Index>(iters);
    out.lambda = 0.5 * (lo + hi);
    if (iters >= 200) {
      out.message = "toms748_solve used its iteration budget";
      out.residual = std::abs(f(out.lambda));
      return out;
    }
  }
  out.residual = std::abs(f(out.lambda));
  out.status = Status::success;
  out.message = "converged";
  return out;
}

namespace {

void require_filters(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                     const char* where) {
  require(static_cast<Eigen::Index>(w.size()) == model.num_fields(), where, "number of filters", w.size(),
          "== K = " + std::to_string(model.num_fields()));
  for (std::size_t k = 0; k < w.size(); ++k) {
    const std::string name = "w_" + std::to_string(k);
    require(w[k].size() == model.field_size(static_cast<Eigen::Index>(k)), where, "length of " + name, w[k].size(),
            "== d_k = " + std::to_string(model.field_size(static_cast<Eigen::Index>(k))));
    require_finite(w[k], where, name);
    require(w[k].norm() > 0.0, where, "norm of " + name, w[k].norm(), "> 0");
  }
}

/// μ̃_k and g_k at every support point.
struct SupportValues {
  std::vector<data::ClassSupportPoint> support;
  std::vector<Eigen::MatrixXd> mu;  // per RF: d_k × S
  Eigen::MatrixXd g;                // K × S
  Eigen::VectorXd p;                // S
};

SupportValues evaluate(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w, const Activation& act) {
  SupportValues v;
  v.support = model.support();
  const auto s_count = static_cast<Eigen::Index>(v.support.size());
  const Eigen::Index k_count = model.num_fields();
  v.g.resize(k_count, s_count);
  v.p.resize(s_count);
  for (Eigen::Index k = 0; k < k_count; ++k) v.mu.emplace_back(model.field_size(k), s_count);
  for (Eigen::Index s = 0; s < s_count; ++s) {
    const auto& pt = v.support[static_cast<std::size_t>(s)];
    v.p(s) = pt.probability;
    for (Eigen::Index k = 0; k < k_count; ++k) {
      const auto ks = static_cast<std::size_t>(k);
      const Eigen::VectorXd xk = pt.x0.segment(model.field_offset(k), model.field_size(k));
      v.mu[ks].col(s) = gated_input_expectation(xk, w[ks], model.sigma(), act);
      v.g(k, s) = w[ks].dot(v.mu[ks].col(s));
    }
  }
  return v;
}

/// Σ_s p̂_s (a_s − ā)(b_s − b̄)ᵀ with p̂ = p/Σp (columns are support points; zero weights drop out).
Eigen::MatrixXd covariance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const Eigen::VectorXd& p) {
  const double total = p.sum();
  const Eigen::VectorXd ma = a * p / total, mb = b * p / total;
  const Eigen::MatrixXd ac = a.colwise() - ma, bc = b.colwise() - mb;
  return ac * p.asDiagonal() * bc.transpose() / total;
}

}  // namespace

Eigen::MatrixXd hidden_covariance(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                  const Activation& activation) {
  require_filters(model, w, "hidden_covariance");
  const SupportValues v = evaluate(model, w, activation);
  return covariance(v.g, v.g, v.p);
}

std::vector<Eigen::VectorXd> generic_field(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                           const Eigen::Ref<const Eigen::VectorXd>& s, const Activation& activation) {
  constexpr const char* where = "generic_field";
  require_filters(model, w, where);
  require(s.size() == model.num_fields(), where, "length of s", s.size(), "== K = " + std::to_string(model.num_fields()));
  require_finite(s, where, "s");
  const SupportValues v = evaluate(model, w, activation);
  const Eigen::MatrixXd out_f = s.transpose() * v.g;  // 1 × S: f = Σ_l s_l g_l
  std::vector<Eigen::VectorXd> field;
  for (Eigen::Index k = 0; k < model.num_fields(); ++k)
    field.push_back(s(k) * covariance(v.mu[static_cast<std::size_t>(k)], out_f, v.p).col(0));
  return field;
}

namespace {

/// One noise atom of a view at a given x0: the input and its weight π.
struct NoiseAtom {
  Eigen::VectorXd x;
  double weight = 0.0;
};

/// The atoms of one view at x0 (see two_layer_population_field): per RF the conditional mean of
/// the noise component along ŵ_k on each side of the kink, the RFs coupled comonotonically
/// (RF k is "on" for U < Φ(c_k), U uniform on [0, 1)); zero-weight atoms are dropped.
std::vector<NoiseAtom> view_atoms(const data::ClassModel& model, const Eigen::VectorXd& x0,
                                  const std::vector<Eigen::VectorXd>& w, const Activation& act) {
  if (act.is_linear()) return {NoiseAtom{x0, 1.0}};
  const Eigen::Index k_count = model.num_fields();
  const double sigma = model.sigma();
  constexpr double inv_sqrt2 = 0.70710678118654752440;
  constexpr double inv_sqrt2pi = 0.39894228040143267794;
  std::vector<double> on(static_cast<std::size_t>(k_count)), t_on(on.size()), t_off(on.size());
  std::vector<double> cuts = {0.0, 1.0};
  for (Eigen::Index k = 0; k < k_count; ++k) {
    const auto ks = static_cast<std::size_t>(k);
    const double scale = sigma * w[ks].norm();
    const double c = w[ks].dot(x0.segment(model.field_offset(k), model.field_size(k))) / scale;
    const double phi = inv_sqrt2pi * std::exp(-0.5 * c * c);
    const double p_on = 0.5 * std::erfc(-c * inv_sqrt2), p_off = 0.5 * std::erfc(c * inv_sqrt2);
    on[ks] = p_on;
    t_on[ks] = p_on > 0.0 ? phi / p_on : 0.0;     // unused when p_on = 0
    t_off[ks] = p_off > 0.0 ? -phi / p_off : 0.0;  // unused when p_off = 0
    if (p_on > 0.0 && p_on < 1.0) cuts.push_back(p_on);
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  std::vector<NoiseAtom> atoms;
  for (std::size_t j = 0; j + 1 < cuts.size(); ++j) {
    const double weight = cuts[j + 1] - cuts[j];
    if (!(weight > 0.0)) continue;
    const double mid = 0.5 * (cuts[j] + cuts[j + 1]);
    NoiseAtom a{x0, weight};
    for (Eigen::Index k = 0; k < k_count; ++k) {
      const auto ks = static_cast<std::size_t>(k);
      const double t = mid < on[ks] ? t_on[ks] : t_off[ks];
      a.x.segment(model.field_offset(k), model.field_size(k)) += (sigma * t / w[ks].norm()) * w[ks];
    }
    atoms.push_back(std::move(a));
  }
  return atoms;
}

/// Adds n²·(Identity-C gradient) of `net` on the rows `x`, `x_prime` with importance `alpha`
/// (n = rows) to `field`, undoing the call's 1/(2n²).
void add_gradient(const TwoLayerNetwork& net, Eigen::MatrixXd x, Eigen::MatrixXd x_prime, Eigen::MatrixXd alpha,
                  std::vector<Eigen::VectorXd>& field) {
  const double n = static_cast<double>(x.rows());
  TwoViewBatch batch;
  batch.x = std::move(x);
  batch.x_prime = std::move(x_prime);
  const TwoLayerGradient g = net.energy_gradient(batch, PairwiseImportance::from_matrix(std::move(alpha)));
  for (std::size_t k = 0; k < field.size(); ++k) field[k] += n * n * g.filters[k].col(0);
}

/// From d, b, L_k, Δ_k, p0, p1 already in `out`: the secular root, s, Z and Ã_k.
void solve_modulation(GlobalModulation& out) {
  out.root = solve_secular(out.d, out.b, out.p0 * out.p1);
  out.status = out.root.status;
  out.message = out.root.message;
  if (out.status != Status::success) return;
  out.lambda = out.root.lambda;
  const Eigen::VectorXd gap = (out.lambda - out.d.array()).matrix();
  out.z = std::sqrt((out.b.array().square() / gap.array().square()).sum());
  out.s = (out.b.array() / (out.z * gap.array())).matrix();
  for (Eigen::Index k = 0; k < out.d.size(); ++k) {
    const auto ks = static_cast<std::size_t>(k);
    const double r = out.b(k) / gap(k);
    out.modulated.push_back((r * r * out.within[ks] + out.between[ks] * out.between[ks].transpose() / gap(k)) /
                            (out.z * out.z));
  }
}

}  // namespace

GlobalModulation global_modulation(const data::ClassModel& model, const std::vector<Eigen::VectorXd>& w,
                                   const Activation& activation) {
  require_filters(model, w, "global_modulation");
  const SupportValues v = evaluate(model, w, activation);
  GlobalModulation out;
  out.p1 = model.options().p1;
  out.p0 = 1.0 - out.p1;
  const Eigen::Index k_count = model.num_fields();
  out.d.resize(k_count);
  out.b.resize(k_count);
  Eigen::VectorXd p_class[2] = {Eigen::VectorXd::Zero(v.p.size()), Eigen::VectorXd::Zero(v.p.size())};
  for (Eigen::Index s = 0; s < v.p.size(); ++s) p_class[v.support[static_cast<std::size_t>(s)].z](s) = v.p(s);
  const double pz[2] = {p_class[0].sum(), p_class[1].sum()};
  for (Eigen::Index k = 0; k < k_count; ++k) {
    const auto ks = static_cast<std::size_t>(k);
    const Eigen::MatrixXd& mu = v.mu[ks];
    Eigen::MatrixXd lk = Eigen::MatrixXd::Zero(mu.rows(), mu.rows());
    Eigen::VectorXd mean[2] = {Eigen::VectorXd::Zero(mu.rows()), Eigen::VectorXd::Zero(mu.rows())};
    for (int z = 0; z < 2; ++z) {
      if (pz[z] <= 0.0) continue;  // an impossible class contributes nothing
      lk += pz[z] * covariance(mu, mu, p_class[z]);
      mean[z] = mu * p_class[z] / pz[z];
    }
    out.within.push_back(lk);
    // With p_1 ∈ {0, 1} one class is empty: Δ is set to 0 (it is multiplied by p0 p1 = 0).
    out.between.push_back(pz[0] > 0.0 && pz[1] > 0.0 ? Eigen::VectorXd(mean[1] - mean[0])
                                                     : Eigen::VectorXd::Zero(mu.rows()));
    out.d(k) = w[ks].dot(lk * w[ks]);
    out.b(k) = w[ks].dot(out.between.back());
  }
  solve_modulation(out);
  return out;
}

std::vector<Eigen::VectorXd> two_layer_population_field(const data::ClassModel& model,
                                                        const std::vector<Eigen::VectorXd>& w,
                                                        const Eigen::Ref<const Eigen::VectorXd>& s,
                                                        const Activation& activation) {
  constexpr const char* where = "two_layer_population_field";
  require_filters(model, w, where);
  require(s.size() == model.num_fields(), where, "length of s", s.size(), "== K = " + std::to_string(model.num_fields()));
  require_finite(s, where, "s");
  const Eigen::Index k_count = model.num_fields(), d = model.dim();
  // Rows before the support is built: 4^K base points times at most K + 1 atoms.
  constexpr Eigen::Index max_rows = 32768, block = 2048, twin_pairs_per_call = 256;
  const Eigen::Index atoms_max = activation.is_linear() ? 1 : k_count + 1;
  require(k_count <= 9 && (Eigen::Index{1} << (2 * k_count)) * atoms_max <= max_rows, where,
          "main rows 4^K*(atoms per x0) with K", k_count,
          "<= " + std::to_string(max_rows) + " (K <= 6 for ReLU/leaky, K <= 7 for linear): the exact batch is too large");
  std::vector<Eigen::MatrixXd> filters;
  for (const Eigen::VectorXd& wk : w) filters.emplace_back(wk);
  const TwoLayerNetwork net(filters, s.transpose(), activation);

  // Main rows (x = x' = atom, weight p·π) and twin pairs (x = atom j, x' = atom j', α = p·π_jπ_j').
  const std::vector<data::ClassSupportPoint> support = model.support();
  std::vector<Eigen::VectorXd> main_x;
  std::vector<double> main_weight;
  std::vector<Eigen::VectorXd> twin_x, twin_x_prime;
  std::vector<double> twin_alpha;
  for (std::size_t i = 0; i + 1 < support.size(); i += 2) {  // indices 2j (z = 0) and 2j + 1 (z = 1) share x0
    const double p = support[i].probability + support[i + 1].probability;
    if (!(p > 0.0)) continue;
    const std::vector<NoiseAtom> atoms = view_atoms(model, support[i].x0, w, activation);
    for (std::size_t j = 0; j < atoms.size(); ++j) {
      main_x.push_back(atoms[j].x);
      main_weight.push_back(p * atoms[j].weight);
      for (std::size_t jp = j + 1; jp < atoms.size(); ++jp) {
        twin_x.push_back(atoms[j].x);
        twin_x_prime.push_back(atoms[jp].x);
        twin_alpha.push_back(p * atoms[j].weight * atoms[jp].weight);
      }
    }
  }
  std::vector<Eigen::VectorXd> field;
  for (Eigen::Index k = 0; k < k_count; ++k) field.push_back(Eigen::VectorXd::Zero(model.field_size(k)));
  auto rows = [](const std::vector<Eigen::VectorXd>& v, Eigen::Index begin, Eigen::Index count, Eigen::MatrixXd& out,
                 Eigen::Index at) {
    for (Eigen::Index r = 0; r < count; ++r) out.row(at + r) = v[static_cast<std::size_t>(begin + r)].transpose();
  };
  // Main rows in blocks: α_ij = ω_iω_j between (and, on the diagonal blocks, within) blocks.
  const auto n_main = static_cast<Eigen::Index>(main_x.size());
  const Eigen::Map<const Eigen::VectorXd> omega(main_weight.data(), n_main);
  for (Eigen::Index bi = 0; bi < n_main; bi += block) {
    const Eigen::Index ni = std::min(block, n_main - bi);
    for (Eigen::Index bj = bi; bj < n_main; bj += block) {
      const Eigen::Index nj = bj == bi ? 0 : std::min(block, n_main - bj);
      const Eigen::Index n = ni + nj;
      if (n < 2) continue;  // a single row has no pair
      Eigen::MatrixXd x(n, d), alpha = Eigen::MatrixXd::Zero(n, n);
      rows(main_x, bi, ni, x, 0);
      if (nj > 0) {
        rows(main_x, bj, nj, x, ni);
        alpha.topRightCorner(ni, nj) = omega.segment(bi, ni) * omega.segment(bj, nj).transpose();
        alpha.bottomLeftCorner(nj, ni) = alpha.topRightCorner(ni, nj).transpose();
      } else {
        alpha = omega.segment(bi, ni) * omega.segment(bi, ni).transpose();
        alpha.diagonal().setZero();
      }
      Eigen::MatrixXd x_prime = x;
      add_gradient(net, std::move(x), std::move(x_prime), std::move(alpha), field);
    }
  }
  // Twin pairs, block-diagonal α (each pair coupled only to itself).
  const auto n_twins = static_cast<Eigen::Index>(twin_x.size());
  for (Eigen::Index b0 = 0; b0 < n_twins; b0 += twin_pairs_per_call) {
    const Eigen::Index pairs = std::min(twin_pairs_per_call, n_twins - b0);
    Eigen::MatrixXd x(2 * pairs, d), x_prime(2 * pairs, d), alpha = Eigen::MatrixXd::Zero(2 * pairs, 2 * pairs);
    for (Eigen::Index q = 0; q < pairs; ++q) {
      const auto qs = static_cast<std::size_t>(b0 + q);
      x.row(2 * q) = x.row(2 * q + 1) = twin_x[qs].transpose();
      x_prime.row(2 * q) = x_prime.row(2 * q + 1) = twin_x_prime[qs].transpose();
      alpha(2 * q, 2 * q + 1) = alpha(2 * q + 1, 2 * q) = twin_alpha[qs];
    }
    add_gradient(net, std::move(x), std::move(x_prime), std::move(alpha), field);
  }
  return field;
}

Eigen::MatrixXd modulated_covariance(const GlobalModulation& g, const Eigen::Ref<const Eigen::VectorXd>& s,
                                     Eigen::Index k) {
  constexpr const char* where = "modulated_covariance";
  const Eigen::Index k_count = g.b.size();
  require(k_count >= 1 && g.d.size() == k_count && static_cast<Eigen::Index>(g.within.size()) == k_count &&
              static_cast<Eigen::Index>(g.between.size()) == k_count,
          where, "statistics of g (K)", k_count, "K >= 1 and L_k, Δ_k, d, b for every RF");
  require(k >= 0 && k < k_count, where, "k", k, "0 <= k < K = " + std::to_string(k_count));
  require(s.size() == k_count, where, "length of s", s.size(), "== K = " + std::to_string(k_count));
  require_finite(s, where, "s");
  require(g.b(k) != 0.0, where, "b_" + std::to_string(k), g.b(k), "b_k != 0");
  const auto ks = static_cast<std::size_t>(k);
  const double coupling = g.p0 * g.p1 * s(k) * s.dot(g.b) / g.b(k);
  return s(k) * s(k) * g.within[ks] + coupling * g.between[ks] * g.between[ks].transpose();
}

GlobalModulation estimate_global_modulation(const data::ClassModel& model, const data::ClassSample& sample,
                                            const std::vector<Eigen::VectorXd>& w,
                                            const Activation& activation) {
  constexpr const char* where = "estimate_global_modulation";
  require_filters(model, w, where);
  const TwoViewBatch& b = sample.batch;
  b.validate(where);
  require(b.dim() == model.dim(), where, "d of the batch", b.dim(), "== d of the model = " + std::to_string(model.dim()));
  require(sample.z.size() == b.size(), where, "number of classes", sample.z.size(),
          "== N = " + std::to_string(b.size()));
  std::vector<Eigen::Index> members[2];
  for (Eigen::Index i = 0; i < sample.z.size(); ++i) {
    require(sample.z(i) == 0 || sample.z(i) == 1, where, "z(" + std::to_string(i) + ")", sample.z(i), "z in {0, 1}");
    members[sample.z(i)].push_back(i);
  }
  for (int z = 0; z < 2; ++z)
    require(members[z].size() >= 2, where, "samples of class " + std::to_string(z), members[z].size(), ">= 2");
  GlobalModulation out;
  const double n = static_cast<double>(b.size());
  out.p0 = static_cast<double>(members[0].size()) / n;
  out.p1 = static_cast<double>(members[1].size()) / n;
  const Eigen::Index k_count = model.num_fields();
  out.d.resize(k_count);
  out.b.resize(k_count);
  for (Eigen::Index k = 0; k < k_count; ++k) {
    const auto ks = static_cast<std::size_t>(k);
    const Eigen::Index off = model.field_offset(k), dk = model.field_size(k);
    const Eigen::MatrixXd x = b.x.middleCols(off, dk), xp = b.x_prime.middleCols(off, dk);
    const Eigen::VectorXd g = activation.gate(x * w[ks]), gp = activation.gate(xp * w[ks]);
    const Eigen::MatrixXd xt = g.asDiagonal() * x, xtp = gp.asDiagonal() * xp;
    Eigen::MatrixXd lk = Eigen::MatrixXd::Zero(dk, dk);
    Eigen::VectorXd mean[2];
    for (int z = 0; z < 2; ++z) {
      const auto& idx = members[z];
      const double m = static_cast<double>(idx.size());
      Eigen::MatrixXd a(idx.size(), dk), ap(idx.size(), dk);
      for (std::size_t r = 0; r < idx.size(); ++r) {
        a.row(static_cast<Eigen::Index>(r)) = xt.row(idx[r]);
        ap.row(static_cast<Eigen::Index>(r)) = xtp.row(idx[r]);
      }
      const Eigen::RowVectorXd ma = a.colwise().mean(), map = ap.colwise().mean();
      const Eigen::MatrixXd cross = (a.rowwise() - ma).transpose() * (ap.rowwise() - map) / (m - 1.0);
      lk += (z == 0 ? out.p0 : out.p1) * 0.5 * (cross + cross.transpose());
      mean[z] = 0.5 * (ma + map).transpose();
    }
    out.within.push_back(lk);
    out.between.push_back(mean[1] - mean[0]);
    out.d(k) = w[ks].dot(lk * w[ks]);
    out.b(k) = w[ks].dot(out.between.back());
  }
  solve_modulation(out);
  return out;
}

}  // namespace cldyn::analysis
