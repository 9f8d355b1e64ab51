"""Tests of cldyn's analysis layer in Python (python/src/analysis.cpp): every binding against an
independent NumPy computation of theory.md's formula it wraps, or against the C++ result it
wraps through another path (the cldyn-analyze JSON, the module-level functions), plus shapes,
ValueErrors and the zero-copy rule."""
import math
import sys
import time

import numpy as np
import pytest

import cldyn
from cldyn import _testing


def views(n=30, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    return x, x + 0.3 * rng.normal(size=(n, d))


def slope(activation):
    """h'(u) of the activations theory.md names."""
    if activation == "linear":
        return lambda u: np.ones_like(u)
    if activation == "relu":
        return lambda u: (u > 0).astype(float)
    gamma = float(activation.split(":")[1])
    return lambda u: np.where(u > 0, 1.0, gamma)


def covariance_by_definition(alpha, a, ap):
    """C_alpha[a] = 1/(2N^2) sum_ij alpha_ij [(a_i - a_j)(a_i - a_j)^T - (a_i - a'_i)(a_i - a'_i)^T]."""
    n = a.shape[0]
    diff = a[:, None, :] - a[None, :, :]
    pos = a - ap
    c = np.einsum("ij,ijk,ijl->kl", alpha, diff, diff)
    c -= np.einsum("i,ik,il->kl", alpha.sum(1), pos, pos)
    return c / (2 * n * n)


def random_alpha(n, seed=5):
    a = np.random.default_rng(seed).uniform(size=(n, n))
    np.fill_diagonal(a, 0.0)
    return a


ANALYSIS_API = ["gated_covariance", "top_eigenpairs", "gated_covariance_top_eigenpairs", "one_layer_loss_hessian",
                "LatentModel", "Population", "population_energy", "population_gated_covariance",
                "population_energy_gradient", "population_energy_hessian", "NodeLandscape", "PopulationLandscape",
                "SampleLandscape", "two_layer_forward", "two_layer_energy", "two_layer_loss_gradient",
                "gradient_colinearity", "field_gradient_colinearity", "filter_diversity", "ClassModel",
                "global_modulation", "modulated_covariance", "hidden_covariance", "generic_field",
                "two_layer_population_field"]


def test_every_binding_is_exported_documented_and_in_the_type_stubs():
    import ast
    import pathlib

    stub = ast.parse((pathlib.Path(cldyn.__file__).parent / "_cldyn.pyi").read_text())
    stubbed = {n.name for n in stub.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in dir(cldyn._cldyn) if not n.startswith("_") and n != "git_hash"}
    assert public - stubbed == set()
    for name in ANALYSIS_API:
        assert name in cldyn.__all__ and name in public, name
        doc = getattr(cldyn, name).__doc__ or ""
        assert any(h in doc for h in ("Parameters\n", "Returns\n", "Methods\n")), name


def test_the_example_of_docs_python_md_runs():
    import pathlib
    import re

    doc = pathlib.Path(__file__).resolve().parents[2] / "docs" / "python.md"
    if not doc.exists():
        pytest.skip("docs/python.md is not beside the tests (installed package)")
    text = doc.read_text()
    section = text[text.index("## The analysis layer by example"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope = {}
    exec(compile(code, str(doc), "exec"), scope)
    assert len(scope["stable"]) == 4  # one stable point per pattern of the mixture
    assert scope["gm"]["status"] == "success" and scope["A"].shape == (10, 10)


# ---- zero copy ---------------------------------------------------------------------------------

def address(a):
    return a.__array_interface__["data"][0]


def test_fortran_float64_reaches_cpp_without_a_copy():
    a = np.asfortranarray(np.random.default_rng(0).normal(size=(7, 3)))
    ptr, copied, rows, cols = _testing.data_pointer(a)
    assert ptr == address(a) and not copied and (rows, cols) == (7, 3)
    # Column slices keep the column-major layout (outer stride 2 x 7): still no copy.
    big = np.asfortranarray(np.random.default_rng(1).normal(size=(7, 8)))
    sliced = big[:, ::2]
    ptr, copied, rows, cols = _testing.data_pointer(sliced)
    assert ptr == address(sliced) and not copied and (rows, cols) == (7, 4)
    # 1-D float64: one column, in place.
    v = np.arange(5.0)
    ptr, copied, rows, cols = _testing.data_pointer(v)
    assert ptr == address(v) and not copied and (rows, cols) == (5, 1)


def test_other_layouts_and_dtypes_are_copied_once():
    a = np.random.default_rng(0).normal(size=(7, 3))
    for other in (a.astype(np.float32, order="F"), np.ascontiguousarray(a), np.asfortranarray(a)[::2, :],
                  a.astype(">f8", order="F")):
        ptr, copied, rows, cols = _testing.data_pointer(other)
        assert copied and ptr != address(other), other.dtype
        assert (rows, cols) == other.shape
    ptr, copied, _, _ = _testing.data_pointer(a.tolist())
    assert copied


def test_c_ordered_kd_weights_are_the_transpose_without_a_copy():
    w = np.random.default_rng(2).normal(size=(4, 9))  # K x d, C order (PyTorch's nn.Linear.weight)
    ptr, copied, rows, cols = _testing.data_pointer(w, transposed=True)
    assert ptr == address(w) and not copied and (rows, cols) == (9, 4)
    ptr, copied, rows, cols = _testing.data_pointer(np.asfortranarray(w), transposed=True)
    assert copied and (rows, cols) == (9, 4)
    x, xp = views(n=20, d=9)
    a = cldyn.analyze(x, xp, w, activation="relu", loss="quadratic", layout="Kd")
    b = cldyn.analyze(x, xp, np.asfortranarray(w.T), activation="relu", loss="quadratic")
    assert np.array_equal(a["energy_gradient"], b["energy_gradient"])
    w32 = w.astype(np.float32)  # converted and transposed in one copy
    c = cldyn.analyze(x, xp, w32, activation="relu", loss="quadratic", layout="Kd")
    d = cldyn.analyze(x, xp, w32.astype(np.float64).T, activation="relu", loss="quadratic")
    assert np.array_equal(c["energy_gradient"], d["energy_gradient"])
    v = np.arange(3.0)  # one node of a K x d = 1 x 3 layout
    assert _testing.data_pointer(v, transposed=True)[1:] == (False, 1, 3)
    assert _testing.data_pointer([0.0, 1.0, 2.0], transposed=True)[1:] == (True, 1, 3)


def test_zero_copy_inputs_give_the_results_of_copied_ones():
    x, xp = views(n=25, d=5, seed=3)
    alpha = random_alpha(25)
    fx, fxp = np.asfortranarray(x), np.asfortranarray(xp)
    assert not _testing.data_pointer(fx)[1]
    c_copy = cldyn.contrastive_covariance(x, xp, alpha)
    c_view = cldyn.contrastive_covariance(fx, fxp, alpha)
    assert np.allclose(c_view, c_copy, rtol=1e-14, atol=1e-15)
    assert np.allclose(c_view, covariance_by_definition(alpha, x, xp), rtol=1e-12, atol=1e-14)
    for loss, tau in (("quadratic", None), ("infonce", 0.5)):
        assert np.allclose(cldyn.pairwise_importance(fx, fxp, loss, tau=tau),
                           cldyn.pairwise_importance(x, xp, loss, tau=tau), rtol=1e-14, atol=0)
        assert math.isclose(cldyn.loss_value(fx, fxp, loss, tau=tau), cldyn.loss_value(x, xp, loss, tau=tau),
                            rel_tol=1e-14)


def test_zero_copy_keeps_reference_counts():
    f = np.asfortranarray(np.random.default_rng(4).normal(size=(8, 3)))
    fp = np.asfortranarray(f + 0.1)
    before = (sys.getrefcount(f), sys.getrefcount(fp))
    for _ in range(2000):
        cldyn.pairwise_importance(f, fp, "infonce", tau=0.5)
        _testing.data_pointer(f)
    assert (sys.getrefcount(f), sys.getrefcount(fp)) == before


# ---- gated covariance and eigenpairs ------------------------------------------------------------

@pytest.mark.parametrize("activation", ["linear", "relu", "leaky:0.2"])
def test_gated_covariance_is_the_covariance_of_the_gated_inputs(activation):
    x, xp = views(n=24, d=5, seed=6)
    w = np.random.default_rng(7).normal(size=5)
    alpha = random_alpha(24)
    h = slope(activation)
    xt, xtp = h(x @ w)[:, None] * x, h(xp @ w)[:, None] * xp
    a = cldyn.gated_covariance(x, xp, w, activation, alpha)
    assert a.shape == (5, 5)
    assert np.allclose(a, covariance_by_definition(alpha, xt, xtp), rtol=1e-12, atol=1e-14)
    # Identity B: grad_w E_alpha = A(w) w.
    _, grad = cldyn.one_layer_energy(x, xp, w[:, None], activation, alpha)
    assert np.allclose(grad[:, 0], a @ w, rtol=1e-11, atol=1e-13)
    # The same matrix as cldyn-analyze's gated_covariance (uniform alpha of the quadratic loss).
    rep = cldyn.analyze(x, xp, w[:, None], activation=activation, loss="quadratic")
    assert np.allclose(rep["gated_covariance"][0], cldyn.gated_covariance(x, xp, w, activation),
                       rtol=1e-12, atol=1e-14)


def test_top_eigenpairs_dense_and_matrix_free_agree_with_numpy():
    x, xp = views(n=60, d=12, seed=8)
    w = np.random.default_rng(9).normal(size=12)
    a = cldyn.gated_covariance(x, xp, w, "relu")
    vals, vecs = np.linalg.eigh(a)
    dense = cldyn.top_eigenpairs(np.asfortranarray(a), 3)
    assert dense["status"] == "success" and dense["vectors"].shape == (12, 3)
    assert np.allclose(dense["values"], vals[::-1][:3], rtol=1e-12, atol=1e-14)
    assert dense["residual"] <= 1e-12
    lanczos = cldyn.gated_covariance_top_eigenpairs(x, xp, w, 3, "relu")
    assert lanczos["status"] == "success"
    assert np.allclose(lanczos["values"], vals[::-1][:3], rtol=1e-9, atol=1e-12)
    for i in range(3):
        assert abs(abs(lanczos["vectors"][:, i] @ vecs[:, -1 - i]) - 1) < 1e-8
    with pytest.raises(ValueError, match="k"):
        cldyn.top_eigenpairs(a, 13)
    with pytest.raises(ValueError, match="k"):
        cldyn.gated_covariance_top_eigenpairs(x, xp, w, 12)
    with pytest.raises(ValueError, match=r"w: length 11 but d = 12"):
        cldyn.gated_covariance(x, xp, w[:11])


@pytest.mark.parametrize("loss,tau", [("quadratic", None), ("infonce", 0.5)])
def test_one_layer_loss_hessian_is_the_derivative_of_the_loss_gradient(loss, tau):
    x, xp = views(n=16, d=4, seed=10)
    w = np.random.default_rng(11).normal(size=(4, 3))
    hess = cldyn.one_layer_loss_hessian(x, xp, w, 1, "relu", loss, tau=tau)
    assert hess.shape == (4, 4)
    step = 1e-6
    fd = np.empty((4, 4))
    for j in range(4):
        up, down = w.copy(), w.copy()
        up[j, 1] += step
        down[j, 1] -= step
        g_up = cldyn.one_layer_loss_gradient(x, xp, up, "relu", loss, tau=tau)[:, 1]
        g_down = cldyn.one_layer_loss_gradient(x, xp, down, "relu", loss, tau=tau)[:, 1]
        fd[:, j] = (g_up - g_down) / (2 * step)
    assert np.allclose(hess, fd, rtol=1e-5, atol=1e-7 * np.abs(hess).max())
    rep = cldyn.analyze(x, xp, w, activation="relu", loss=loss, tau=tau)
    assert np.allclose(rep["loss_hessian"][1], hess, rtol=1e-12, atol=1e-14)
    if loss == "quadratic":
        n = x.shape[0]
        assert np.allclose(hess, -2 * n * n * cldyn.gated_covariance(x, xp, w[:, 1], "relu"), rtol=1e-10,
                           atol=1e-12)


# ---- the latent model and its population ----------------------------------------------------------

def normal_cdf(a):
    return 0.5 * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))


def normal_pdf(a):
    return np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)


