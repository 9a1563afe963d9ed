"""Accuracy benchmark: datasets x methods x seeds, with the shallow pipelines beside.

Every number is computed without labels until the final scoring: models, initialisations and
read-outs are chosen by ganclust's label-free criteria, and all seeds are reported (mean, std,
min), never the best one. Every GAN fit is paired with the same pipeline without the
adversarial game (``adversarial=False``, shown as ``<method> (no GAN)``) unless
``--no-ablation``. The baselines a user would pick instead: k-means, a GMM on PCA-50, t-SNE +
GMM (scikit-learn), an autoencoder's code + t-SNE + GMM (N2D's pipeline), openTSNE + GMM and
UMAP + GMM (the ``bench`` extra: umap-learn, openTSNE).

    python benchmarks/accuracy.py       # digits + mnist10k + blobs + mixture, 5 seeds
    # the protocol for unseen data: also mnist16, mnist-imbalanced, mnist-pca50 and
    # mixture-k5 / -k10 / -k20 (Gaussian mixtures of K components); the same class sizes as
    # mnist-imbalanced in other orders to tune on: mnist-imbalanced-reversed, -shuffled
    python benchmarks/accuracy.py --datasets digits --methods clustergan kmeans --seeds 3
    python benchmarks/accuracy.py --set "clustergan.options={'refine': 0}" --out quick
    # synthetic sets (mixture*, blobs*) drawn anew for every seed, not only the fits
    python benchmarks/accuracy.py --datasets mixture-k10 --vary-data
    python benchmarks/accuracy.py --auto-k  # n_clusters="auto": benchmarks/auto_k.py's flags

Writes benchmarks/results/<out>.json and .md.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import time
import warnings

import numpy as np
import torch
from _common import bayes_accuracy, load_named, provenance, summarise, write_results

from ganclust import CatGAN, ClusterGAN, InfoGAN
from ganclust.estimators import GANClusterer
from ganclust.metrics import clustering_accuracy, evaluate

GANS = {"clustergan": ClusterGAN, "infogan": InfoGAN, "catgan": CatGAN}
BASELINES = ("kmeans", "gmm", "tsne-gmm", "ae-tsne-gmm", "opentsne-gmm", "umap-gmm", "realness")
# the mixture read-out every manifold baseline shares: K components, 10 restarts
GMM_RESTARTS = 10


def _flat(X: np.ndarray) -> np.ndarray:
    flat = X.reshape(len(X), -1).astype(np.float64)
    return flat / 255.0 if X.dtype == np.uint8 else flat


def run_baseline(
    name: str, X: np.ndarray, k: int, seed: int, params: dict[str, object]
) -> np.ndarray:
    """Labels of a baseline clusterer, leaving the process's thread count as it found it.

    umap-learn's numba kernels set the OpenMP thread count of the whole process to the core
    count, torch's included: a ClusterGAN fit run after them in the same process would run on
    more threads than the benchmark was started with, and so differ from a fresh fit of the
    same seed (the float sums change order).
    """
    threads = torch.get_num_threads()
    try:
        return _baseline_labels(name, X, k, seed, params)
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)  # also resets OpenMP's count for scikit-learn


def _baseline_labels(
    name: str, X: np.ndarray, k: int, seed: int, params: dict[str, object]
) -> np.ndarray:
    if name == "kmeans":
        from sklearn.cluster import KMeans

        return KMeans(k, n_init=10, random_state=seed).fit_predict(_flat(X))
    if name == "gmm":
        from sklearn.decomposition import PCA
        from sklearn.mixture import GaussianMixture

        # a full-covariance mixture on raw pixels is degenerate; 50 PCA components is standard
        flat = _flat(X)
        reduced = PCA(min(50, flat.shape[1]), random_state=seed).fit_transform(flat)
        return GaussianMixture(k, n_init=3, random_state=seed).fit_predict(reduced)
    if name == "tsne-gmm":
        # scikit-learn alone, at its defaults: PCA to 50, 2-D t-SNE (1,000 iterations),
        # Gaussian mixture; the pipeline that ganclust's init="tsne" distils into the network
        from sklearn.decomposition import PCA
        from sklearn.manifold import TSNE

        flat = _flat(X)
        reduced = PCA(min(50, flat.shape[1]), random_state=seed).fit_transform(flat)
        embedded = TSNE(2, init="pca", random_state=seed).fit_transform(reduced)
        return _mixture(embedded, k, seed)
    if name == "ae-tsne-gmm":
        # N2D's pipeline: an autoencoder's code, then the t-SNE + mixture above; the autoencoder
        # is ganclust's own (init="autoencoder"), on the data centred to one shared scale
        from sklearn.manifold import TSNE

        from ganclust._autoencoder import autoencoder_code

        flat = _flat(X)
        flat = (flat - flat.mean(axis=0)) / np.sqrt((flat.std(axis=0) ** 2).mean())
        code = autoencoder_code(flat, seed)
        embedded = TSNE(2, init="pca", random_state=seed).fit_transform(code)
        return _mixture(embedded, k, seed)
    if name == "opentsne-gmm":
        # openTSNE's FFT-accelerated t-SNE, 2-D on PCA-50, then the same mixture
        from openTSNE import TSNE
        from sklearn.decomposition import PCA

        flat = _flat(X)
        reduced = PCA(min(50, flat.shape[1]), random_state=seed).fit_transform(flat)
        embedded = np.asarray(TSNE(n_jobs=2, random_state=seed).fit(reduced))
        return _mixture(embedded, k, seed)
    if name == "umap-gmm":
        # UMAP to 10-D with 20 neighbours and min_dist 0 (the clustering settings its
        # documentation recommends), then the mixture
        import umap

        embedded = umap.UMAP(
            n_components=10, n_neighbors=20, min_dist=0.0, random_state=seed
        ).fit_transform(_flat(X))
        return _mixture(embedded, k, seed)
    if name == "realness":
        from realness_baseline import realness_labels

        return realness_labels(X, k, seed, **params)
    raise ValueError(name)


def _mixture(points: np.ndarray, k: int, seed: int) -> np.ndarray:
    from sklearn.mixture import GaussianMixture

    mixture = GaussianMixture(k, n_init=GMM_RESTARTS, random_state=seed)
    return mixture.fit_predict(points)


def parse_overrides(items: list[str]) -> dict[str, dict[str, object]]:
    """``method.param=value`` pairs into {method: {param: value}}."""
    out: dict[str, dict[str, object]] = {}
    for item in items:
        key, _, text = item.partition("=")
        method, _, param = key.partition(".")
        try:
            value: object = ast.literal_eval(text)  # numbers, None, True/False
        except (ValueError, SyntaxError):
            value = text
        out.setdefault(method, {})[param] = value
    return out


def main() -> None:
    if "--auto-k" in sys.argv:  # n_clusters="auto": benchmarks/auto_k.py, with its own flags
        import auto_k

        sys.argv.remove("--auto-k")
        return auto_k.main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist10k", "blobs", "mixture"])
    parser.add_argument("--methods", nargs="+", default=["clustergan", "kmeans", "gmm"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds run are first-seed .. first-seed+seeds-1"
    )
    parser.add_argument("--set", nargs="*", default=[], help="method.param=value overrides")
    parser.add_argument("--out", default="accuracy")
    parser.add_argument(
        "--seed-major", action="store_true", help="all methods' seed 0, then seed 1, ..."
    )
    parser.add_argument(
        "--vary-data",
        action="store_true",
        help="draw a synthetic set (mixture*, blobs*) anew for every seed, with the fit's seed",
    )
    parser.add_argument(
        "--no-ablation",
        action="store_true",
        help="do not pair each GAN fit with the same pipeline without the adversarial game",
    )
    args = parser.parse_args()
    overrides = parse_overrides(args.set)
    # taken once, at the start: the code that runs is the code loaded now, whatever is committed
    # while the benchmark runs
    origin = provenance()
    rows = []
    for dataset in args.datasets:
        vary = args.vary_data and dataset.startswith(SYNTHETIC)
        loaded = load_named(dataset)
        if loaded is None:
            continue
        X, y = loaded
        k = len(np.unique(y))
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        ceilings = [bayes_accuracy(dataset, seed if vary else 0) for seed in seeds]
        ceiling = None if None in ceilings else float(np.mean(ceilings))  # type: ignore[arg-type]
        dataset_name = f"{dataset}{PER_SEED}" if vary else dataset
        methods = [m for m in args.methods if not (m == "realness" and X.ndim == 2)]
        if not args.no_ablation:
            methods += [f"{m}{NO_GAN}" for m in methods if m in GANS]
        if len(methods) < len(args.methods):
            print(f"skipping realness on {dataset}: the article's DCGAN needs images")
        runs_of: dict[str, list[dict]] = {method: [] for method in methods}
        # --seed-major runs every method's seed 0 before any seed 1, so that a run cut short
        # still has as many seeds of each method as of the others
        order = (
            [(m, s) for s in seeds for m in methods]
            if args.seed_major
            else [(m, s) for m in methods for s in seeds]
        )
        for method, seed in order:
            if vary:
                X, y = load_named(dataset, seed)  # type: ignore[misc]
            runs = runs_of[method]
            started = time.perf_counter()
            extra: dict[str, object] = {}
            base = method.removesuffix(NO_GAN)
            if base in GANS:
                params = {"random_state": seed, **overrides.get(base, {})}
                if method.endswith(NO_GAN):
                    params["adversarial"] = False
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = GANS[base](k, **params).fit(X)
                labels = model.labels_
                extra = {
                    # accuracy depends on the seed and the thread count: both make a fit
                    "threads": torch.get_num_threads(),
                    "epochs": model.n_iter_,
                    "init_scores": model.init_scores_.tolist(),
                    "score": float(model.init_scores_[model.best_init_]),
                    "restarts": model.n_restarts_,
                    "phase_seconds": model.phase_seconds_,
                    # per cluster, label-free (NaN, unmeasured, as None): to calibrate its warning
                    "cluster_quality": [
                        None if q != q else round(float(q), 4) for q in model.cluster_quality_
                    ],
                    **read_out_study(model, X, y),
                }
            else:
                labels = run_baseline(method, X, k, seed, overrides.get(method, {}))
            seconds = time.perf_counter() - started
            scores = evaluate(y, labels)
            sizes = np.bincount(labels, minlength=k)
            runs.append(
                {"seed": seed, "seconds": seconds, "sizes": sizes.tolist(), **scores, **extra}
            )
            others = {k: v for k, v in extra.get("read_outs", {}).items() if k != "default"}
            alone = "".join(f" ({k}: {v:.4f})" for k, v in others.items())
            print(
                f"{dataset_name:10s} {method:11s} seed {seed}: ACC {scores['acc']:.4f}{alone} "
                f"NMI {scores['nmi']:.4f} ARI {scores['ari']:.4f} {seconds:7.1f} s",
                flush=True,
            )
            # written after every seed, so an interrupted run keeps what it measured; a row
            # says how many seeds it holds
            row_params = overrides.get(base, {})
            row = make_row(dataset_name, method, len(X), runs, row_params, ceiling)
            _replace_row(rows, row)
            table = format_table(rows, args.seeds)
            payload = {"provenance": origin, "seeds": args.seeds, "rows": rows}
            write_results(args.out, payload, table)
    print(format_table(rows, args.seeds))


# the data sets that --vary-data draws anew for every seed, and the suffix of their rows
SYNTHETIC = ("mixture", "blobs")
PER_SEED = " (data per seed)"
# the suffix of a GAN method's ablation: the same pipeline with adversarial=False
NO_GAN = " (no GAN)"
# the read-outs a fit is also scored with, beside its default: each turns one more part off
READ_OUT_VARIANTS = {
    "no neighbor vote": {"n_neighbors": 0},
    "no vote, no views": {"n_neighbors": 0, "view_strength": 0.0},
}


def read_out_study(model: GANClusterer, X: np.ndarray, y: np.ndarray) -> dict[str, object]:
    """ACC of the same fitted model read its default way and with parts of the read-out off.

    Only the variants that differ from the default are scored: the vote where the model has one,
    the views where the model reads them.
    """
    readout = model.readout_
    data = model.preprocessor_.to_tensor(X)
    scores = {"default": clustering_accuracy(y, model.labels_)}
    for name, change in READ_OUT_VARIANTS.items():
        if "view_strength" in change and readout.view_strength == 0:
            continue
        if readout.n_neighbors == 0:
            continue
        variant = dataclasses.replace(readout, **change)
        scores[name] = clustering_accuracy(y, variant.proba(model.nets_, data).argmax(1).numpy())
    return {"read_outs": scores} if len(scores) > 1 else {}


def _replace_row(rows: list[dict], row: dict) -> None:
    """Put ``row`` in place of the row of the same dataset and method, or append it."""
    for i, old in enumerate(rows):
        if (old["dataset"], old["method"]) == (row["dataset"], row["method"]):
            rows[i] = row
            return
    rows.append(row)


def make_row(
    dataset: str,
    method: str,
    n_samples: int,
    runs: list[dict],
    params: dict[str, object],
    ceiling: float | None,
) -> dict[str, object]:
    """One table row: a method's metrics on a dataset, summarised over the seeds run so far."""
    return {
        "dataset": dataset,
        "method": method,
        "params": params,
        "n_samples": n_samples,
        **{m: summarise([r[m] for r in runs]) for m in ("acc", "nmi", "ari", "seconds")},
        "min_cluster_fraction": summarise([min(r["sizes"]) / n_samples for r in runs]),
        "bayes_acc": ceiling,
        # pairs of seeds are two initialisations of one fit only where the data is the same
        "selection": selection_study(runs) if method in GANS and PER_SEED not in dataset else None,
        "runs": runs,
    }


