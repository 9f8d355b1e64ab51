"""Train a one-layer ReLU network with InfoNCE in PyTorch, then ask cldyn where its nodes sit.

Data: the mixture model of docs/theory.md §4 (L orthonormal patterns in R^d; a sample is one
pattern plus Gaussian noise; its two views add independent augmentation noise sigma). Training:
K unit-norm ReLU nodes, InfoNCE (tau, eps = 1) on fresh batches, plain gradient descent with
the nodes renormalised after each step (the alpha-CL dynamics on the sphere).

Then, on one large batch of views:
  * cldyn.analyze at the trained weights (layout "Kd": PyTorch's K x d): loss, gradients,
    A(w_k) and whether each node is the top eigenvector of the matrix it induces;
  * cldyn.certified_fixed_points of the one-node sample landscape, for the quadratic loss
    (its kink certificate covers ReLU samples) and for InfoNCE;
and draws each trained node's |cos| to every pattern and to every certified stable point.

    python3 examples/python/train_and_analyze.py --out DIR [--small]
"""
import argparse
import pathlib
import sys

import numpy as np

try:
    import matplotlib
    import torch
except ImportError as e:  # CTest counts exit status 77 as skipped
    print(f"skipped: {e.name} is not installed (Debian python3-torch, python3-matplotlib)")
    sys.exit(77)

import cldyn


def mixture(rng, n, patterns, noise, sigma):
    d, L = patterns.shape
    z = rng.integers(L, size=n)
    x0 = patterns[:, z].T + noise * rng.normal(size=(n, d))
    return x0 + sigma * rng.normal(size=(n, d)), x0 + sigma * rng.normal(size=(n, d))


def infonce(f, fp, tau):
    n = f.shape[0]
    d2 = 0.5 * torch.cdist(f, f) ** 2
    d2_pos = 0.5 * ((f - fp) ** 2).sum(1)
    off = 1.0 - torch.eye(n, dtype=f.dtype)
    z = torch.exp(-d2_pos / tau) + (torch.exp(-d2 / tau) * off).sum(1)
    return (d2_pos + tau * torch.log(z)).sum() / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for the figure and the numbers")
    ap.add_argument("--small", action="store_true", help="seconds-scale sizes (CI)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    d, L, K, tau = 10, 4, 8, 0.5
    # InfoNCE's certified search polishes each start with Newton on the N-sample landscape (a
    # dense Hessian per step), so it gets fewer starts than the quadratic loss's.
    steps, batch, n_analysis, starts, nce_starts = (150, 64, 200, 24, 4) if args.small else (1000, 128, 300, 32, 8)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    patterns = np.linalg.qr(rng.normal(size=(d, L)))[0]

    layer = torch.nn.Linear(d, K, bias=False).double()
    with torch.no_grad():
        layer.weight /= layer.weight.norm(dim=1, keepdim=True)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    for _ in range(steps):
        x, xp = (torch.from_numpy(v) for v in mixture(rng, batch, patterns, 0.05, 0.2))
        loss = infonce(torch.relu(layer(x)), torch.relu(layer(xp)), tau)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            layer.weight /= layer.weight.norm(dim=1, keepdim=True)

    W = cldyn.from_torch(layer)  # K x d
    X, Xp = mixture(rng, n_analysis, patterns, 0.05, 0.2)
    report = cldyn.analyze(X, Xp, W, activation="relu", loss="infonce", tau=tau, eps=1.0, layout="Kd",
                           alpha=False)
    print(f"InfoNCE loss {report['loss']:.4f}, energy {report['energy']:.4g}; "
          f"is_top per node: {[n['is_top'] for n in report['nodes']]}")

    found = {}
    for name, n_starts, kwargs in (("quadratic", starts, {"loss": "quadratic"}),
                                   ("infonce", nce_starts, {"loss": "infonce", "tau": tau})):
        fp = cldyn.certified_fixed_points(X, Xp, activation="relu", W=W, layout="Kd", starts=n_starts,
                                          seed=args.seed, **kwargs)
        stable = [np.asarray(p["w"]) for p in fp["points"] if p["stable"]]
        found[name] = stable
        print(f"{name}: {fp['converged']}/{fp['starts']} starts certified, {len(fp['points'])} points, "
              f"{len(stable)} stable")

    node_pattern = np.abs(W @ patterns)  # K x L
    rows = [node_pattern]
    labels = [f"pattern {l}" for l in range(L)]
    for name, stable in found.items():
        if stable:
            rows.append(np.abs(W @ np.array(stable).T))
            labels += [f"{name} stable {i}" for i in range(len(stable))]
    table = np.hstack(rows)
    np.savetxt(out / "node_cosines.csv", table, delimiter=",", header=",".join(labels), comments="")

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.5, 1.5 + 0.5 * table.shape[1]), 4.5))
    im = ax.imshow(table, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(K), [f"node {k}" for k in range(K)], fontsize=8)
    ax.set_title("Trained ReLU/InfoNCE nodes: |cos| to patterns\nand to certified stable fixed points", fontsize=10)
    fig.colorbar(im, ax=ax, label="|cos|")
    fig.tight_layout()
    fig.savefig(out / "nodes_vs_fixed_points.png", dpi=110)
    print(f"wrote {out / 'nodes_vs_fixed_points.png'} and {out / 'node_cosines.csv'}")


if __name__ == "__main__":
    main()
