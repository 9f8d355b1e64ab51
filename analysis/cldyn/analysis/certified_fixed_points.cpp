#include "cldyn/analysis/certified_fixed_points.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "cldyn/analysis/stability.hpp"
#include "cldyn/core/covariance.hpp"
#include "cldyn/core/rng.hpp"
#include "cldyn/core/validate.hpp"

namespace cldyn::analysis {

void CertifiedSearchOptions::validate() const {
  constexpr const char* where = "CertifiedSearchOptions";
  require(random_starts >= 0, where, "random_starts", random_starts, "random_starts >= 0");
  require(std::isfinite(tolerance) && tolerance > 0.0 && tolerance < 1.0, where, "tolerance", tolerance,
          "0 < tolerance < 1");
  require(dedup_cosine > 0.0 && dedup_cosine <= 1.0, where, "dedup_cosine", dedup_cosine,
          "0 < dedup_cosine <= 1");
  require(self_consistent_iterations >= 0, where, "self_consistent_iterations", self_consistent_iterations,
          "self_consistent_iterations >= 0");
  require(polish_cosine >= -1.0 && polish_cosine <= 1.0, where, "polish_cosine", polish_cosine,
          "-1 <= polish_cosine <= 1");
  require(std::isfinite(zero_tolerance) && zero_tolerance >= 0.0, where, "zero_tolerance", zero_tolerance,
          "zero_tolerance >= 0");
  require(kink_iterations >= 1, where, "kink_iterations", kink_iterations, "kink_iterations >= 1");
  require(independence_floor > 0.0 && independence_floor < 1.0, where, "independence_floor",
          independence_floor, "0 < independence_floor < 1");
  ascent.validate();
}

void KinkOptions::validate() const {
  constexpr const char* where = "KinkOptions";
  require(std::isfinite(tolerance) && tolerance > 0.0 && tolerance < 1.0, where, "tolerance", tolerance,
          "0 < tolerance < 1");
  require(independence_floor > 0.0 && independence_floor < 1.0, where, "independence_floor",
          independence_floor, "0 < independence_floor < 1");
  require(std::isfinite(zero_tolerance) && zero_tolerance >= 0.0, where, "zero_tolerance", zero_tolerance,
          "zero_tolerance >= 0");
  require(iterations >= 1, where, "iterations", iterations, "iterations >= 1");
}

std::string_view to_string(PointKind kind) {
  switch (kind) {
    case PointKind::smooth: return "smooth";
    case PointKind::kink: return "kink";
  }
  return "smooth";
}

bool supports_kinks(const NodeLandscape& landscape) {
  const auto* sample = dynamic_cast<const SampleLandscape*>(&landscape);
  return sample != nullptr && sample->loss().uniform_alpha() &&
         !sample->activation().is_linear();
}

bool supports_infonce_kinks(const NodeLandscape& landscape) {
  const auto* sample = dynamic_cast<const SampleLandscape*>(&landscape);
  return sample != nullptr && sample->loss().as<InfoNceLoss>() != nullptr &&
         !sample->activation().is_linear();
}

namespace {

/// The rows x_r of [X; X'] (r < N: x_r, r ≥ N: x'_{r−N}) of a kink-capable sample landscape.
class Rows {
 public:
  explicit Rows(const SampleLandscape& landscape)
      : batch_(landscape.batch()), loss_(landscape.loss()), n_(batch_.size()),
        gamma_(landscape.activation().gamma()) {
    norms_.resize(2 * n_);
    norms_.head(n_) = batch_.x.rowwise().norm();
    norms_.tail(n_) = batch_.x_prime.rowwise().norm();
  }
  Eigen::Index count() const { return 2 * n_; }
  /// True for InfoNCE (α depends on w): the face solver is Newton, H_0 the full loss Hessian.
  bool infonce() const { return loss_.as<InfoNceLoss>() != nullptr; }
  Eigen::Index dim() const { return batch_.dim(); }
  double gamma() const { return gamma_; }
  double norm(Eigen::Index r) const { return norms_(r); }
  /// x_rᵀw for every row (2N).
  Eigen::VectorXd margins(const Eigen::VectorXd& w) const {
    Eigen::VectorXd m(2 * n_);
    m.head(n_).noalias() = batch_.x * w;
    m.tail(n_).noalias() = batch_.x_prime * w;
    return m;
  }
  /// |x_rᵀw|/‖x_r‖ (+∞ for a zero row: it has no boundary, its output is 0 whatever w).
  double relative(const Eigen::VectorXd& m, Eigen::Index r) const {
    return norms_(r) > 0.0 ? std::abs(m(r)) / norms_(r) : std::numeric_limits<double>::infinity();
  }
  Eigen::VectorXd unit(Eigen::Index r) const {
    const Eigen::VectorXd x = r < n_ ? batch_.x.row(r).transpose() : batch_.x_prime.row(r - n_).transpose();
    return x / norms_(r);
  }
  /// A_0 = C_α[x̃] with the slopes g (2N) of the rows, α uniform (the quadratic loss).
  Eigen::MatrixXd covariance(const Eigen::VectorXd& g) const {
    const PairwiseImportance alpha = PairwiseImportance::uniform(n_);
    return contrastive_covariance(alpha, g.head(n_).asDiagonal() * batch_.x,
                                  g.tail(n_).asDiagonal() * batch_.x_prime);
  }
  /// α at outputs f (2N): uniform for the quadratic loss, the loss's α(f) for InfoNCE.
  PairwiseImportance alpha(const Eigen::VectorXd& f) const {
    if (!infonce()) return PairwiseImportance::uniform(n_);
    return loss_.pairwise_importance(f.head(n_), f.tail(n_));
  }
  /// A_0 = C_α[x̃] with the slopes g of the rows and α at the outputs g∘m (InfoNCE).
  Eigen::MatrixXd covariance(const Eigen::VectorXd& g, const Eigen::VectorXd& m) const {
    if (!infonce()) return covariance(g);
    const Eigen::VectorXd f = g.cwiseProduct(m);
    return contrastive_covariance(alpha(f), g.head(n_).asDiagonal() * batch_.x,
                                  g.tail(n_).asDiagonal() * batch_.x_prime);
  }
  /// E with every row's slope fixed at g: the linear landscape of the gated inputs [g∘X; g∘X']
  /// (its energy, gradient and Hessian are E, ∇E and ∇²E at fixed gates, α differentiated).
  SampleLandscape gated(const Eigen::VectorXd& g) const {
    TwoViewBatch b{g.head(n_).asDiagonal() * batch_.x, g.tail(n_).asDiagonal() * batch_.x_prime};
    return SampleLandscape(std::move(b), Activation::linear(), loss_);
  }
  /// c = ∂E/∂f at outputs f = g∘m (2N) and G = X̃ᵀ(g∘c) (d): with the S rows at slope γ this is
  /// G_0 = A_0 w (Identity B on the cell with S closed), computed like OneLayerNetwork::energy_gradient.
  std::pair<Eigen::VectorXd, Eigen::VectorXd> output_derivative_and_gradient(const Eigen::VectorXd& g,
                                                                             const Eigen::VectorXd& m) const {
    const Eigen::VectorXd f = g.cwiseProduct(m);
    const auto [d_f, d_f_prime] = energy_output_gradient(alpha(f), f.head(n_), f.tail(n_));
    Eigen::VectorXd c(2 * n_);
    c.head(n_) = d_f.col(0);
    c.tail(n_) = d_f_prime.col(0);
    const Eigen::VectorXd gc = g.cwiseProduct(c);
    Eigen::VectorXd grad = batch_.x.transpose() * gc.head(n_);
    grad.noalias() += batch_.x_prime.transpose() * gc.tail(n_);
    return {c, grad};
  }

