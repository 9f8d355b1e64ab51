#pragma once
/// \file certified_fixed_points.hpp
/// Certified fixed points of one node's landscape (theory §3, "Fixed points", "Stability"), for
/// a user's own sample as well as for the population: every start runs the projected ascent
/// (find_fixed_point), then a polish from its end point, and only certified end points count:
///
///   converged  ⇔  relative tangent residual ‖P⊥∇E(w)‖ / ‖∇E(w)‖ ≤ tolerance,
///   stable     ⇔  Riemannian Hessian H_R = P⊥(∇²E − λI)P⊥ negative definite on the tangent space,
///
/// or, on a finite ReLU sample with the quadratic loss, by the kink certificate below.
///
/// Why a polish. Newton converges quadratically where the ascent crawls (population, linear,
/// InfoNCE), and inside one gate cell of a finite ReLU sample A(w) = A_cell is constant, so the
/// self-consistent iteration w ← v₁(A(w)) (unit top eigenvector, sign v₁ᵀw ≥ 0) lands exactly on
/// a fixed point as soon as two consecutive iterates share their gates. The polishes run in
/// this order until one certifies: the active-set solver (kink-capable landscapes only, below),
/// the self-consistent iteration, Newton.
///
/// What a finite ReLU sample does (measured, see tests/test_certified_fixed_points.cpp): near a
/// pattern, exact fixed points almost never exist. E is piecewise quadratic with a kink on every
/// gate boundary wᵀx_i = 0 (∇E jumps by (∂E/∂f_i)·x_i), and the jumps outweigh the cell widths
/// (the population remainder (∂A/∂w)w dominates A there), so no cell holds its own top
/// eigenvector: the sample's local maximum is a kink where P⊥∇E never vanishes. The ascent then
/// zig-zags across it and stalls with a residual ≈ O(1/N).
///
/// Measured (tests/test_certified_fixed_points.cpp, d = 20, L = 5 orthonormal patterns, σ = 0.2,
/// mixture, ReLU, quadratic loss; 5 starts near the patterns + 32 random): the ascent stalls after
/// ~1000 iterations with residual 2e-4 … 2e-2; the active-set solver then takes 3–9 steps to a
/// consistent face with |S| = 2–6 rows, face residual ≤ 7e-16, relative slack 1e-5 … 2e-3 and
/// outside margins 6e-6 … 2e-3. All 37/37 starts certify at N = 200, 1000 and 5000, each time
/// onto 5 stable kink maxima, one per pattern (cos 0.978 … 0.987; at N = 200 the pattern with
/// p = 0.1 gives cos 0.948). Wall time per start on 2 threads: 0.009 s, 0.034 s, 0.156 s (the
/// ascent is ~95% of it).
///
/// Kink certificate (ReLU or leaky ReLU with the quadratic loss only: α is uniform, so in each
/// gate cell E = ½wᵀA_g w exactly). Rows r of the stacked inputs [X; X'] (r < N: x_r, r ≥ N:
/// x'_{r−N}) with relative margin |x_rᵀw|/‖x_r‖ ≤ tolerance form the active set S; rows with the
/// same unit normal n = x_r/‖x_r‖ are one boundary (the doubled batch of "both views" holds each
/// vector twice). With the S rows at the closed slope γ (ReLU 0) and the other rows at their gates,
/// A_0 = C_α[x̃], G_0 = A_0 w (the gradient with S closed), c_r = ∂E/∂f_r (energy_output_gradient),
/// and per boundary the one-sided jump ĉ = (1 − γ) Σ_{r on it} c_r ‖x_r‖. For a tangent v with
/// t = nᵀv the one-sided directional derivative is
///     D(v) = G_0ᵀv + Σ_boundaries ĉ·max(0, t).
/// Face stationarity: G_0 = λw + Σ μ̂·n (least squares over [w, n_1 … n_m]; residual
/// ‖G_0 − λw − Σμ̂n‖/‖G_0‖ ≤ tolerance), with [w, n_1 … n_m] linearly independent
/// (σ_min/σ_max ≥ independence_floor). Then D(v) = Σ [μ̂·t + ĉ·max(0, t)] and w is a strict local
/// maximum of E on the sphere iff
///   (i)   μ̂ > 0 on every boundary          (the closed side lowers E at first order),
///   (ii)  μ̂ + ĉ < 0 on every boundary      (the open side lowers E at first order),
///   (iii) Qᵀ(A_0 − λI)Q negative definite, Q an orthonormal basis of {v : vᵀw = 0, n_jᵀv = 0},
///   (iv)  every row outside S keeps its gate (relative margin > tolerance: S holds every row
///         within tolerance of its boundary, so this holds by construction and is reported).
/// (i) and (ii) are strict with a relative slack: min over boundaries of min(μ̂, −(μ̂ + ĉ))/‖G_0‖
/// must exceed `tolerance` (μ̂ is known to about residual·‖G_0‖). With S empty this is the
/// smooth certificate (kind "smooth"): residual = ‖P⊥∇E‖/‖∇E‖ and (iii) = H_R negative definite.
///
/// Active-set solver (kink_fixed_point), from the ascent's end point w_a with the gates g of w_a
/// and S = ∅: on the face {X_S w = 0} with the S rows closed and the other rows at g, w' = the unit
/// eigenvector of Q_0ᵀA_0Q_0 (Q_0 an orthonormal basis of null(X_S)) of largest |cos| with w_a,
/// signed towards w_a. If a row outside S disagrees with its gate at w' (or lies within
/// tolerance of its boundary), the first such boundary crossed on the segment w → w' joins S
/// (a primal active-set step); otherwise the certificate is computed at w', and the boundary that
/// violates (i) or (ii) worst leaves S with its gate closed (i) or open (ii), and w ← w'. It stops
/// when nothing joins or leaves (consistent), or after `kink_iterations` steps (not certified).
///
/// InfoNCE (ReLU / leaky ReLU; opt-in: CertifiedSearchOptions::infonce_kinks). α depends on w, so
/// E is not piecewise quadratic, but it is smooth in each gate cell (E is a smooth function of
/// the outputs f), and the certificate's formulas hold with A_0 replaced by what it stands for:
/// G_0 = ∇E at fixed gates with S closed (= C_α[x̃]w, Identity B), c_r = ∂E/∂f_r with α at the
/// point (energy_output_gradient), the same jumps ĉ, and in (iii) H_0 = ∇²E at fixed gates
/// (the full loss Hessian, α differentiated: loss_hessian) in place of A_0:
/// Qᵀ(H_0 − λI)Q. The face solver cannot be an eigenvector of A_0: it is a Riemannian Newton
/// method (Hessian eigenvalues above a floor flipped, capped step, energy never decreasing) for
/// the fixed-gate energy on the face manifold {‖w‖ = 1, X_S w = 0}, from the projection of the
/// last face point, inside the same active-set loop. face_critical_point and the face's
/// eigenvalues (face_top_eigenvalue, face_eigengap) use C_α at the point for InfoNCE.
/// Linear activations keep the smooth certificate only.
///
/// Measured (tests/test_certified_infonce.cpp: d = 20, L = 5, σ = 0.2, mixture, N = 64, ReLU,
/// τ = 0.1, 12 random starts): 12/12 starts certify (6 by the ascent, 6 by the active-set solver),
/// onto 6 stable kinks with |S| = 1–5, slack 9e-4 … 3e-2; the face Hessian's largest eigenvalue
/// agrees with central second differences of E on the face to ≤ 5e-5 relative, and the one-sided
/// derivatives with forward differences. check_infonce_optima (N = 128, 30 starts, both modes):
/// 26–30 of 30 starts certify at τ = 1 … 0.03 except summation τ = 0.03 (14/30: ascents that
/// stalled far from any optimum, whose certified point lies more than polish_cosine away);
/// every counted point has residual ≤ 1e-10. Without the kink solver (smooth certificate only)
/// 0–10 of 12 starts certified at N = 64 (0 at τ = 0.3 in both modes).
///
/// A polished point is accepted only within `polish_cosine` of the ascent's end point, so a start
/// is never credited to a far basin.