def relu_population(x0, p, sigma, w):
    """g and mu~ of a ReLU node over support points (rows of x0), theory.md section 4."""
    m = x0 @ w
    s = sigma * np.linalg.norm(w)
    a = m / s
    g = s * (a * normal_cdf(a) + normal_pdf(a))
    mu = normal_cdf(a)[:, None] * x0 + sigma * normal_pdf(a)[:, None] * (w / np.linalg.norm(w))[None, :]
    return g, mu


def weighted_cov(p, a, b):
    a = a - p @ a
    b = b - p @ b
    return (p[:, None] * a).T @ b


def test_latent_model_patterns_support_and_samples():
    model = cldyn.LatentModel(d=8, L=3, probabilities=[0.2, 0.3, 0.5], amplitudes=[1.0, 2.0, 0.5], sigma=0.3,
                              seed=4)
    u = model.patterns
    assert u.shape == (8, 3) and np.allclose(u.T @ u, np.eye(3), atol=1e-12)
    assert (model.d, model.L, model.sigma, model.mode) == (8, 3, 0.3, "mixture")
    x0, p = model.support()
    assert x0.shape == (3, 8) and np.allclose(p, [0.2, 0.3, 0.5])
    assert np.allclose(x0, (u * np.array([1.0, 2.0, 0.5])).T, atol=1e-15)
    summation = cldyn.LatentModel(d=8, L=3, probabilities=[0.2, 0.3, 0.5], mode="summation", seed=4)
    x0s, ps = summation.support()
    assert x0s.shape == (8, 8)
    for k in range(8):
        z = [(k >> l) & 1 for l in range(3)]
        assert np.isclose(ps[k], np.prod([q if b else 1 - q for q, b in zip([0.2, 0.3, 0.5], z)]))
        assert np.allclose(x0s[k], summation.patterns @ np.array(z, dtype=float), atol=1e-15)
    s = model.sample(4000, seed=1)
    assert s["X"].shape == (4000, 8) and s["z"].shape == (4000, 3)
    assert np.allclose(s["x0"], x0[s["support_index"]])
    noise = np.concatenate([s["X"] - s["x0"], s["Xp"] - s["x0"]])
    assert abs(noise.std() - 0.3) < 0.01  # 64 000 normal draws: the sd's sd is ~0.3/358
    assert np.array_equal(model.sample(10, seed=1)["X"], model.sample(10, seed=1)["X"])
    with pytest.raises(ValueError, match="mode"):
        cldyn.LatentModel(mode="sum")
    with pytest.raises(ValueError, match="probabilit"):
        cldyn.LatentModel(d=4, L=2, probabilities=[0.5, 0.6])
    with pytest.raises(ValueError, match="patterns: 3 x 2 but d x L = 4 x 2"):
        cldyn.LatentModel(d=4, L=2, patterns=np.ones((3, 2)))