def selection_study(runs: list[dict]) -> dict[str, float] | None:
    """How well the label-free criterion of ``n_init`` picks among these seeds' runs.

    Each seed is an independent initialisation, so choosing the higher-ranked run of every pair
    of seeds is what ``n_init=2`` does, and choosing among all of them is ``n_init=len(runs)``.
    The rank is ``n_init``'s (``ganclust._fit._rank``): the mean ``cluster_quality_``, then the
    stability score; runs recorded before their quality was kept rank by the score alone.
    Labels enter only here, after the fact, to score the choice against the average run.
    """
    from itertools import combinations

    if len(runs) < 2:
        return None
    ranks = [_criterion(run) for run in runs]
    gains = []
    for (a, rank_a), (b, rank_b) in combinations(zip(runs, ranks, strict=True), 2):
        picked = a if rank_a >= rank_b else b
        gains.append(picked["acc"] - (a["acc"] + b["acc"]) / 2)
    best = runs[max(range(len(runs)), key=ranks.__getitem__)]
    by_quality = all(quality for quality, _ in ranks)
    ranked = [rank[0 if by_quality else 1] for rank in ranks]
    return {
        "pairs": len(gains),
        "pair_gain_mean": float(np.mean(gains)),
        "pair_picked_better_or_equal": float(np.mean([g >= 0 for g in gains])),
        "all_picked_acc": best["acc"],
        "all_mean_acc": float(np.mean([r["acc"] for r in runs])),
        "score_acc_spearman": _spearman(ranked, [r["acc"] for r in runs]),
        "criterion": "quality" if by_quality else "stability",
    }