 private:
  const TwoViewBatch& batch_;
  const Loss& loss_;
  Eigen::Index n_;
  double gamma_;
  Eigen::VectorXd norms_;
};

/// The distinct boundaries of the active rows: rows whose unit normals agree to 1e-12 are one
/// boundary (exact duplicates, as in the doubled batch of "both views", differ only by the
/// rounding of their normalisation, ~1e-16; distinct data rows are never that close).
struct Boundaries {
  Eigen::MatrixXd normals;  // d × m
  std::vector<std::vector<Eigen::Index>> rows;
};

Boundaries group_boundaries(const Rows& rows, const std::vector<Eigen::Index>& active) {
  std::vector<Eigen::VectorXd> normals;
  Boundaries b;
  for (const Eigen::Index r : active) {
    const Eigen::VectorXd n = rows.unit(r);
    std::size_t j = 0;
    while (j < normals.size() && (normals[j] - n).norm() > 1e-12) ++j;
    if (j == normals.size()) {
      normals.push_back(n);
      b.rows.emplace_back();
    }
    b.rows[j].push_back(r);
  }
  b.normals.resize(rows.dim(), static_cast<Eigen::Index>(normals.size()));
  for (std::size_t j = 0; j < normals.size(); ++j) b.normals.col(static_cast<Eigen::Index>(j)) = normals[j];
  return b;
}

/// d × (d − k) orthonormal basis of the orthogonal complement of the columns of b (d × k, full
/// column rank, k ≤ d), from a Householder QR.
Eigen::MatrixXd complement_basis(const Eigen::MatrixXd& b, Eigen::Index d) {
  if (b.cols() == 0) return Eigen::MatrixXd::Identity(d, d);
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(b);
  const Eigen::MatrixXd q = qr.householderQ() * Eigen::MatrixXd::Identity(d, d);
  return q.rightCols(d - b.cols());
}

/// The eigenvector of Q_0ᵀA_0Q_0 (Q_0 = complement of `normals`) of largest |cos| with w_ref,
/// mapped back and signed towards w_ref; empty when the normals leave no face.
Eigen::VectorXd face_point(const Eigen::MatrixXd& a0, const Eigen::MatrixXd& normals,
                           const Eigen::VectorXd& w_ref) {
  const Eigen::Index d = a0.rows();
  if (normals.cols() >= d) return {};
  const Eigen::MatrixXd q0 = complement_basis(normals, d);
  const Eigen::MatrixXd face = q0.transpose() * a0 * q0;
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (face + face.transpose()));
  if (es.info() != Eigen::Success) return {};
  const Eigen::VectorXd ref = q0.transpose() * w_ref;
  Eigen::Index best = 0;
  (es.eigenvectors().transpose() * ref).cwiseAbs().maxCoeff(&best);
  Eigen::VectorXd v = q0 * es.eigenvectors().col(best);
  if (v.dot(w_ref) < 0.0) v = -v;
  return v.normalized();
}

/// InfoNCE's face solver: Riemannian Newton for a maximum of the fixed-gate energy `land` on the
/// face {‖w‖ = 1, nᵀw = 0 for the columns n of `normals`}, from the projection of w_start onto
/// it. In the face coordinates u (w = Q_0u, ‖u‖ = 1) each step solves T ᵀ(H − λI)T η = −Tᵀ∇e
/// on the tangent space T of u, with every Hessian eigenvalue above −floor replaced by
/// −max(|h|, floor) (an ascent direction far from a maximum, the Newton step near one), the
/// step capped at 0.5 and halved until e does not decrease. Stops when the relative residual
/// ‖(I − uuᵀ)∇e‖/‖∇e‖ ≤ 0.01·tolerance or after 100 steps. Empty when no face is left.
Eigen::VectorXd face_newton(const SampleLandscape& land, const Eigen::MatrixXd& normals,
                            const Eigen::VectorXd& w_start, double tolerance) {
  const Eigen::Index d = land.dim();
  if (normals.cols() >= d) return {};
  const Eigen::MatrixXd q0 = complement_basis(normals, d);
  const Eigen::Index k = q0.cols();
  Eigen::VectorXd u = q0.transpose() * w_start;
  if (!(u.norm() > 0.0)) return {};
  u.normalize();
  if (k == 1) return q0 * u;
  auto energy = [&](const Eigen::VectorXd& x) { return land.energy(q0 * x); };
  double e = energy(u);
  for (int it = 0; it < 100; ++it) {
    const Eigen::VectorXd w = q0 * u;
    const Eigen::VectorXd grad = q0.transpose() * land.gradient(w);
    const double lambda = u.dot(grad);
    const Eigen::VectorXd r = grad - lambda * u;
    if (!grad.allFinite() || !(grad.norm() > 0.0) || r.norm() <= 0.01 * tolerance * grad.norm()) break;
    Eigen::MatrixXd ub(k, 1);
    ub.col(0) = u;
    const Eigen::MatrixXd t = complement_basis(ub, k);  // k × (k − 1)
    const Eigen::MatrixXd h = t.transpose() * (q0.transpose() * land.hessian(w) * q0) * t -
                              lambda * Eigen::MatrixXd::Identity(k - 1, k - 1);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (h + h.transpose()));
    if (es.info() != Eigen::Success) break;
    const double floor = 1e-8 * std::max(es.eigenvalues().cwiseAbs().maxCoeff(), std::abs(lambda));
    const Eigen::VectorXd gt = es.eigenvectors().transpose() * (t.transpose() * grad);
    Eigen::VectorXd eta(k - 1);
    for (Eigen::Index i = 0; i < k - 1; ++i) {
      const double hi = es.eigenvalues()(i);
      eta(i) = gt(i) / (hi < -floor ? -hi : std::max(std::abs(hi), floor));
    }
    Eigen::VectorXd step = t * (es.eigenvectors() * eta);
    if (step.norm() > 0.5) step *= 0.5 / step.norm();
    bool moved = false;
    for (int half = 0; half < 40 && !moved; ++half, step *= 0.5) {
      const Eigen::VectorXd candidate = (u + step).normalized();
      const double ec = energy(candidate);
      if (ec >= e - 1e-15 * std::abs(e)) {
        u = candidate;
        e = std::max(e, ec);
        moved = true;
      }
    }
    if (!moved) break;
  }
  return (q0 * u).normalized();
}