@pytest.mark.parametrize("mode", ["mixture", "summation"])
def test_population_quantities_match_the_closed_forms(mode):
    model = cldyn.LatentModel(d=6, L=3, probabilities=[0.2, 0.3, 0.5], sigma=0.4, mode=mode, seed=2)
    x0, p = model.support()
    w = np.random.default_rng(3).normal(size=6)
    g, mu = relu_population(x0, p, 0.4, w)
    energy = 0.5 * weighted_cov(p, g[:, None], g[:, None])[0, 0]
    a_pop = weighted_cov(p, mu, mu)
    assert math.isclose(cldyn.population_energy(model, w, "relu"), energy, rel_tol=1e-12)
    assert np.allclose(cldyn.population_gated_covariance(model, w, "relu"), a_pop, rtol=1e-11, atol=1e-14)
    grad = cldyn.population_energy_gradient(model, w, "relu")
    assert np.allclose(grad, weighted_cov(p, mu, g[:, None])[:, 0], rtol=1e-11, atol=1e-14)
    assert np.allclose(grad, a_pop @ w, rtol=1e-11, atol=1e-14)  # homogeneity: grad E = A_pop w
    hess = cldyn.population_energy_hessian(model, w, "relu")
    step = 1e-6
    fd = np.column_stack([(cldyn.population_energy_gradient(model, w + step * e, "relu")
                           - cldyn.population_energy_gradient(model, w - step * e, "relu")) / (2 * step)
                          for e in np.eye(6)])
    assert np.allclose(hess["hessian"], fd, rtol=1e-6, atol=1e-8)
    assert np.allclose(hess["hessian"], hess["gated_covariance"] + hess["remainder"], rtol=1e-12, atol=1e-15)
    assert np.allclose(hess["remainder"] @ w, 0, atol=1e-12)
    # A Population built from the support rows is the same population.
    pop = cldyn.Population(x0, p, 0.4)
    assert pop.x0.shape == (x0.shape[0], 6) and pop.S == x0.shape[0] and pop.d == 6
    assert cldyn.population_energy(pop, w, "relu") == cldyn.population_energy(model, w, "relu")
    lin = cldyn.population_gated_covariance(pop, w, "linear")
    assert np.allclose(lin, weighted_cov(p, x0, x0), rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="probabilit"):
        cldyn.Population(x0, p * 2, 0.4)
    with pytest.raises(ValueError, match=r"w: length 5 but d = 6"):
        cldyn.population_energy(model, w[:5])


