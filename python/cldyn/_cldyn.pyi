"""Type stubs of the extension module cldyn._cldyn (python/src/module.cpp)."""
from typing import Any, Optional, Tuple

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
            fixed_point_tolerance: float = 1e-8) -> dict[str, Any]:
    """The fields of cldyn-analyze's JSON at views X, Xp and weights W."""

def certified_fixed_points(X: ArrayLike, Xp: ArrayLike, *, activation: str, loss: str, tau: Optional[float] = None,
                           eps: Optional[float] = None, W: Optional[ArrayLike] = None, layout: str = "dK",
                           starts: int = 64, seed: int = 0, tolerance: float = 1e-8) -> dict[str, Any]:
    """Certified fixed points of the one-node sample landscape (the fixed_points record of analyze)."""

def token_run(*, T: int = 20, K: int = 10, P: int = 5, G: int = 40, pattern_len: int = 5, aug_degree: int = 5,
              embedding_dim: int = 0, magnitude_split: float = 1.0, beta: float = 5.0, p: int = 50,
              activation: str = "relu", bn: bool = True, bn_grad_mean: bool = True, bn_grad_var: bool = False,
              bias: bool = False, output_activation: bool = False, loss: str = "infonce", tau: float = 0.1,
              lr: float = 0.02, momentum: float = 0.9, wd: float = 0.005, batch: int = 128, steps: int = 5000,
              seed: int = 1, structure_seed: Optional[int] = None, precision: str = "float",
              log_every: int = 50) -> dict[str, Any]:
    """One run of the token-pattern experiment (theory section 6): loc metrics, loss curve, weights."""