/// Rows with relative margin ≤ tolerance at margins m, ascending.
std::vector<Eigen::Index> active_rows(const Rows& rows, const Eigen::VectorXd& m, double tolerance) {
  std::vector<Eigen::Index> s;
  for (Eigen::Index r = 0; r < rows.count(); ++r)
    if (rows.relative(m, r) <= tolerance) s.push_back(r);
  return s;
}

/// Slopes h'(x_rᵀw) of the rows, the active ones at the closed slope γ.
Eigen::VectorXd slopes(const Rows& rows, const Eigen::VectorXd& m, const std::vector<Eigen::Index>& active) {
  Eigen::VectorXd g(rows.count());
  for (Eigen::Index r = 0; r < rows.count(); ++r) g(r) = m(r) > 0.0 ? 1.0 : rows.gamma();
  for (const Eigen::Index r : active) g(r) = rows.gamma();
  return g;
}

KinkCertificate certify(const Rows& rows, const Eigen::VectorXd& w, const KinkOptions& o) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  const Eigen::Index d = rows.dim();
  KinkCertificate c;
  const Eigen::VectorXd m = rows.margins(w);
  c.active = active_rows(rows, m, o.tolerance);
  const Boundaries b = group_boundaries(rows, c.active);
  c.normals = b.normals;
  c.boundary_rows = b.rows;
  const Eigen::Index k = b.normals.cols();
  const Eigen::VectorXd g = slopes(rows, m, c.active);
  const Eigen::MatrixXd a0 = rows.covariance(g, m);
  // H_0 = ∇²E at fixed gates (S closed): A_0 for the quadratic loss, the full loss Hessian
  // (α differentiated) for InfoNCE.
  const Eigen::MatrixXd h0 = rows.infonce() ? rows.gated(g).hessian(w) : a0;
  const auto [out_derivative, g0] = rows.output_derivative_and_gradient(g, m);
  c.closed_gradient = g0;
  const double g0_norm = g0.norm();

  // Face stationarity G_0 = λw + Σμ̂n by least squares over [w, n_1 … n_m] (unit columns).
  Eigen::MatrixXd basis(d, k + 1);
  basis.col(0) = w;
  basis.rightCols(k) = b.normals;
  const Eigen::JacobiSVD<Eigen::MatrixXd> svd(basis, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::VectorXd sv = svd.singularValues();
  c.independence = (k + 1 <= d && sv(0) > 0.0) ? sv(sv.size() - 1) / sv(0) : 0.0;
  c.independent = c.independence >= o.independence_floor;
  const Eigen::VectorXd z = svd.solve(g0);
  c.lambda = z(0);
  c.multipliers = z.tail(k);
  c.residual = g0_norm > 0.0 ? (g0 - basis * z).norm() / g0_norm : inf;

  // One-sided jumps ĉ = (1 − γ) Σ c_r ‖x_r‖ and the relative slack of (i) and (ii).
  c.jumps.resize(k);
  c.slack = inf;
  for (Eigen::Index j = 0; j < k; ++j) {
    double sum = 0.0;
    for (const Eigen::Index r : b.rows[static_cast<std::size_t>(j)]) sum += out_derivative(r) * rows.norm(r);
    c.jumps(j) = (1.0 - rows.gamma()) * sum;
    const double mu = c.multipliers(j);
    c.slack = std::min(c.slack, g0_norm > 0.0 ? std::min(mu, -(mu + c.jumps(j))) / g0_norm : -inf);
  }
  c.first_order = c.slack > o.tolerance;

  // (iii) the face Hessian Qᵀ(A_0 − λI)Q on {v ⊥ w, n_j}, and the spectrum of A on the face.
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es_h0(0.5 * (h0 + h0.transpose()), Eigen::EigenvaluesOnly);
  const double scale = std::max(es_h0.eigenvalues().cwiseAbs().maxCoeff(), std::abs(c.lambda));
  c.face_hessian_max = -inf;
  c.face_top_eigenvalue = 0.0;
  c.face_eigengap = 0.0;
  if (c.independent) {
    const Eigen::MatrixXd q = complement_basis(basis, d);
    if (q.cols() > 0) {
      const Eigen::MatrixXd h =
          q.transpose() * (h0 - c.lambda * Eigen::MatrixXd::Identity(d, d)) * q;
      c.face_hessian_max =
          Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(0.5 * (h + h.transpose()), Eigen::EigenvaluesOnly)
              .eigenvalues()
              .maxCoeff();
    }
    const Eigen::MatrixXd q0 = complement_basis(b.normals, d);
    const Eigen::MatrixXd face = q0.transpose() * a0 * q0;
    const Eigen::VectorXd ev =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(0.5 * (face + face.transpose()), Eigen::EigenvaluesOnly)
            .eigenvalues();  // ascending
    c.face_top_eigenvalue = ev(ev.size() - 1);
    c.face_eigengap = ev.size() > 1 ? ev(ev.size() - 1) - ev(ev.size() - 2) : 0.0;
  }
  c.second_order = c.independent && c.face_hessian_max < -o.zero_tolerance * scale;

  // (iv) the rows outside S: their smallest margins (absolute at unit w, and relative).
  c.outside_margin = inf;
  c.outside_relative_margin = inf;
  std::size_t next = 0;
  for (Eigen::Index r = 0; r < rows.count(); ++r) {
    if (next < c.active.size() && c.active[next] == r) {
      ++next;
      continue;
    }
    c.outside_margin = std::min(c.outside_margin, std::abs(m(r)));
    c.outside_relative_margin = std::min(c.outside_relative_margin, rows.relative(m, r));
  }
  c.converged = c.residual <= o.tolerance && g0_norm > 0.0 && c.independent && c.first_order;
  c.stable = c.converged && c.second_order;
  return c;
}