# ---- landscapes: fixed points, stability, predictions ---------------------------------------------

@pytest.fixture(scope="module")
def mixture():
    return cldyn.LatentModel(d=6, L=3, probabilities=[0.2, 0.3, 0.5], sigma=0.3, seed=1)


def tangent_eigenvalues(hess, w, lam):
    """Eigenvalues of P_perp (H - lambda I) P_perp on the tangent space of the sphere at w."""
    q = np.linalg.svd(np.eye(len(w)) - np.outer(w, w))[0][:, : len(w) - 1]
    return np.sort(np.linalg.eigvalsh(q.T @ (hess - lam * np.eye(len(w))) @ q))[::-1]


def test_population_landscape_certified_fixed_points_and_stability(mixture):
    land = cldyn.PopulationLandscape(mixture, "relu")
    assert land.d == 6 and not land.sign_symmetric and land.patterns.shape == (6, 3)
    w = np.random.default_rng(0).normal(size=6)
    assert land.energy(w) == cldyn.population_energy(mixture, w, "relu")
    assert np.array_equal(land.gradient(w), cldyn.population_energy_gradient(mixture, w, "relu"))
    assert np.allclose(land.hessian(w), cldyn.population_energy_hessian(mixture, w, "relu")["hessian"],
                       rtol=1e-14, atol=0)
    assert land.gate_margin(w) == math.inf
    fp = land.certified_fixed_points(starts=40, seed=2)
    stable = [q for q in fp["points"] if q["stable"]]
    assert fp["starts"] == 40 and len(stable) == 3
    found = sorted(int(np.argmax(mixture.patterns.T @ q["w"])) for q in stable)
    assert found == [0, 1, 2]
    for q in fp["points"]:
        g = cldyn.population_energy_gradient(mixture, q["w"], "relu")  # recomputed: the certificate
        tangent = g - (g @ q["w"]) * q["w"]
        assert np.linalg.norm(tangent) <= 1e-8 * np.linalg.norm(g)
    for q in stable:
        st = land.stability(q["w"])
        assert st["verdict"] == "stable" and st["tangent_eigenvalues"].shape == (5,)
        expected = tangent_eigenvalues(land.hessian(q["w"]), q["w"], st["lambda"])
        assert np.allclose(st["tangent_eigenvalues"], expected, rtol=1e-8, atol=1e-12)
        assert np.all(expected < 0)
        assert st["fd_relative_error"] is not None and st["fd_relative_error"] < 1e-5
        assert math.isclose(st["lambda"], q["lambda"], rel_tol=1e-9)
    # User starts: one per column of W, the first starts.
    user = land.certified_fixed_points(W=mixture.patterns, starts=0)
    assert user["user_starts"] == 3 and len(user["user_nodes"]) == 3