def _criterion(run: dict) -> tuple[float, float]:
    """``n_init``'s rank of a run: its mean cluster quality (0 unmeasured), then its score."""
    quality = [q for q in run.get("cluster_quality") or [] if q is not None]
    return (float(np.mean(quality)) if quality else 0.0, run["score"])


def _spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0  # undefined (every run tied); scipy would warn and return NaN
    return float(spearmanr(a, b).statistic)


def _phase_table(rows: list[dict]) -> list[str]:
    """Where a GAN fit's time goes: mean seconds per phase over the seeds."""
    timed = [row for row in rows if row["runs"] and "phase_seconds" in row["runs"][0]]
    if not timed:
        return []
    phases = sorted({p for row in timed for r in row["runs"] for p in r["phase_seconds"]})
    lines = [
        "",
        "Phase breakdown: mean seconds per fit.",
        "",
        "| dataset | method | " + " | ".join(phases) + " |",
        "|---|---|" + "---|" * len(phases),
    ]
    for row in timed:
        means = [np.mean([r["phase_seconds"].get(p, 0.0) for r in row["runs"]]) for p in phases]
        cells = " | ".join(f"{m:.1f}" for m in means)
        lines.append(f"| {row['dataset']} | {row['method']} | {cells} |")
    return lines


def _ablation_table(rows: list[dict]) -> list[str]:
    """The GAN's effect: each GAN row against its ``(no GAN)`` row, seed by seed."""
    by_key = {(row["dataset"], row["method"]): row for row in rows}
    pairs = [
        (row, by_key[(row["dataset"], row["method"] + NO_GAN)])
        for row in rows
        if (row["dataset"], row["method"] + NO_GAN) in by_key
    ]
    if not pairs:
        return []
    lines = [
        "",
        "The GAN's effect: each fit against the same pipeline without the adversarial game "
        "(`adversarial=False`), same seeds.",
        "",
        "| dataset | method | ACC with GAN | ACC without | GAN's gain (mean) | seeds up / down |"
        " s / fit with / without |",
        "|---|---|---|---|---|---|---|",
    ]
    for gan, plain in pairs:
        with_gan = {r["seed"]: r["acc"] for r in gan["runs"]}
        without = {r["seed"]: r["acc"] for r in plain["runs"]}
        seeds = sorted(set(with_gan) & set(without))
        gain = np.array([with_gan[s] - without[s] for s in seeds])
        lines.append(
            f"| {gan['dataset']} | {gan['method']} | {gan['acc']['mean']:.4f} | "
            f"{plain['acc']['mean']:.4f} | {gain.mean():+.4f} | "
            f"{int((gain > 0).sum())} / {int((gain < 0).sum())} of {len(gain)} | "
            f"{gan['seconds']['mean']:.1f} / {plain['seconds']['mean']:.1f} |"
        )
    return lines