#include <Eigen/Core>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "cldyn/analysis/fixed_points.hpp"
#include "cldyn/analysis/landscape.hpp"

namespace cldyn::analysis {

struct CertifiedSearchOptions {
  Eigen::Index random_starts = 64;  ///< plus one start per user column
  std::uint64_t seed = 0;
  double tolerance = 1e-8;          ///< certificate: relative tangent residual ‖P⊥∇E‖/‖∇E‖
  /// Two certified points are one when cos ≥ dedup_cosine (|cos| if sign-symmetric).
  double dedup_cosine = 0.999;
  /// The ascent run first (its own tolerance may be looser than `tolerance`: the polish and the
  /// certificate use `tolerance`).
  FixedPointOptions ascent;
  /// Iterations of the self-consistent iteration w ← v₁(A(w)); 0 skips it.
  Eigen::Index self_consistent_iterations = 50;
  /// Riemannian Newton after the self-consistent iteration when that did not certify.
  bool newton = true;
  /// A polished point counts only when cos(polished, ascent end) ≥ polish_cosine (|cos| when
  /// sign-symmetric): the polish refines the ascent's end point, it must not jump basins.
  double polish_cosine = 0.99;
  /// Tangent eigenvalue μ counts as zero (not stable) when |μ| ≤ zero_tolerance·max(‖∇²E‖₂, |λ|).
  double zero_tolerance = 1e-9;
  /// ReLU / leaky ReLU with the quadratic loss on a SampleLandscape: after an uncertified ascent,
  /// run the active-set solver and the kink certificate (see the file comment). false: smooth
  /// certificate only.
  bool kinks = true;
  /// ReLU / leaky ReLU with InfoNCE on a SampleLandscape: after an uncertified ascent, run the
  /// active-set solver with the face Newton and the kink certificate with H_0 = ∇²E (see the
  /// file comment). Off by default: the smooth certificate only, as before.
  bool infonce_kinks = false;
  /// Steps of the active-set solver (each adds or removes one boundary).
  Eigen::Index kink_iterations = 60;
  /// [w, n_1 … n_m] (unit columns) count as linearly independent when σ_min/σ_max ≥ this.
  double independence_floor = 1e-6;
  void validate() const;
};

/// How a certified point sits in the landscape: a smooth critical point (no sample on its gate
/// boundary) or a maximum on a kink (active set S nonempty).
enum class PointKind { smooth, kink };
std::string_view to_string(PointKind kind);

/// Options of certify_kink and kink_fixed_point (CertifiedSearchOptions supplies them).
struct KinkOptions {
  double tolerance = 1e-8;           ///< residual, boundary margin and slack threshold (relative)
  double independence_floor = 1e-6;  ///< σ_min/σ_max of [w, n_1 … n_m]
  double zero_tolerance = 1e-9;      ///< face Hessian eigenvalue h counts as 0 when |h| ≤ this·max(‖A_0‖₂, |λ|)
  Eigen::Index iterations = 60;      ///< active-set steps
  void validate() const;
};

/// The kink certificate at one unit w (see the file comment for every formula).
struct KinkCertificate {
  std::vector<Eigen::Index> active;  ///< S: rows of [X; X'] with |x_rᵀw|/‖x_r‖ ≤ tolerance, ascending
  Eigen::MatrixXd normals;           ///< d × m unit normals n_j, one per distinct boundary of S
  std::vector<std::vector<Eigen::Index>> boundary_rows;  ///< the rows of S on each boundary
  Eigen::VectorXd multipliers;       ///< μ̂ (m)
  Eigen::VectorXd jumps;             ///< ĉ = (1 − γ) Σ c_r ‖x_r‖ (m)
  Eigen::VectorXd closed_gradient;   ///< G_0 = A_0 w = ∇E at fixed gates, S closed (d)
  double lambda = 0.0;               ///< λ from the least squares (= wᵀG_0 up to the residual)
  double residual = 0.0;             ///< ‖G_0 − λw − Σμ̂n‖ / ‖G_0‖ (+∞ when G_0 = 0: a dead node)
  double independence = 0.0;         ///< σ_min/σ_max of [w, n_1 … n_m]
  double slack = 0.0;                ///< min_j min(μ̂_j, −(μ̂_j + ĉ_j)) / ‖G_0‖ (+∞ when S = ∅)
  double face_hessian_max = 0.0;     ///< largest eigenvalue of Qᵀ(H_0 − λI)Q, H_0 = A_0 (quadratic) or ∇²E at fixed gates (InfoNCE); −∞ when Q is empty
  double face_top_eigenvalue = 0.0;  ///< λ_1 of Q_0ᵀA_0Q_0 (Q_0: null(X_S)); λ = λ_1 at a stable point
  double face_eigengap = 0.0;        ///< λ_1 − λ_2 of Q_0ᵀA_0Q_0 (0 when it is 1 × 1)
  double outside_margin = 0.0;       ///< min over rows outside S of |x_rᵀw| (unit w; +∞ if none)
  double outside_relative_margin = 0.0;  ///< the same divided by ‖x_r‖ (> tolerance: (iv))
  bool independent = false;          ///< independence ≥ independence_floor
  bool first_order = false;          ///< (i) and (ii): slack > tolerance
  bool second_order = false;         ///< (iii): face_hessian_max < −zero_tolerance·max(‖H_0‖₂, |λ|)
  /// residual ≤ tolerance, G_0 ≠ 0, independent and first_order: a certified critical point
  /// (a first-order strict maximum off the face).
  bool converged = false;
  bool stable = false;  ///< converged and second_order: a strict local maximum of E on the sphere
};

/// True when `landscape` is a SampleLandscape with the quadratic loss and a ReLU or leaky-ReLU
/// activation: the piecewise-quadratic landscapes the search's kink certificate (`kinks`) applies to.
bool supports_kinks(const NodeLandscape& landscape);

/// True when `landscape` is a SampleLandscape with InfoNCE and a ReLU or leaky-ReLU activation:
/// the landscapes of CertifiedSearchOptions::infonce_kinks.
bool supports_infonce_kinks(const NodeLandscape& landscape);

/// The kink certificate at w (nonzero, length d; normalised first) on a landscape with
/// supports_kinks or supports_infonce_kinks (throws std::invalid_argument otherwise).
KinkCertificate certify_kink(const SampleLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w,
                             const KinkOptions& options = {});

/// The critical point of E on the face {‖w‖ = 1, x_rᵀw = 0 for r ∈ active} with the active rows
/// closed and every other row at its gate at w_ref: the unit eigenvector of Q_0ᵀA_0Q_0 of largest
/// |cos| with w_ref, signed towards it (empty when the active normals span R^d); InfoNCE: the
/// face Newton from w_ref (tolerance 1e-8). Rows index [X; X'] (0 ≤ r < 2N). Exposed for tests
/// and diagnostics.
Eigen::VectorXd face_critical_point(const SampleLandscape& landscape, const std::vector<Eigen::Index>& active,
                                    const Eigen::Ref<const Eigen::VectorXd>& w_ref);

/// The active-set solver's outcome.
struct KinkSolve {
  Eigen::VectorXd w;             ///< the last face point (unit), empty if none was found
  KinkCertificate certificate;   ///< at w
  bool consistent = false;       ///< stopped because nothing joined or left S
  Eigen::Index iterations = 0;
  std::string message;
};

/// The active-set solver from w0 (see the file comment).
KinkSolve kink_fixed_point(const SampleLandscape& landscape, const Eigen::Ref<const Eigen::VectorXd>& w0,
                           const KinkOptions& options = {});

struct CertifiedPoint {
  Eigen::VectorXd w;      ///< unit vector (the first start's certified end point)
  double lambda = 0.0;    ///< λ* = w*ᵀ∇E(w*)
  double energy = 0.0;    ///< E(w*)
  /// ‖P⊥∇E(w*)‖ / ‖∇E(w*)‖ ≤ tolerance; kinks: the face residual ‖G_0 − λw − Σμ̂n‖/‖G_0‖.
  double residual = 0.0;
  /// Riemannian Hessian negative definite on the tangent space; kinks: (i)–(iv) hold.
  bool stable = false;
  /// Largest eigenvalue of H_R; kinks: of the face Hessian Qᵀ(A_0 − λI)Q (−∞ when the face is
  /// a point).
  double max_tangent_hessian_eigenvalue = 0.0;
  /// λ* = λ_max(A(w*)) and simple (eigengap > zero_tolerance·|λ*|): the finite-sample criterion.
  /// Kinks: the same for the face matrix Q_0ᵀA_0Q_0 (A restricted to null(X_S)).
  bool eigen_criterion = false;
  double eigengap = 0.0;     ///< λ₁ − λ₂ of A(w*) (kinks: of Q_0ᵀA_0Q_0)
  /// min |w*ᵀx_r| over the rows outside the active set (unit w*; +∞ for smooth landscapes).
  double gate_margin = 0.0;
  PointKind kind = PointKind::smooth;  ///< kink when the active set is nonempty
  Eigen::Index active_set_size = 0;    ///< |S| (rows of [X; X'] on their gate boundary)
  std::vector<Eigen::Index> active_set;  ///< S, ascending row indices of [X; X']
  /// Kinks: the relative slack of (i)/(ii) (file comment); +∞ for smooth points.
  double slack = std::numeric_limits<double>::infinity();
  Eigen::Index basin_count = 0;      ///< random starts (only) that converged here
  std::vector<Eigen::Index> starts;  ///< all start indices (user starts first) that converged here
};

struct CertifiedSearch {
  std::vector<CertifiedPoint> points;  ///< certified points only, deduplicated, in first-start order
  Eigen::Index starts = 0, converged = 0, unconverged = 0;
  Eigen::Index user_starts = 0;          ///< the first user_starts starts are the user's columns
  std::vector<Eigen::Index> assignment;  ///< per start: point index or −1
  std::vector<double> start_residuals;   ///< per start: final relative residual
  /// Per start, how it certified: 0 not, 1 ascent, 2 self-consistent iteration, 3 Newton,
  /// 4 active-set solver (kink certificate).
  std::vector<int> polished_by;
  bool sign_symmetric = false;  ///< the landscape's: directions compare by |cos|
  double tolerance = 0.0;       ///< the certificate's tolerance (options.tolerance)
  double dedup_cosine = 0.0;    ///< options.dedup_cosine
};

/// Starts: the columns of `user_starts` (d × K, may have 0 columns; each nonzero, finite) then
/// `random_starts` random unit vectors (start K + i from Rng(seed).substream(i); same result at
/// any thread count). Each start: ascent, then the polish, then the certificate; certified end
/// points are deduplicated in start order and classified (smooth points: analyze_stability with
/// the analytic Hessian; kinks: their KinkCertificate).
CertifiedSearch certified_fixed_points(const NodeLandscape& landscape,
                                       const Eigen::Ref<const Eigen::MatrixXd>& user_starts,
                                       const CertifiedSearchOptions& options);

/// The self-consistent iteration w ← v₁(A(w)) from w0 (at most `iterations` steps); returns the
/// last iterate. Exposed for tests and diagnostics.
Eigen::VectorXd self_consistent_iteration(const NodeLandscape& landscape,
                                          const Eigen::Ref<const Eigen::VectorXd>& w0,
                                          Eigen::Index iterations, double tolerance);

}  // namespace cldyn::analysis
