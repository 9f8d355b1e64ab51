"""cldyn: the training dynamics of contrastive learning (Tian, ICLR 2023) in Python.

The functions here run the C++ library cldyn on NumPy arrays (no second implementation of any
formula). Shapes follow the library: views ``X``, ``Xp`` are N x d, weights ``W`` are d x K (one
node per column), or K x d with ``layout="Kd"`` (PyTorch's ``nn.Linear.weight``). Any float
dtype and memory order is accepted: float64 arrays in the library's column-major layout are read
in place where the C++ function takes a view, everything else is converted once (docs/python.md,
"Conventions"). Bad input raises ``ValueError``
with the same message as the command-line tools. Long calls release the GIL.

See docs/python.md for the guide and the mapping to the C++ API.
"""
from ._cldyn import (  # noqa: F401
    __version__,
    git_hash,
    contrastive_covariance,
    pairwise_importance,
    loss_value,
    one_layer_energy,
    one_layer_loss_gradient,
    analyze as _analyze,
    certified_fixed_points,
    token_run,
    # the analysis layer (python/src/analysis.cpp)
    gated_covariance,
    top_eigenpairs,
    gated_covariance_top_eigenpairs,
    one_layer_loss_hessian,
    LatentModel,
    Population,
    population_energy,
    population_gated_covariance,
    population_energy_gradient,
    population_energy_hessian,
    NodeLandscape,
    PopulationLandscape,
    SampleLandscape,
    two_layer_forward,
    two_layer_energy,
    two_layer_loss_gradient,
    gradient_colinearity,
    field_gradient_colinearity,
    filter_diversity,
    ClassModel,
    global_modulation,
    modulated_covariance,
    hidden_covariance,
    generic_field,
    two_layer_population_field,
)

__all__ = [
    "__version__",
    "contrastive_covariance",
    "pairwise_importance",
    "loss_value",
    "one_layer_energy",
    "one_layer_loss_gradient",
    "analyze",
    "certified_fixed_points",
    "token_run",
    "gated_covariance",
    "top_eigenpairs",
    "gated_covariance_top_eigenpairs",
    "one_layer_loss_hessian",
    "LatentModel",
    "Population",
    "population_energy",
    "population_gated_covariance",
    "population_energy_gradient",
    "population_energy_hessian",
    "NodeLandscape",
    "PopulationLandscape",
    "SampleLandscape",
    "two_layer_forward",
    "two_layer_energy",
    "two_layer_loss_gradient",
    "gradient_colinearity",
    "field_gradient_colinearity",
    "filter_diversity",
    "ClassModel",
    "global_modulation",
    "modulated_covariance",
    "hidden_covariance",
    "generic_field",
    "two_layer_population_field",
    "from_torch",
    "checks",
]


def __getattr__(name):
    # cldyn.checks (every check's computation, in-process) is imported on first use: it is a
    # second extension module, built when the experiments are (python/CMakeLists.txt).
    if name == "checks":
        import importlib

        return importlib.import_module(".checks", __name__)
    raise AttributeError(f"module 'cldyn' has no attribute {name!r}")


def analyze(X, Xp, W, *, activation, loss, tau=None, eps=None, layout="dK", negatives="view1",
            distance="raw", top_tolerance=1e-8, top_k=3, alpha=True, hessian=True,
            find_fixed_points=False, starts=64, seed=0, fixed_point_tolerance=1e-8,
            infonce_kinks=True):
    """The one-layer analysis of cldyn-analyze at views X, Xp and weights W.

    Parameters
    ----------
    X, Xp : array_like, shape (N, d)
        The two views (N >= 2 samples).
    W : array_like, shape (d, K), or (K, d) with ``layout="Kd"``
        The weights, one node per column (``"dK"``) or per row (``"Kd"``, PyTorch).
    activation : str
        ``"linear"``, ``"relu"`` or ``"leaky:GAMMA"``.
    loss : str
        ``"quadratic"`` or ``"infonce"`` (then ``tau`` is required, ``eps`` defaults to 1).
    negatives, distance : str
        The convention (docs/theory.md, "Matching your training to cldyn"): ``"view1"`` or
        ``"both"``; ``"raw"`` or ``"normalized"``.
    find_fixed_points : bool
        Also search the one-node sample landscape for certified fixed points (``starts`` random
        starts from ``seed`` plus one per column of W; certificate tolerance
        ``fixed_point_tolerance``).
    infonce_kinks : bool
        With ``find_fixed_points`` under InfoNCE and a ReLU / leaky ReLU: also run the active-set
        solver and the kink certificate (on by default, as ``cldyn-analyze --infonce-kinks``).

    Returns
    -------
    dict
        Exactly the fields of ``cldyn-analyze``'s JSON (``alpha``, ``energy``, ``loss``,
        ``input_covariance``, ``gated_covariance``, ``energy_gradient``, ``loss_gradient``,
        ``loss_hessian``, ``top_eigenvectors``, ``nodes``, ``fixed_points``, ...); matrices are
        NumPy arrays (``gated_covariance``: K x d x d; gradients: d x K).
    """
    return _analyze(X, Xp, W, activation=activation, loss=loss, tau=tau, eps=eps, layout=layout,
                    negatives=negatives, distance=distance, top_tolerance=top_tolerance,
                    top_k=top_k, alpha=alpha, hessian=hessian,
                    find_fixed_points=find_fixed_points, starts=starts, seed=seed,
                    fixed_point_tolerance=fixed_point_tolerance, infonce_kinks=infonce_kinks)


def from_torch(obj):
    """A NumPy float64 array from a PyTorch tensor, parameter or ``nn.Linear`` (its weight, K x d).

    PyTorch is optional: this imports it only when called. Pass the result with ``layout="Kd"``
    when it is an ``nn.Linear`` weight.
    """
    import numpy as np

    weight = getattr(obj, "weight", None)
    if weight is not None and not callable(weight):
        obj = weight
    if hasattr(obj, "detach"):
        obj = obj.detach().cpu().double().numpy()
    return np.asarray(obj, dtype=np.float64)