def format_table(rows: list[dict], seeds: int) -> str:
    """A markdown table of mean ± std (min) over seeds."""

    def cell(stat: dict[str, float]) -> str:
        return f"{stat['mean']:.4f} ± {stat['std']:.4f} ({stat['min']:.4f})"

    lines = [
        f"ACC / NMI / ARI: mean ± std (min) over {seeds} seeds; seconds per fit; smallest cluster "
        "as a fraction of the data (mean).",
        "",
        "| dataset | method | seeds | ACC | NMI | ARI | s / fit | smallest cluster |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['dataset']} | {row['method']} | {len(row['runs'])} | {cell(row['acc'])} | "
            f"{cell(row['nmi'])} | "
            f"{cell(row['ari'])} | {row['seconds']['mean']:.1f} | "
            f"{row['min_cluster_fraction']['mean']:.3f} |"
        )
    ceilings = {row["dataset"]: row["bayes_acc"] for row in rows if row.get("bayes_acc")}
    for dataset, ceiling in ceilings.items():
        lines += ["", f"{dataset}: the true model (Bayes classifier) gets ACC {ceiling:.3f}."]
    studied = [row for row in rows if row["runs"] and "read_outs" in row["runs"][0]]
    if studied:
        lines += [
            "",
            "Read-out: the same fits read their default way (the table above) and with parts "
            "of it off: the neighbor vote (`read_out_neighbors`), then also the shifted views "
            "(`test_time_augmentation`, images only).",
            "",
            "| dataset | method | read-out | ACC | default's gain (mean) | better / worse |",
            "|---|---|---|---|---|---|",
        ]
        for row in studied:
            default = np.array([r["read_outs"]["default"] for r in row["runs"]])
            for name in row["runs"][0]["read_outs"]:
                if name == "default":
                    continue
                other = np.array([r["read_outs"][name] for r in row["runs"]])
                gain = default - other
                lines.append(
                    f"| {row['dataset']} | {row['method']} | {name} | {other.mean():.4f} | "
                    f"{gain.mean():+.4f} | "
                    f"{int((gain > 0).sum())} / {int((gain < 0).sum())} of {len(gain)} |"
                )
    lines += _ablation_table(rows)
    lines += _phase_table(rows)
    studies = [row for row in rows if row.get("selection")]
    if studies:
        lines += [
            "",
            "Label-free model choice (`n_init`), simulated on the seeds above: each pair of seeds "
            "is two initialisations, and `n_init`'s criterion keeps one: the higher mean "
            "`cluster_quality_`, then the higher stability score (runs recorded without their "
            "quality: the score alone); labels score the choice afterwards.",
            "",
            "| dataset | method | ACC gain of the pick over the pair's mean | pick ≥ mean | "
            "pick of all seeds | mean of all seeds | Spearman(criterion, ACC) | criterion |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in studies:
            sel = row["selection"]
            lines.append(
                f"| {row['dataset']} | {row['method']} | {sel['pair_gain_mean']:+.4f} | "
                f"{sel['pair_picked_better_or_equal']:.0%} of {sel['pairs']} | "
                f"{sel['all_picked_acc']:.4f} | {sel['all_mean_acc']:.4f} | "
                f"{sel['score_acc_spearman']:+.2f} | {sel.get('criterion', 'stability')} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
