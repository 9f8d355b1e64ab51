"""Type stubs of the extension module cldyn._cldyn (python/src/module.cpp)."""
from typing import Any, List, Optional, Sequence, Tuple, Union, overload

import numpy as np
import numpy.typing as npt

ArrayLike = npt.ArrayLike
Array = npt.NDArray[np.float64]

__version__: str
git_hash: str

def contrastive_covariance(X: ArrayLike, Xp: ArrayLike, alpha: Optional[ArrayLike] = None) -> Array:
    """C_alpha[x] (d x d) of views X, Xp (N x d); alpha (N x N, zero diagonal) defaults to all ones."""

def pairwise_importance(F: ArrayLike, Fp: ArrayLike, loss: str = "quadratic", *, tau: Optional[float] = None,
                        eps: Optional[float] = None) -> Array:
    """alpha(F, Fp) (N x N) of the loss at outputs F, Fp (N x p)."""

def loss_value(F: ArrayLike, Fp: ArrayLike, loss: str = "quadratic", *, tau: Optional[float] = None,
               eps: Optional[float] = None) -> float:
    """The loss at outputs F, Fp."""

def one_layer_energy(X: ArrayLike, Xp: ArrayLike, W: ArrayLike, activation: str = "linear",
                     alpha: Optional[ArrayLike] = None, layout: str = "dK") -> Tuple[float, Array]:
    """(E_alpha(W), grad_W E_alpha (d x K)), alpha frozen (default all ones)."""

def one_layer_loss_gradient(X: ArrayLike, Xp: ArrayLike, W: ArrayLike, activation: str = "linear",
                            loss: str = "quadratic", *, tau: Optional[float] = None, eps: Optional[float] = None,
                            layout: str = "dK") -> Array:
    """grad_W L (d x K), alpha differentiated."""

def analyze(X: ArrayLike, Xp: ArrayLike, W: ArrayLike, *, activation: str, loss: str, tau: Optional[float] = None,
            eps: Optional[float] = None, layout: str = "dK", negatives: str = "view1", distance: str = "raw",
            top_tolerance: float = 1e-8, top_k: int = 3, alpha: bool = True, hessian: bool = True,
            find_fixed_points: bool = False, starts: int = 64, seed: int = 0,
            fixed_point_tolerance: float = 1e-8, infonce_kinks: bool = True) -> dict[str, Any]:
    """The fields of cldyn-analyze's JSON at views X, Xp and weights W."""

def certified_fixed_points(X: ArrayLike, Xp: ArrayLike, *, activation: str, loss: str, tau: Optional[float] = None,
                           eps: Optional[float] = None, W: Optional[ArrayLike] = None, layout: str = "dK",
                           starts: int = 64, seed: int = 0, tolerance: float = 1e-8,
                           infonce_kinks: bool = False) -> dict[str, Any]:
    """Certified fixed points of the one-node sample landscape (the fixed_points record of analyze)."""

def token_run(*, T: int = 20, K: int = 10, P: int = 5, G: int = 40, pattern_len: int = 5, aug_degree: int = 5,
              embedding_dim: int = 0, magnitude_split: float = 1.0, beta: float = 5.0, p: int = 50,
              activation: str = "relu", bn: bool = True, bn_grad_mean: bool = True, bn_grad_var: bool = False,
              bias: bool = False, output_activation: bool = False, loss: str = "infonce", tau: float = 0.1,
              lr: float = 0.02, momentum: float = 0.9, wd: float = 0.005, batch: int = 128, steps: int = 5000,
              seed: int = 1, structure_seed: Optional[int] = None, precision: str = "float",
              log_every: int = 50) -> dict[str, Any]:
    """One run of the token-pattern experiment (theory section 6): loc metrics, loss curve, weights."""

# ---- the analysis layer (python/src/analysis.cpp; docstrings there, python/src/docstrings.hpp) ----

def gated_covariance(X: ArrayLike, Xp: ArrayLike, w: ArrayLike, activation: str = "relu",
                     alpha: Optional[ArrayLike] = None) -> Array:
    """A(w) = C_alpha[x~_w] (d x d) of one node at w (length d)."""

def top_eigenpairs(A: ArrayLike, k: int = 1) -> dict[str, Any]:
    """Top-k eigenpairs of a symmetric d x d matrix: values (k), vectors (d x k), residual."""

