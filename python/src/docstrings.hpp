#pragma once
// NumPy-style docstrings of the analysis bindings (analysis.cpp), kept here so the bindings stay
// readable. Shapes follow the library: views N x d, weights d x K, support points S x d (rows).
namespace cldyn::python::doc {

inline constexpr const char* gated_covariance = R"doc(Gated covariance A(w) = C_alpha[x~_w] of one node (theory section 3).

x~_w = h'(w^T x) x per view and sample; Identity B: grad_w E_alpha = A(w) w.

Parameters
----------
X, Xp : array_like, shape (N, d)
    The two views.
w : array_like, shape (d,)
    The node's weight vector (finite; A(w) is invariant to w -> c w, c > 0).
activation : str
    ``"linear"``, ``"relu"`` or ``"leaky:GAMMA"``.
alpha : array_like, shape (N, N), optional
    Pairwise importance (zero diagonal); all ones when omitted.

Returns
-------
ndarray, shape (d, d)
    A(w), symmetric, in units of x squared.
)doc";

inline constexpr const char* top_eigenpairs = R"doc(Top-k eigenpairs of a dense symmetric matrix (the solver cldyn-analyze uses).

Parameters
----------
A : array_like, shape (d, d)
    Symmetric (to 1e-12 relative), finite. Read in place when float64 and Fortran-ordered.
k : int
    1 <= k <= d.

Returns
-------
dict
    ``values`` (k,), largest first; ``vectors`` (d, k) unit eigenvectors, column i for
    ``values[i]``; ``residual`` = max_i |A v_i - lambda_i v_i| / |A|; ``status``, ``message``.
)doc";

inline constexpr const char* gated_covariance_top_eigenpairs = R"doc(Top-k eigenpairs of A(w) without forming it (Spectra's Lanczos solver on the matrix-free operator).

Parameters
----------
X, Xp : array_like, shape (N, d)
w : array_like, shape (d,)
k : int
    1 <= k < d.
activation : str
alpha : array_like, shape (N, N), optional
ncv, max_iterations, tolerance
    Krylov dimension (0: min(d, max(2k + 1, 20))), iteration cap and Spectra's relative
    convergence tolerance.

Returns
-------
dict
    As :func:`top_eigenpairs` (``status`` is ``"not_converged"`` when Lanczos did not converge).
)doc";

inline constexpr const char* one_layer_loss_hessian = R"doc(Hessian of the loss with respect to node k of a one-layer network (alpha differentiated, gates constant).

Parameters
----------
X, Xp : array_like, shape (N, d)
W : array_like, shape (d, K), or (K, d) with ``layout="Kd"``
k : int
    The node, 0 <= k < K.
activation, loss, tau, eps, layout
    As :func:`one_layer_loss_gradient`.

Returns
-------
ndarray, shape (d, d)
    grad^2_{w_k} L; for the quadratic loss it equals -2 N^2 A(w_k) (theory section 3, "Stability").
)doc";

inline constexpr const char* latent_model = R"doc(The latent data model of theory section 4.

Patterns u_1..u_L (columns of ``patterns``, d x L; random orthonormal from ``seed`` unless
given), a latent z in {0,1}^L (``mode="mixture"``: exactly one z_l = 1 with probability p_l;
``"summation"``: independent Bernoulli(p_l)), base sample x0 = sum_l z_l a_l u_l, views
x = x0 + sigma xi, x' = x0 + sigma xi'.

Parameters
----------
d, L : int
    Input dimension and number of patterns (L <= d for random patterns).
probabilities, amplitudes : list of float, optional
    p_l (default 1/L) and a_l (default 1), length L.
sigma : float
    Augmentation noise, > 0.
mode : str
    ``"mixture"`` or ``"summation"``.
seed : int
    Seed of the random patterns.
patterns : array_like, shape (d, L), optional
    User-given patterns (need not be orthonormal).

Methods
-------
support() -> (x0 (S, d), probability (S,))
    The exact support of x0 (S = L for the mixture, 2^L for the summation, L <= 20).
sample(n, seed=0) -> dict
    ``X``, ``Xp`` (n, d), ``x0`` (n, d), ``z`` (n, L), ``support_index`` (n).
)doc";

inline constexpr const char* population = R"doc(A finite distribution of base samples x0 with isotropic Gaussian augmentation (theory section 4).

``Population(x0, probability, sigma)``, or ``Population(model)`` for a :class:`LatentModel`'s
exact support. Wherever a population is expected a LatentModel may be passed directly.

Parameters
----------
x0 : array_like, shape (S, d)
    One support point per row.
probability : array_like, shape (S,)
    p_s >= 0 summing to 1 (within 1e-12 S).
sigma : float
    Augmentation noise, > 0.
)doc";