void require_kink_landscape(const SampleLandscape& landscape, const char* where) {
  require(supports_kinks(landscape) || supports_infonce_kinks(landscape), where, "landscape",
          landscape.activation().name() + " with " + landscape.loss().name(),
          "ReLU or leaky ReLU with the quadratic loss or InfoNCE");
}

void require_direction(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index d,
                       const char* where, const char* name) {
  require(w.size() == d, where, std::string("size of ") + name, w.size(), "== d = " + std::to_string(d));
  require_finite(w, where, name);
  require(w.norm() > 0.0, where, std::string("norm of ") + name, w.norm(), std::string(name) + " != 0");
}

}  // namespace

KinkCertificate certify_kink(const SampleLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w,
                             const KinkOptions& options) {
  constexpr const char* where = "certify_kink";
  options.validate();
  require_kink_landscape(landscape, where);
  require_direction(w, landscape.dim(), where, "w");
  return certify(Rows(landscape), w.normalized(), options);
}

Eigen::VectorXd face_critical_point(const SampleLandscape& landscape, const std::vector<Eigen::Index>& active,
                                    const Eigen::Ref<const Eigen::VectorXd>& w_ref) {
  constexpr const char* where = "face_critical_point";
  require_kink_landscape(landscape, where);
  require_direction(w_ref, landscape.dim(), where, "w_ref");
  const Rows rows(landscape);
  for (const Eigen::Index r : active)
    require(r >= 0 && r < rows.count() && rows.norm(r) > 0.0, where, "active row", r,
            "a nonzero row of [X; X'], 0 <= row < 2N = " + std::to_string(rows.count()));
  const Eigen::VectorXd ref = w_ref.normalized();
  const Eigen::VectorXd g = slopes(rows, rows.margins(ref), active);
  const Eigen::MatrixXd normals = group_boundaries(rows, active).normals;
  if (rows.infonce()) return face_newton(rows.gated(g), normals, ref, 1e-8);
  return face_point(rows.covariance(g), normals, ref);
}