def test_population_predictions_of_critical_points_and_basins(mixture):
    land = cldyn.PopulationLandscape(mixture, "relu")
    pred = land.predict_critical_points(random_directions=16, seed=1)
    assert pred["stable"] == 3 and pred["seeds"].shape[0] == 6
    assert pred["seed_kinds"][:3] == ["pattern"] * 3
    assert pred["stable"] + pred["saddles"] + pred["minima"] + pred["degenerate"] == len(pred["points"])
    for q in pred["points"]:
        ev = tangent_eigenvalues(land.hessian(q["w"]), q["w"], q["lambda"])
        if q["verdict"] == "stable":
            assert q["index"] == 0 and np.all(ev < 0)
        if q["verdict"] == "saddle":
            assert ev.max() > 0 > ev.min() and q["index"] == int((ev > 1e-9 * np.abs(ev).max()).sum())
    basins = land.predict_basins(starts=60, seed=3, widths=[1, 4])
    assert len(basins["fraction"]) == 3 and basins["starts"] == 60
    assert sum(basins["counts"]) + basins["other"] + basins["unconverged"] == 60
    for f, lo, hi in zip(basins["fraction"], basins["low"], basins["high"]):
        assert lo <= f <= hi
    cov1, cov4 = basins["coverage"]
    assert cov1["K"] == 1 and math.isclose(cov1["mean"], sum(basins["fraction"]), rel_tol=1e-12)
    b = np.array(basins["fraction"])
    assert math.isclose(cov4["mean"], float((1 - (1 - b) ** 4).sum()), rel_tol=1e-12)
    assert basins["search"]["random_starts"] == 60
    with pytest.raises(ValueError, match="patterns: required"):
        cldyn.PopulationLandscape(cldyn.Population(*mixture.support(), 0.3), "relu").predict_basins()