def gated_covariance_top_eigenpairs(X: ArrayLike, Xp: ArrayLike, w: ArrayLike, k: int = 1,
                                    activation: str = "relu", alpha: Optional[ArrayLike] = None, *, ncv: int = 0,
                                    max_iterations: int = 1000, tolerance: float = 1e-12) -> dict[str, Any]:
    """Top-k eigenpairs of A(w) by Lanczos on the matrix-free operator (1 <= k < d)."""

def one_layer_loss_hessian(X: ArrayLike, Xp: ArrayLike, W: ArrayLike, k: int, activation: str = "linear",
                           loss: str = "quadratic", *, tau: Optional[float] = None, eps: Optional[float] = None,
                           layout: str = "dK") -> Array:
    """grad^2_{w_k} L (d x d), alpha differentiated, gates constant."""

class LatentModel:
    """The latent data model of theory section 4 (mixture or summation)."""
    def __init__(self, *, d: int = 20, L: int = 5, probabilities: Optional[Sequence[float]] = None,
                 amplitudes: Optional[Sequence[float]] = None, sigma: float = 0.2, mode: str = "mixture",
                 seed: int = 0, patterns: Optional[ArrayLike] = None) -> None: ...
    @property
    def patterns(self) -> Array:
        """d x L, column l = u_l."""
    @property
    def d(self) -> int: ...
    @property
    def L(self) -> int: ...
    @property
    def sigma(self) -> float: ...
    @property
    def mode(self) -> str: ...
    @property
    def probabilities(self) -> List[float]: ...
    @property
    def amplitudes(self) -> List[float]: ...
    def support(self) -> Tuple[Array, Array]:
        """(x0 (S x d), probability (S))."""
    def sample(self, n: int, seed: int = 0) -> dict[str, Any]:
        """X, Xp, x0 (n x d), z (n x L), support_index (n)."""

class Population:
    """Support points x0 (S x d, rows) with probabilities and sigma; or Population(model)."""
    @overload
    def __init__(self, x0: ArrayLike, probability: ArrayLike, sigma: float) -> None: ...
    @overload
    def __init__(self, model: LatentModel) -> None: ...
    @property
    def x0(self) -> Array: ...
    @property
    def probability(self) -> Array: ...
    @property
    def sigma(self) -> float: ...
    @property
    def d(self) -> int: ...
    @property
    def S(self) -> int: ...

PopulationLike = Union[Population, LatentModel]

def population_energy(population: PopulationLike, w: ArrayLike, activation: str = "relu") -> float:
    """E(w) = 1/2 Var_{x0}[g(x0; w)]."""

def population_gated_covariance(population: PopulationLike, w: ArrayLike, activation: str = "relu") -> Array:
    """A_pop(w) = Var_{x0}[mu~(x0; w)] (d x d)."""

def population_energy_gradient(population: PopulationLike, w: ArrayLike, activation: str = "relu") -> Array:
    """grad E(w) = A_pop(w) w (d)."""

def population_energy_hessian(population: PopulationLike, w: ArrayLike, activation: str = "relu") -> dict[str, Array]:
    """hessian = gated_covariance + remainder (each d x d)."""

class NodeLandscape:
    """The energy landscape of one node on the unit sphere (theory section 3)."""
    @property
    def d(self) -> int: ...
    @property
    def sign_symmetric(self) -> bool: ...
    @property
    def patterns(self) -> Optional[Array]: ...
    def energy(self, w: ArrayLike) -> float: ...
    def gradient(self, w: ArrayLike) -> Array: ...
    def gated_covariance(self, w: ArrayLike) -> Array: ...
    def hessian(self, w: ArrayLike) -> Array: ...
    def gate_margin(self, w: ArrayLike) -> float: ...
    def stability(self, w: ArrayLike, *, zero_tolerance: float = 1e-9, finite_difference_check: bool = True,
                  fd_step: float = 1e-6) -> dict[str, Any]: ...
    def certified_fixed_points(self, *, W: Optional[ArrayLike] = None, layout: str = "dK", starts: int = 64,
                               seed: int = 0, tolerance: float = 1e-8, kinks: bool = True,
                               infonce_kinks: bool = False) -> dict[str, Any]: ...
    def predict_critical_points(self, *, patterns: Optional[ArrayLike] = None, random_directions: int = 64,
                                seed: int = 0, pairs: bool = True, triples: bool = True,
                                tolerance: float = 1e-8) -> dict[str, Any]: ...
    def predict_basins(self, *, patterns: Optional[ArrayLike] = None, starts: int = 200, seed: int = 0,
                       cos_threshold: float = 0.9, confidence: float = 0.95, tolerance: float = 1e-8,
                       widths: Sequence[int] = ()) -> dict[str, Any]: ...