inline constexpr const char* population_energy = R"doc(Population energy of one node, E(w) = 1/2 Var_{x0}[g(x0; w)], g = E[h(w^T x) | x0].

Parameters
----------
population : Population or LatentModel
w : array_like, shape (d,)
    Finite, nonzero.
activation : str

Returns
-------
float
    E(w) (uniform alpha, N -> infinity, without the (N-1)/N factor).
)doc";

inline constexpr const char* population_gated_covariance = R"doc(Population gated covariance A_pop(w) = Var_{x0}[mu~(x0; w)], mu~ = E[h'(w^T x) x | x0].

Parameters
----------
population : Population or LatentModel
w : array_like, shape (d,)
activation : str

Returns
-------
ndarray, shape (d, d)
    Symmetric positive semidefinite; Var[x0] for a linear node.
)doc";

inline constexpr const char* population_energy_gradient = R"doc(Population gradient grad E(w) = Cov_{x0}(mu~, g) = A_pop(w) w.

Returns
-------
ndarray, shape (d,)
)doc";

inline constexpr const char* population_energy_hessian = R"doc(Population Hessian grad^2 E(w) = A_pop(w) + R(w), R = (dA/dw)[.] w (theory section 3).

Returns
-------
dict
    ``hessian``, ``gated_covariance`` (A_pop) and ``remainder`` (R, with R w = 0), each (d, d).
)doc";

inline constexpr const char* node_landscape = R"doc(The energy landscape of one node on the unit sphere (theory section 3).

Built as :class:`PopulationLandscape` (exact population, smooth) or :class:`SampleLandscape`
(a fixed two-view sample and a loss). Every method takes w of shape (d,).

Methods
-------
energy(w) -> float, gradient(w) -> (d,), gated_covariance(w) -> (d, d), hessian(w) -> (d, d),
gate_margin(w) -> float (inf where smooth)
    E(w), grad E = A(w) w, A(w) and grad^2 E.
stability(w, zero_tolerance=1e-9, finite_difference_check=True, fd_step=1e-6) -> dict
    The Riemannian Hessian's tangent eigenvalues and the verdict (``"stable"``, ``"saddle"``,
    ``"minimum"``, ``"degenerate"``), the spectrum of A(w), ``is_top``, ``eigengap``,
    ``remainder_norm`` = |grad^2 E - A(w)|_2, ``fd_relative_error``.
certified_fixed_points(W=None, layout="dK", starts=64, seed=0, tolerance=1e-8, kinks=True, infonce_kinks=False) -> dict
    Certified fixed points and their basins from ``starts`` random starts plus one per column
    of W: the record of cldyn-analyze's ``fixed_points``.
predict_critical_points(patterns=None, random_directions=64, seed=0, pairs=True, triples=True, tolerance=1e-8) -> dict
    Certified critical points seeded from the patterns (d x L; the model's by default), their
    pairs and triples and random directions, each with its Morse index and verdict.
predict_basins(patterns=None, starts=200, seed=0, cos_threshold=0.9, confidence=0.95, tolerance=1e-8, widths=[]) -> dict
    Basin fractions of the flow per pattern with joint Clopper-Pearson intervals, and for each
    K in ``widths`` the expected number of patterns recovered by K independent nodes.
)doc";

inline constexpr const char* population_landscape = R"doc(The exact population landscape E = 1/2 Var[g], grad E = A_pop(w) w, grad^2 E = A_pop + R.

Parameters
----------
population : Population or LatentModel
    A LatentModel also supplies the patterns of predict_critical_points / predict_basins.
activation : str
patterns : array_like, shape (d, L), optional
    Overrides the patterns.
)doc";

inline constexpr const char* sample_landscape = R"doc(The landscape of one node on a fixed sample: objective -L(w) / (2 N^2) under the loss.

Parameters
----------
X, Xp : array_like, shape (N, d)
activation, loss, tau, eps
    As :func:`analyze`.
patterns : array_like, shape (d, L), optional
    For predict_critical_points / predict_basins.
)doc";

inline constexpr const char* two_layer_forward = R"doc(Hidden layer and output of a two-layer network with non-overlapping receptive fields (theory section 5).

Parameters
----------
X : array_like, shape (N, d)
filters : list of K array_like, each (d_k, M)
    W_k, the M filters of receptive field k (columns); sum_k d_k = d.
V : array_like, shape (p, K M)
    Top layer; hidden node (k, m) is column k M + m.
activation : str

Returns
-------
(F1, F) : ndarray (N, K M), ndarray (N, p)
)doc";

inline constexpr const char* two_layer_energy = R"doc(E_alpha = 1/2 tr C_alpha[f] of a two-layer network and its gradient (alpha frozen, Identity C).

Parameters
----------
X, Xp : array_like, shape (N, d)
filters, V, activation
    As :func:`two_layer_forward`.