KinkSolve kink_fixed_point(const SampleLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w0,
                           const KinkOptions& options) {
  constexpr const char* where = "kink_fixed_point";
  options.validate();
  require_kink_landscape(landscape, where);
  require_direction(w0, landscape.dim(), where, "w0");
  const Rows rows(landscape);
  const Eigen::Index d = rows.dim(), count = rows.count();
  const Eigen::VectorXd wa = w0.normalized();
  Eigen::VectorXd m_cur = rows.margins(wa);
  std::vector<char> open(static_cast<std::size_t>(count)), in_s(static_cast<std::size_t>(count), 0);
  for (Eigen::Index r = 0; r < count; ++r) open[static_cast<std::size_t>(r)] = m_cur(r) > 0.0;
  KinkSolve out;
  Eigen::VectorXd w_cur = wa;  // InfoNCE: the face Newton starts from its projection
  for (Eigen::Index it = 0; it < options.iterations; ++it) {
    out.iterations = it + 1;
    std::vector<Eigen::Index> active;
    for (Eigen::Index r = 0; r < count; ++r)
      if (in_s[static_cast<std::size_t>(r)]) active.push_back(r);
    const Boundaries b = group_boundaries(rows, active);
    Eigen::VectorXd g(count);
    for (Eigen::Index r = 0; r < count; ++r)
      g(r) = open[static_cast<std::size_t>(r)] && !in_s[static_cast<std::size_t>(r)] ? 1.0 : rows.gamma();
    const Eigen::VectorXd w_new = rows.infonce() ? face_newton(rows.gated(g), b.normals, w_cur, options.tolerance)
                                                 : face_point(rows.covariance(g), b.normals, wa);
    if (w_new.size() == 0) {
      out.message = "the active boundaries leave no face (" + std::to_string(b.normals.cols()) + " >= d = " +
                    std::to_string(d) + ")";
      return out;
    }
    out.w = w_new;
    const Eigen::VectorXd m_new = rows.margins(w_new);
    // A row outside S that disagrees with its gate at w' (or sits on its boundary) blocks the
    // move: the first one crossed on the segment w → w' joins S.
    Eigen::Index blocking = -1;
    double first = std::numeric_limits<double>::infinity();
    for (Eigen::Index r = 0; r < count; ++r) {
      const auto i = static_cast<std::size_t>(r);
      if (in_s[i] || rows.norm(r) == 0.0) continue;
      const bool wrong = open[i] ? m_new(r) <= 0.0 : m_new(r) > 0.0;
      if (!wrong && rows.relative(m_new, r) > options.tolerance) continue;
      const double step = m_cur(r) - m_new(r);
      const double at = step != 0.0 ? std::clamp(m_cur(r) / step, 0.0, 1.0) : 1.0;
      if (at < first) {
        first = at;
        blocking = r;
      }
    }
    if (blocking >= 0) {
      // The row and its duplicates (same unit normal) join S.
      const Eigen::VectorXd n = rows.unit(blocking);
      for (Eigen::Index r = 0; r < count; ++r)
        if (rows.norm(r) > 0.0 && (rows.unit(r) - n).norm() <= 1e-12) in_s[static_cast<std::size_t>(r)] = 1;
      continue;
    }
    out.certificate = certify(rows, w_new, options);
    const KinkCertificate& c = out.certificate;
    if (c.active != active) {
      out.message = "the face point's boundary rows differ from the active set";
      return out;
    }
    if (!c.independent || !(c.residual <= options.tolerance)) {
      out.message = "the face point is not certifiable (independence " + std::to_string(c.independence) +
                    ", residual " + std::to_string(c.residual) + ")";
      return out;
    }
    // The boundary that violates (i) or (ii) worst leaves S, on the side that raises E.
    const double floor = options.tolerance * c.closed_gradient.norm();
    Eigen::Index worst = -1;
    bool worst_open = false;
    double worst_amount = -1.0;
    for (Eigen::Index j = 0; j < c.multipliers.size(); ++j) {
      const double closed_violation = floor - c.multipliers(j);              // (i) fails when ≥ 0
      const double open_violation = floor + c.multipliers(j) + c.jumps(j);  // (ii) fails when ≥ 0
      const double amount = std::max(closed_violation, open_violation);
      if (amount >= 0.0 && amount > worst_amount) {
        worst_amount = amount;
        worst = j;
        worst_open = open_violation > closed_violation;
      }
    }
    if (worst < 0) {
      out.consistent = true;
      out.message = "consistent active set";
      return out;
    }
    for (const Eigen::Index r : b.rows[static_cast<std::size_t>(worst)]) {
      in_s[static_cast<std::size_t>(r)] = 0;
      open[static_cast<std::size_t>(r)] = worst_open;
    }
    m_cur = m_new;
    w_cur = w_new;
  }
  out.message = "no consistent active set in " + std::to_string(options.iterations) + " steps";
  return out;
}