class PopulationLandscape(NodeLandscape):
    def __init__(self, population: PopulationLike, activation: str = "relu", *,
                 patterns: Optional[ArrayLike] = None) -> None: ...

class SampleLandscape(NodeLandscape):
    def __init__(self, X: ArrayLike, Xp: ArrayLike, *, activation: str, loss: str, tau: Optional[float] = None,
                 eps: Optional[float] = None, patterns: Optional[ArrayLike] = None) -> None: ...

def two_layer_forward(X: ArrayLike, filters: Sequence[ArrayLike], V: ArrayLike,
                      activation: str = "linear") -> Tuple[Array, Array]:
    """(F1 (N x KM), F (N x p))."""

def two_layer_energy(X: ArrayLike, Xp: ArrayLike, filters: Sequence[ArrayLike], V: ArrayLike,
                     activation: str = "linear", alpha: Optional[ArrayLike] = None) -> Tuple[float, dict[str, Any]]:
    """(E_alpha, {"filters": [d_k x M], "top": p x KM}), alpha frozen."""

def two_layer_loss_gradient(X: ArrayLike, Xp: ArrayLike, filters: Sequence[ArrayLike], V: ArrayLike,
                            activation: str = "linear", loss: str = "quadratic", *, tau: Optional[float] = None,
                            eps: Optional[float] = None) -> dict[str, Any]:
    """{"filters": [d_k x M], "top": p x KM}, alpha differentiated."""

def gradient_colinearity(G: ArrayLike, rank_tolerance: float = 1e-10) -> dict[str, Any]: ...

def field_gradient_colinearity(X: ArrayLike, Xp: ArrayLike, filters: Sequence[ArrayLike], V: ArrayLike,
                               activation: str = "linear", alpha: Optional[ArrayLike] = None,
                               rank_tolerance: float = 1e-10) -> List[dict[str, Any]]: ...

def filter_diversity(W: ArrayLike) -> dict[str, Any]: ...

class ClassModel:
    """The two-layer class model of theory section 5."""
    def __init__(self, *, field_sizes: Sequence[int] = (6, 6, 6, 6), p1: float = 0.5, q0: float = 0.1,
                 q1: float = 0.9, sigma: float = 0.3, seed: int = 0, u: Optional[ArrayLike] = None,
                 v: Optional[ArrayLike] = None) -> None: ...
    @property
    def d(self) -> int: ...
    @property
    def K(self) -> int: ...
    @property
    def sigma(self) -> float: ...
    @property
    def field_sizes(self) -> List[int]: ...
    @property
    def field_offsets(self) -> List[int]: ...
    @property
    def q_bar(self) -> float: ...
    @property
    def u(self) -> Array: ...
    @property
    def v(self) -> Array: ...
    def support(self) -> Tuple[Array, npt.NDArray[np.int32], Array]: ...
    def sample(self, n: int, seed: int = 0) -> Tuple[Array, Array, npt.NDArray[np.int32]]: ...

def global_modulation(model: ClassModel, w: Sequence[ArrayLike], activation: str = "relu") -> dict[str, Any]: ...

def modulated_covariance(model: ClassModel, w: Sequence[ArrayLike], s: ArrayLike,
                         activation: str = "relu") -> List[Array]: ...

def hidden_covariance(model: ClassModel, w: Sequence[ArrayLike], activation: str = "relu") -> Array: ...

def generic_field(model: ClassModel, w: Sequence[ArrayLike], s: ArrayLike, activation: str = "relu") -> List[Array]: ...

def two_layer_population_field(model: ClassModel, w: Sequence[ArrayLike], s: ArrayLike,
                               activation: str = "relu") -> List[Array]: ...