alpha : array_like, shape (N, N), optional
    All ones when omitted.

Returns
-------
(float, dict)
    E_alpha and ``{"filters": [K arrays (d_k, M)], "top": (p, K M)}``.
)doc";

inline constexpr const char* two_layer_loss_gradient = R"doc(Gradient of a loss of a two-layer network, alpha differentiated (Identity A: -2 N^2 times the energy gradient at alpha(theta)).

Returns
-------
dict
    ``{"filters": [K arrays (d_k, M)], "top": (p, K M)}``.
)doc";

inline constexpr const char* gradient_colinearity = R"doc(Co-linearity of a gradient matrix G = [grad w_1 ... grad w_M] (theory section 5, Claim 6).

Parameters
----------
G : array_like, shape (d_k, M)
rank_tolerance : float
    Singular values above rank_tolerance * sigma_1 count towards the rank.

Returns
-------
dict
    ``singular_values``, ``rank``, ``abs_cos`` (M, M), ``min_abs_cos``, ``mean_abs_cos``,
    ``max_one_minus_abs_cos``, ``pairs``, ``zero_columns``.
)doc";

inline constexpr const char* field_gradient_colinearity = R"doc(Co-linearity of G_k = grad_{W_k} E_alpha (alpha frozen) for every receptive field of a two-layer network.

Returns
-------
list of dict
    One :func:`gradient_colinearity` record per receptive field.
)doc";

inline constexpr const char* filter_diversity = R"doc(Diversity of the filters of one receptive field.

Parameters
----------
W : array_like, shape (d_k, M)

Returns
-------
dict
    ``mean_abs_cos``, ``min_abs_cos``, ``effective_rank`` (exp of the entropy of the normalised
    singular values of the column-normalised W) and ``singular_values``.
)doc";

inline constexpr const char* class_model = R"doc(The two-layer class model of theory section 5 (global modulation, Claim 7).

Parameters
----------
field_sizes : list of int
    d_k >= 2 per receptive field (K <= 9 for the exact support).
p1 : float
    P(z = 1).
q0, q1 : float
    P(u_k present | z).
sigma : float
seed : int
    Seed of the random patterns u_k, v_k.
u, v : array_like, shape (d, K), optional
    User-given patterns (column k on RF k's coordinates).

Attributes
----------
u, v : ndarray (d, K)
    Discriminative and non-discriminative patterns embedded at their RFs.

Methods
-------
support() -> (x0 (S, d), z (S,), probability (S,))
sample(n, seed=0) -> (X (n, d), Xp (n, d), z (n,))
)doc";

inline constexpr const char* global_modulation = R"doc(Global modulation of the class model at filters w (M = 1 node per RF), exact population.

Parameters
----------
model : ClassModel
w : list of K array_like, w[k] of shape (d_k,)
activation : str

Returns
-------
dict
    ``within`` (L_k), ``between`` (Delta_k), ``d``, ``b``, ``p0``, ``p1``, the secular ``root``,
    ``lambda``, ``s`` (unit top eigenvector of Var[f_1]), ``z`` and ``modulated``
    (the global-modulated covariances A~_k, each (d_k, d_k)); ``status`` is ``"not_converged"``
    with a message in the degenerate cases.
)doc";

inline constexpr const char* modulated_covariance = R"doc(The global-modulated covariance A~_k(s) = s_k^2 L_k + p0 p1 s_k (s^T b) / b_k Delta_k Delta_k^T of every RF.

Parameters
----------
model : ClassModel
w : list of K array_like (d_k,)
s : array_like, shape (K,)
    Top layer direction (V^T V = s s^T).
activation : str

Returns
-------
list of K ndarray (d_k, d_k)
    A~_k(s) w_k equals the generic Identity-C field s_k sum_l s_l Cov(mu~_k, g_l).
)doc";

inline constexpr const char* hidden_covariance = R"doc(Var[f_1] = Cov_{x0}(g) of the hidden layer (M = 1 node per RF) on the class model's exact support.

Parameters
----------
model : ClassModel
w : list of K array_like (d_k,)
activation : str

Returns
-------
ndarray, shape (K, K)
    Equals diag(d) + p0 p1 b b^T of :func:`global_modulation` (RFs independent given z).
)doc";

inline constexpr const char* generic_field = R"doc(The generic two-layer field of Identity C at V^T V = s s^T in the population limit, field_k = s_k sum_l s_l Cov(mu~_k, g_l), from the joint support.

Returns
-------
list of K ndarray (d_k,)
)doc";

inline constexpr const char* two_layer_population_field = R"doc(The same field as :func:`generic_field`, computed through the library's two-layer Identity-C gradient on a weighted batch whose C_alpha equals the population covariance exactly.

Returns
-------
list of K ndarray (d_k,)
)doc";

}  // namespace cldyn::python::doc