namespace {

/// ‖P⊥∇E(w)‖ / ‖∇E(w)‖ at unit w (+∞ when ∇E is not finite; 0 when ∇E = 0, which the caller
/// must treat as "no information", see certified()).
double relative_residual(const NodeLandscape& landscape, const Eigen::VectorXd& w) {
  const Eigen::VectorXd g = landscape.gradient(w);
  if (!g.allFinite()) return std::numeric_limits<double>::infinity();
  const double gn = g.norm();
  return gn > 0.0 ? (g - w.dot(g) * w).norm() / gn : 0.0;
}

double similarity(const Eigen::VectorXd& a, const Eigen::VectorXd& b, bool symmetric) {
  const double c = a.dot(b) / (a.norm() * b.norm());
  return symmetric ? std::abs(c) : c;
}

/// One start's outcome.
struct Run {
  Eigen::VectorXd w;
  double residual = std::numeric_limits<double>::infinity();
  int polished_by = 0;  // 0 not certified, 1 ascent, 2 self-consistent, 3 Newton, 4 active set
  std::optional<KinkCertificate> kink;  // set when the kink certificate certified it
};

KinkOptions kink_options(const CertifiedSearchOptions& o) {
  KinkOptions k;
  k.tolerance = o.tolerance;
  k.independence_floor = o.independence_floor;
  k.zero_tolerance = o.zero_tolerance;
  k.iterations = o.kink_iterations;
  return k;
}

/// A candidate certifies when its residual is within tolerance and ∇E ≠ 0: ∇E = 0 happens only
/// when A(w) = 0 (every gate closed, a dead node: E is flat), which says nothing.
bool certified(const NodeLandscape& landscape, const Eigen::VectorXd& w, double residual, double tolerance) {
  return residual <= tolerance && landscape.gated_covariance_trace(w) > 0.0;
}

Run run_start(const NodeLandscape& landscape, const Eigen::VectorXd& w0, const CertifiedSearchOptions& o) {
  const bool symmetric = landscape.sign_symmetric();
  Run run;
  const FixedPoint ascent = find_fixed_point(landscape, w0, o.ascent);
  if (ascent.status == Status::non_finite || ascent.w.size() == 0) return run;
  const Eigen::VectorXd end = ascent.w;
  run.w = end;
  run.residual = relative_residual(landscape, end);
  if (certified(landscape, end, run.residual, o.tolerance)) {
    run.polished_by = 1;
    return run;
  }
  // Keeps a polished candidate when it is closer to a certificate and near the ascent's end.
  auto offer = [&](const Eigen::VectorXd& w, int by) {
    if (!w.allFinite() || similarity(w, end, symmetric) < o.polish_cosine) return false;
    const double r = relative_residual(landscape, w);
    if (r < run.residual || certified(landscape, w, r, o.tolerance)) {
      run.w = w;
      run.residual = r;
    }
    if (certified(landscape, w, r, o.tolerance)) {
      run.polished_by = by;
      return true;
    }
    return false;
  };
  // A finite ReLU sample with the quadratic loss: the maximum is usually on a kink.
  if ((o.kinks && supports_kinks(landscape)) || (o.infonce_kinks && supports_infonce_kinks(landscape))) {
    const KinkSolve ks =
        kink_fixed_point(static_cast<const SampleLandscape&>(landscape), end, kink_options(o));
    if (ks.consistent && ks.certificate.converged && similarity(ks.w, end, symmetric) >= o.polish_cosine) {
      run.w = ks.w;
      run.residual = ks.certificate.residual;
      run.polished_by = 4;
      run.kink = ks.certificate;
      return run;
    }
  }
  if (o.self_consistent_iterations > 0 &&
      offer(self_consistent_iteration(landscape, end, o.self_consistent_iterations, o.tolerance), 2))
    return run;
  if (o.newton) {
    FixedPointOptions newton = o.ascent;
    newton.tolerance = o.tolerance;
    const FixedPoint fp = newton_fixed_point(landscape, end, newton);
    if (fp.status == Status::success && offer(fp.w, 3)) return run;
  }
  return run;
}

}  // namespace