def test_sample_landscape_is_the_one_node_network():
    x, xp = views(n=40, d=5, seed=12)
    n = x.shape[0]
    w = np.random.default_rng(13).normal(size=5)
    land = cldyn.SampleLandscape(x, xp, activation="relu", loss="infonce", tau=0.5)
    f, fp = np.maximum(x @ w, 0)[:, None], np.maximum(xp @ w, 0)[:, None]
    assert math.isclose(land.energy(w), -cldyn.loss_value(f, fp, "infonce", tau=0.5) / (2 * n * n), rel_tol=1e-12)
    g = cldyn.one_layer_loss_gradient(x, xp, w[:, None], "relu", "infonce", tau=0.5)[:, 0]
    assert np.allclose(land.gradient(w), -g / (2 * n * n), rtol=1e-10, atol=1e-14)
    alpha = cldyn.pairwise_importance(f, fp, "infonce", tau=0.5)
    assert np.allclose(land.gated_covariance(w), cldyn.gated_covariance(x, xp, w, "relu", alpha), rtol=1e-12,
                       atol=1e-15)
    assert np.allclose(land.hessian(w), -cldyn.one_layer_loss_hessian(x, xp, w[:, None], 0, "relu", "infonce",
                                                                      tau=0.5) / (2 * n * n), rtol=1e-10, atol=1e-14)
    assert land.gate_margin(w) == pytest.approx(np.abs(np.concatenate([x, xp]) @ w).min() / np.linalg.norm(w))
    a = land.certified_fixed_points(starts=8, seed=1)
    b = cldyn.certified_fixed_points(x, xp, activation="relu", loss="infonce", tau=0.5, starts=8, seed=1)
    assert a["converged"] == b["converged"] and len(a["points"]) == len(b["points"])
    for p, q in zip(a["points"], b["points"]):
        assert np.array_equal(p["w"], q["w"])
    with pytest.raises(ValueError, match="patterns: required"):
        land.predict_basins()


def test_infonce_kinks_reach_the_certified_search():
    # The setting of tests/test_certified_infonce.cpp (d = 20, L = 5, sigma = 0.2, N = 64, ReLU,
    # tau = 0.1), with fewer starts: the active-set solver certifies only when asked.
    model = cldyn.LatentModel(d=20, L=5, sigma=0.2, seed=3)
    s = model.sample(64, seed=4)
    runs = {k: cldyn.certified_fixed_points(s["X"], s["Xp"], activation="relu", loss="infonce", tau=0.1,
                                            starts=6, seed=5, infonce_kinks=k) for k in (False, True)}
    assert runs[False]["certified_by"]["active_set"] == 0
    assert runs[True]["certified_by"]["active_set"] > 0
    assert all(p["kind"] == "smooth" for p in runs[False]["points"])
    assert any(p["kind"] == "kink" for p in runs[True]["points"])
    land = cldyn.SampleLandscape(s["X"], s["Xp"], activation="relu", loss="infonce", tau=0.1)
    again = land.certified_fixed_points(starts=6, seed=5, infonce_kinks=True)
    assert again["certified_by"] == runs[True]["certified_by"]


# ---- two-layer networks and co-linearity --------------------------------------------------------

def two_layer_numpy(x, filters, v, activation):
    h = {"linear": lambda u: u, "relu": lambda u: np.maximum(u, 0)}[activation]
    hidden, start = [], 0
    for wk in filters:
        hidden.append(h(x[:, start:start + wk.shape[0]] @ wk))
        start += wk.shape[0]
    f1 = np.concatenate(hidden, axis=1)
    return f1, f1 @ v.T


def energy_numpy(alpha, f, fp):
    """E_alpha = 1/(2N^2) sum_ij alpha_ij (d2_ij - d2_i), d2 = half squared distances."""
    n = f.shape[0]
    d2 = 0.5 * ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    d2_pos = 0.5 * ((f - fp) ** 2).sum(1)
    return (alpha * (d2 - d2_pos[:, None])).sum() / (2 * n * n)