Eigen::VectorXd self_consistent_iteration(const NodeLandscape& landscape,
                                          const Eigen::Ref<const Eigen::VectorXd>& w0,
                                          Eigen::Index iterations, double tolerance) {
  constexpr const char* where = "self_consistent_iteration";
  require(w0.size() == landscape.dim(), where, "size of w0", w0.size(),
          "== d = " + std::to_string(landscape.dim()));
  require_finite(w0, where, "w0");
  require(w0.norm() > 0.0, where, "norm of w0", w0.norm(), "w0 != 0");
  require(iterations >= 0, where, "iterations", iterations, "iterations >= 0");
  Eigen::VectorXd w = w0.normalized();
  for (Eigen::Index it = 0; it < iterations; ++it) {
    if (relative_residual(landscape, w) <= tolerance) break;
    const Eigen::MatrixXd a = landscape.gated_covariance(w);
    if (!a.allFinite()) break;
    // Top eigenvector of the symmetric d × d matrix A(w) (dense: d is the input dimension).
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(0.5 * (a + a.transpose()));
    if (es.info() != Eigen::Success) break;
    Eigen::VectorXd v = es.eigenvectors().col(w.size() - 1);
    if (v.dot(w) < 0.0) v = -v;  // ReLU: v and −v are different nodes; stay on w's side
    w = v.normalized();
  }
  return w;
}