@pytest.fixture
def two_layer():
    rng = np.random.default_rng(20)
    x = rng.normal(size=(18, 7))
    xp = x + 0.2 * rng.normal(size=x.shape)
    filters = [rng.normal(size=(3, 2)), rng.normal(size=(4, 2))]
    v = rng.normal(size=(3, 4))
    return x, xp, filters, v


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_two_layer_energy_and_gradients(two_layer, activation):
    x, xp, filters, v = two_layer
    alpha = random_alpha(18, seed=21)
    f1, f = cldyn.two_layer_forward(x, filters, v, activation)
    f1_np, f_np = two_layer_numpy(x, filters, v, activation)
    assert np.allclose(f1, f1_np, rtol=1e-13, atol=1e-15) and np.allclose(f, f_np, rtol=1e-13, atol=1e-14)
    energy, grad = cldyn.two_layer_energy(x, xp, filters, v, activation, alpha)
    _, fp_np = two_layer_numpy(xp, filters, v, activation)
    assert math.isclose(energy, energy_numpy(alpha, f_np, fp_np), rel_tol=1e-12)
    assert [g.shape for g in grad["filters"]] == [(3, 2), (4, 2)] and grad["top"].shape == (3, 4)

    def e_at(fs, vv):
        return energy_numpy(alpha, two_layer_numpy(x, fs, vv, activation)[1], two_layer_numpy(xp, fs, vv, activation)[1])

    step = 1e-6
    for k, wk in enumerate(filters):
        fd = np.zeros_like(wk)
        for idx in np.ndindex(*wk.shape):
            up = [w.copy() for w in filters]
            down = [w.copy() for w in filters]
            up[k][idx] += step
            down[k][idx] -= step
            fd[idx] = (e_at(up, v) - e_at(down, v)) / (2 * step)
        assert np.allclose(grad["filters"][k], fd, rtol=1e-6, atol=1e-9)
    fd_top = np.zeros_like(v)
    for idx in np.ndindex(*v.shape):
        up, down = v.copy(), v.copy()
        up[idx] += step
        down[idx] -= step
        fd_top[idx] = (e_at(filters, up) - e_at(filters, down)) / (2 * step)
    assert np.allclose(grad["top"], fd_top, rtol=1e-6, atol=1e-9)
    # The loss gradient with alpha differentiated against central differences of the loss.
    lg = cldyn.two_layer_loss_gradient(x, xp, filters, v, activation, "infonce", tau=0.7)

    def loss_at(fs):
        return cldyn.loss_value(two_layer_numpy(x, fs, v, activation)[1], two_layer_numpy(xp, fs, v, activation)[1],
                                "infonce", tau=0.7)

    up = [w.copy() for w in filters]
    down = [w.copy() for w in filters]
    up[1][2, 1] += step
    down[1][2, 1] -= step
    assert math.isclose(lg["filters"][1][2, 1], (loss_at(up) - loss_at(down)) / (2 * step), rel_tol=1e-5)
    with pytest.raises(ValueError, match="column|d"):
        cldyn.two_layer_forward(x[:, :5], filters, v, activation)  # RF sizes sum to 7, X has 5 columns
    with pytest.raises(ValueError):
        cldyn.two_layer_energy(x, xp, filters, v[:, :3], activation)  # V must be p x KM = p x 4


def test_gradient_colinearity_and_filter_diversity_match_numpy(two_layer):
    g = np.random.default_rng(22).normal(size=(5, 3))
    g[:, 2] = -2 * g[:, 0]  # co-linear with column 0
    r = cldyn.gradient_colinearity(g)
    assert np.allclose(r["singular_values"], np.linalg.svd(g, compute_uv=False), rtol=1e-12, atol=1e-14)
    assert r["rank"] == 2 and r["pairs"] == 3
    unit = g / np.linalg.norm(g, axis=0)
    assert np.allclose(r["abs_cos"], np.abs(unit.T @ unit), rtol=1e-12, atol=1e-14)
    assert math.isclose(r["max_one_minus_abs_cos"], 1 - np.abs(unit.T @ unit)[0, 1], rel_tol=1e-12)
    full = np.random.default_rng(24).normal(size=(5, 3))
    div = cldyn.filter_diversity(full)
    s = np.linalg.svd(full / np.linalg.norm(full, axis=0), compute_uv=False)
    q = s / s.sum()
    assert math.isclose(div["effective_rank"], math.exp(-(q * np.log(q)).sum()), rel_tol=1e-12)
    assert np.allclose(div["singular_values"], s, rtol=1e-12)
    # Linear h with p = 1: every RF's gradient columns are co-linear (theory section 5, Claim 6).
    x, xp, filters, _ = two_layer
    v1 = np.random.default_rng(23).normal(size=(1, 4))
    for c in cldyn.field_gradient_colinearity(x, xp, filters, v1, "linear"):
        assert c["rank"] == 1 and c["max_one_minus_abs_cos"] < 1e-10
    relu = cldyn.field_gradient_colinearity(x, xp, filters, v1, "relu")
    assert [c["rank"] for c in relu] == [2, 2]
    _, grad = cldyn.two_layer_energy(x, xp, filters, v1, "relu")
    assert np.allclose(relu[1]["singular_values"], np.linalg.svd(grad["filters"][1], compute_uv=False), rtol=1e-12)