CertifiedSearch certified_fixed_points(const NodeLandscape& landscape,
                                       const Eigen::Ref<const Eigen::MatrixXd>& user_starts,
                                       const CertifiedSearchOptions& options) {
  constexpr const char* where = "certified_fixed_points";
  options.validate();
  const Eigen::Index d = landscape.dim();
  const Eigen::Index k = user_starts.cols();
  if (k > 0) {
    require(user_starts.rows() == d, where, "rows of user_starts", user_starts.rows(),
            "== d = " + std::to_string(d));
    require_finite(user_starts, where, "user_starts");
    for (Eigen::Index j = 0; j < k; ++j)
      require(user_starts.col(j).norm() > 0.0, where, "norm of user_starts column " + std::to_string(j),
              user_starts.col(j).norm(), "> 0");
  }
  const Eigen::Index total = k + options.random_starts;
  require(total >= 1, where, "user columns + random_starts", total, ">= 1");

  std::vector<Run> runs(static_cast<std::size_t>(total));
  const Rng root(options.seed);
#pragma omp parallel for schedule(dynamic)
  for (long i = 0; i < static_cast<long>(total); ++i) {
    Eigen::VectorXd w0;
    if (i < k) {
      w0 = user_starts.col(i);
    } else {
      Rng rng = root.substream(static_cast<std::uint64_t>(i - k));
      w0 = rng.normal_matrix(d, 1).col(0);
    }
    runs[static_cast<std::size_t>(i)] = run_start(landscape, w0, options);
  }

  CertifiedSearch out;
  out.starts = total;
  out.user_starts = k;
  out.sign_symmetric = landscape.sign_symmetric();
  out.tolerance = options.tolerance;
  out.dedup_cosine = options.dedup_cosine;
  out.assignment.assign(static_cast<std::size_t>(total), -1);
  out.polished_by.assign(static_cast<std::size_t>(total), 0);
  std::vector<std::optional<KinkCertificate>> kinks;  // per point: its first start's certificate
  for (Eigen::Index i = 0; i < total; ++i) {
    const Run& r = runs[static_cast<std::size_t>(i)];
    out.start_residuals.push_back(r.residual);
    if (r.polished_by == 0) {
      ++out.unconverged;
      continue;
    }
    ++out.converged;
    out.polished_by[static_cast<std::size_t>(i)] = r.polished_by;
    Eigen::Index found = -1;
    for (std::size_t p = 0; p < out.points.size() && found < 0; ++p)
      if (similarity(out.points[p].w, r.w, out.sign_symmetric) >= options.dedup_cosine)
        found = static_cast<Eigen::Index>(p);
    if (found < 0) {
      CertifiedPoint cp;
      cp.w = r.w;
      cp.residual = r.residual;
      out.points.push_back(cp);
      kinks.push_back(r.kink);
      found = static_cast<Eigen::Index>(out.points.size()) - 1;
    }
    CertifiedPoint& cp = out.points[static_cast<std::size_t>(found)];
    cp.starts.push_back(i);
    if (i >= k) ++cp.basin_count;
    out.assignment[static_cast<std::size_t>(i)] = found;
  }

  // Classification at each distinct point (analytic Hessian; the finite-difference cross-check
  // is the tests' business, and is meaningless next to a gate boundary).
  StabilityOptions so;
  so.zero_tolerance = options.zero_tolerance;
  so.finite_difference_check = false;
#pragma omp parallel for schedule(dynamic)
  for (long p = 0; p < static_cast<long>(out.points.size()); ++p) {
    CertifiedPoint& cp = out.points[static_cast<std::size_t>(p)];
    cp.energy = landscape.energy(cp.w);
    if (const std::optional<KinkCertificate>& kc = kinks[static_cast<std::size_t>(p)]) {
      cp.kind = kc->active.empty() ? PointKind::smooth : PointKind::kink;
      cp.active_set = kc->active;
      cp.active_set_size = static_cast<Eigen::Index>(kc->active.size());
      cp.slack = kc->slack;
      cp.lambda = kc->lambda;
      cp.stable = kc->stable;
      cp.max_tangent_hessian_eigenvalue = kc->face_hessian_max;
      cp.eigengap = kc->face_eigengap;
      // λ is the top eigenvalue of A on the face (within zero_tolerance) and simple.
      const double scale = std::max(std::abs(kc->face_top_eigenvalue), std::abs(kc->lambda));
      cp.eigen_criterion = kc->face_top_eigenvalue - kc->lambda <= options.zero_tolerance * scale &&
                           kc->face_eigengap > options.zero_tolerance * std::abs(kc->lambda);
      cp.gate_margin = kc->outside_margin;
      continue;
    }
    const StabilityResult st = analyze_stability(landscape, cp.w, so);
    cp.lambda = st.lambda;
    cp.stable = st.status == Status::success && st.verdict == Verdict::stable;
    cp.max_tangent_hessian_eigenvalue =
        st.tangent_eigenvalues.size() > 0 ? st.tangent_eigenvalues(0) : -std::numeric_limits<double>::infinity();
    cp.eigengap = st.eigengap;
    cp.eigen_criterion = st.is_top && st.eigengap > options.zero_tolerance * std::abs(st.lambda);
    cp.gate_margin = st.gate_margin;
  }
  return out;
}

}  // namespace cldyn::analysis