# ---- the class model and global modulation ------------------------------------------------------

@pytest.fixture(scope="module")
def classes():
    return cldyn.ClassModel(field_sizes=[3, 4, 3], p1=0.4, q0=0.2, q1=0.8, sigma=0.3, seed=6)


def class_filters(model, seed=7):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=k) for k in model.field_sizes]


def test_class_model_support_and_hidden_covariance(classes):
    x0, z, p = classes.support()
    assert x0.shape == (2 * 4 ** 3, 10) and math.isclose(p.sum(), 1, rel_tol=1e-12)
    assert math.isclose(p[z == 1].sum(), 0.4, rel_tol=1e-12)
    assert classes.field_offsets == [0, 3, 7] and classes.u.shape == (10, 3)
    assert math.isclose(classes.q_bar, 0.6 * 0.2 + 0.4 * 0.8)
    w = class_filters(classes)
    g = np.column_stack([relu_population(x0[:, o:o + len(wk)], p, 0.3, wk)[0]
                         for o, wk in zip(classes.field_offsets, w)])
    hid = cldyn.hidden_covariance(classes, w, "relu")
    assert np.allclose(hid, weighted_cov(p, g, g), rtol=1e-11, atol=1e-14)
    x, xp, zs = classes.sample(500, seed=2)
    assert x.shape == (500, 10) and set(np.unique(zs)) <= {0, 1}
    with pytest.raises(ValueError, match="u and v"):
        cldyn.ClassModel(u=np.zeros((24, 4)))


def test_global_modulation_fields(classes):
    w = class_filters(classes)
    gm = cldyn.global_modulation(classes, w, "relu")
    assert gm["status"] == "success"
    hid = cldyn.hidden_covariance(classes, w, "relu")
    vals, vecs = np.linalg.eigh(hid)
    assert math.isclose(gm["lambda"], vals[-1], rel_tol=1e-10)
    assert abs(abs(gm["s"] @ vecs[:, -1]) - 1) < 1e-10
    assert np.allclose(hid, np.diag(gm["d"]) + gm["p0"] * gm["p1"] * np.outer(gm["b"], gm["b"]), rtol=1e-10,
                       atol=1e-14)
    at_s = cldyn.modulated_covariance(classes, w, gm["s"], "relu")
    for k in range(3):
        assert np.allclose(at_s[k], gm["modulated"][k], rtol=1e-10, atol=1e-14)
    s = np.array([0.5, -0.3, 0.8])
    mod = cldyn.modulated_covariance(classes, w, s, "relu")
    generic = cldyn.generic_field(classes, w, s, "relu")
    through_gradient = cldyn.two_layer_population_field(classes, w, s, "relu")
    for k in range(3):
        assert np.allclose(mod[k] @ w[k], generic[k], rtol=1e-10, atol=1e-13)
        assert np.allclose(through_gradient[k], generic[k], rtol=1e-9, atol=1e-12)
    degenerate = cldyn.ClassModel(field_sizes=[3, 3], p1=0.0, seed=1)
    out = cldyn.global_modulation(degenerate, class_filters(degenerate), "relu")
    assert out["status"] == "not_converged" and out["message"]
    with pytest.raises(ValueError, match="w: 2 filters but the model has K = 3"):
        cldyn.global_modulation(classes, w[:2])


def test_analysis_calls_release_the_gil(ticks_during):
    land = cldyn.PopulationLandscape(cldyn.LatentModel(d=20, L=5, sigma=0.2, seed=1), "relu")
    starts = 400
    while True:  # a call long enough to see (at least 0.3 s here)
        t0 = time.perf_counter()
        land.predict_basins(starts=starts, seed=1)
        if time.perf_counter() - t0 >= 0.3 or starts >= 51200:
            break
        starts *= 2
    elapsed, ticks = ticks_during(lambda: land.predict_basins(starts=starts, seed=1), settle=0.02)
    # With the GIL held for the whole call, this loop could not run until the call returned.
    assert elapsed > 0.1 and ticks > 5000, (starts, elapsed, ticks)
