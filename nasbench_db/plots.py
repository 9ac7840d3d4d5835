"""Figures of the NB-101 paper's kind, drawn with matplotlib's Agg backend (no display needed) into PNG/PDF/SVG files.

* :func:`plot_ecdf`: empirical CDFs of accuracies over every config (the paper's Figure 2);
* :func:`plot_scatter`: a metric against parameters or training time (Figures 3-4); hexagonal bins above 20,000
  points, so 423,624 cells stay readable;
* :func:`plot_pareto`: a metric against a cost (latency, energy, parameters, FLOPs...) with the Pareto front;
* :func:`plot_regret`: median test regret over simulated time with an interquartile band, one curve per search
  result of :func:`nasbench_db.search.run_search` (Figure 7).

The data come from one SQL statement each (:func:`nasbench_db.analysis.metric_columns`).
"""

from __future__ import annotations

import json
import math
import os

from .analysis import check_benchmark, metric_columns
from .errors import InvalidArgument, MissingDependency

#: Readable axis labels (units as stored).
LABELS = {
    "train_acc": "train accuracy (%)", "valid_acc": "validation accuracy (%)", "test_acc": "test accuracy (%)",
    "ori_test_acc": "original test-set accuracy (%)", "parameters": "parameters (millions)",
    "flops": "FLOPs (millions)", "training_time": "training time (s)", "latency": "latency (s)",
    "final_test_acc": "final test accuracy (%)", "final_train_acc": "final train accuracy (%)",
    "best_test_acc": "best test accuracy (%)", "halfway_valid_acc": "halfway validation accuracy (%)",
    "halfway_test_acc": "halfway test accuracy (%)",
    # HW-NAS-Bench (NB-201 space) and NASLib's zero-cost cost counts
    "edgegpu_latency": "edge GPU latency (ms)", "edgegpu_energy": "edge GPU energy (mJ)",
    "raspi4_latency": "Raspberry Pi 4 latency (ms)", "edgetpu_latency": "Edge TPU latency (ms)",
    "pixel3_latency": "Pixel 3 latency (ms)", "eyeriss_latency": "Eyeriss latency (ms)",
    "eyeriss_energy": "Eyeriss energy (mJ)", "eyeriss_arithmetic_intensity": "Eyeriss arithmetic intensity",
    "fpga_latency": "FPGA latency (ms)", "fpga_energy": "FPGA energy (mJ)",
    "zc_flops": "NASLib FLOPs (millions)", "zc_params": "NASLib parameters (millions)",
}
HEXBIN_ABOVE = 20_000


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependency("plots need matplotlib: pip install matplotlib "
                                "(or pip install 'nasbench_db[analysis]')") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out) -> str:
    out = os.fspath(out)
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return out


def _subtitle(benchmark, epochs, dataset, count, what="configs") -> str:
    parts = [benchmark]
    if dataset:
        parts.append(dataset)
    if epochs:
        parts.append(f"{epochs} epochs")
    parts.append(f"{count:,} {what}")
    return ", ".join(parts)


def plot_ecdf(benchmark: str = "nb101", out="ecdf.png", metrics=("train_acc", "valid_acc", "test_acc"), *,
              epochs=None, dataset=None, xmin=None, db_dir=None, **filters) -> str:
    """Empirical CDF of each metric (mean over runs per config unless ``reduction=None``) on one axis.

    ``xmin`` cuts the x axis on the left (accuracy distributions have a long tail of failed cells; the paper's
    figure starts at 80 %); the fraction of configs left of the cut is written in the legend. Returns ``out``.
    """
    plt = _pyplot()
    import numpy as np

    benchmark = check_benchmark(benchmark)
    metrics = list(metrics)
    data = metric_columns(benchmark, metrics, epochs=epochs, dataset=dataset, db_dir=db_dir, **filters)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    count = 0
    for metric in metrics:
        values = np.sort(np.array([v for v in data[metric] if v is not None], dtype=float))
        if values.size == 0:
            continue
        count = max(count, values.size)
        fraction = np.arange(1, values.size + 1) / values.size
        label = LABELS.get(metric, metric)
        if xmin is not None:
            cut = float(np.mean(values < xmin))
            if cut > 0:
                label += f" ({cut:.1%} below {xmin:g})"
        ax.step(values, fraction, where="post", label=label, linewidth=1.6)
    if count == 0:
        plt.close(fig)
        raise InvalidArgument("no values to plot: the filters match no config")
    if xmin is not None:
        ax.set_xlim(left=xmin)
    ax.set_ylim(0, 1)
    ax.set_xlabel("accuracy (%)" if all(m.endswith("_acc") for m in metrics) else ", ".join(metrics))
    ax.set_ylabel("fraction of configs")
    ax.set_title("Empirical CDF\n" + _subtitle(benchmark, epochs, dataset, count), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return _save(fig, out)


def plot_scatter(benchmark: str = "nb101", out="scatter.png", x: str = "parameters", y: str = "test_acc", *,
                 epochs=None, dataset=None, logx: bool | None = None, ymin=None, db_dir=None, **filters) -> str:
    """``y`` against ``x`` over every config (means over runs); hexagonal bins (log colour scale) above 20,000
    points. ``logx`` defaults to True for parameters and FLOPs. ``ymin`` cuts the y axis. Returns ``out``."""
    plt = _pyplot()
    import numpy as np

    benchmark = check_benchmark(benchmark)
    if x == y:
        raise InvalidArgument(f"x and y must differ: both are {x!r}")
    data = metric_columns(benchmark, [x, y], epochs=epochs, dataset=dataset, db_dir=db_dir, **filters)
    pairs = [(a, b) for a, b in zip(data[x], data[y]) if a is not None and b is not None]
    if not pairs:
        raise InvalidArgument("no values to plot: the filters match no config")
    xs = np.array([p[0] for p in pairs], dtype=float)
    ys = np.array([p[1] for p in pairs], dtype=float)
    if logx is None:
        logx = x in ("parameters", "flops") and bool(np.all(xs > 0))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if xs.size > HEXBIN_ABOVE:
        keep = ys >= ymin if ymin is not None else np.ones_like(ys, dtype=bool)
        hb = ax.hexbin(xs[keep], ys[keep], gridsize=80, bins="log", cmap="viridis", mincnt=1,
                       xscale="log" if logx else "linear")
        fig.colorbar(hb, ax=ax, label="configs per bin")
    else:
        ax.scatter(xs, ys, s=6, alpha=0.5, linewidths=0)
        if logx:
            ax.set_xscale("log")
    if ymin is not None:
        ax.set_ylim(bottom=ymin)
    ax.set_xlabel(LABELS.get(x, x))
    ax.set_ylabel(LABELS.get(y, y))
    ax.set_title(f"{LABELS.get(y, y)} vs {LABELS.get(x, x)}\n" + _subtitle(benchmark, epochs, dataset, xs.size),
                 fontsize=10)
    ax.grid(True, alpha=0.3)
    return _save(fig, out)


def plot_pareto(benchmark: str = "nb201", out="pareto.png", cost: str = "parameters", metric: str | None = None, *,
                maximize: bool = True, epochs=None, dataset=None, logx: bool | None = None, db_dir=None,
                **filters) -> str:
    """Every config as a point of ``metric`` against ``cost`` (means over runs), with its Pareto front drawn as a
    staircase (:func:`nasbench_db.analysis.pareto_front`: lowest cost, best metric). ``logx`` defaults to True for
    parameters and FLOPs. One SQL statement. Returns ``out``."""
    from .analysis import _pareto

    plt = _pyplot()
    import numpy as np

    benchmark = check_benchmark(benchmark)
    front, points, metric = _pareto(benchmark, cost, metric, maximize,
                                    dict(filters, epochs=epochs, dataset=dataset, db_dir=db_dir))
    if not points:
        raise InvalidArgument("no values to plot: the filters match no config with both values")
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    if logx is None:
        logx = cost in ("parameters", "flops") and bool(np.all(xs > 0))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if xs.size > HEXBIN_ABOVE:
        hb = ax.hexbin(xs, ys, gridsize=80, bins="log", cmap="Greys", mincnt=1, xscale="log" if logx else "linear")
        fig.colorbar(hb, ax=ax, label="configs per bin")
    else:
        ax.scatter(xs, ys, s=6, alpha=0.35, linewidths=0, color="0.45", label=f"{xs.size:,} configs")
        if logx:
            ax.set_xscale("log")
    fx = [row[cost] for row in front]
    fy = [row[metric] for row in front]
    ax.step(fx, fy, where="post", color="tab:red", linewidth=1.6)
    ax.scatter(fx, fy, s=18, color="tab:red", zorder=3, label=f"Pareto front ({len(front)} configs)")
    ax.set_xlabel(LABELS.get(cost, cost))
    ax.set_ylabel(LABELS.get(metric, metric))
    ax.set_title(f"{LABELS.get(metric, metric)} vs {LABELS.get(cost, cost)}\n"
                 + _subtitle(benchmark, epochs, dataset, xs.size), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right" if maximize else "upper right")
    return _save(fig, out)


def load_result(source) -> dict:
    """A search result: a dict from :func:`run_search`, or the path of its JSON file."""
    if isinstance(source, dict):
        return source
    with open(source, encoding="utf-8") as handle:
        try:
            result = json.load(handle)
        except ValueError as exc:
            raise InvalidArgument(f"{source}: not a JSON search result ({exc})") from None
    if not isinstance(result, dict) or "summary" not in result or "rollouts" not in result:
        raise InvalidArgument(f"{source}: not a search result (no 'summary' / 'rollouts'); write one with "
                              "nasbench-db search ... --out FILE.json")
    return result


def plot_regret(results, out="regret.png", labels=None, *, title=None) -> str:
    """Median immediate test regret (line) and its 25-75th percentile band over simulated time, log-log, one curve
    per result (a :func:`run_search` dict or its JSON file). Returns ``out``."""
    plt = _pyplot()
    import numpy as np

    results = [load_result(r) for r in (results if isinstance(results, (list, tuple)) else [results])]
    if not results:
        raise InvalidArgument("give at least one search result")
    if labels is not None and len(labels) != len(results):
        raise InvalidArgument(f"{len(labels)} labels for {len(results)} results")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    plotted = 0
    for i, result in enumerate(results):
        summary = result["summary"]
        t = np.array(summary["time"], dtype=float)
        if t.size == 0:
            continue

        def column(name):
            return np.array([math.nan if v is None else v for v in summary[name]], dtype=float)

        q25, median, q75 = column("q25"), column("median"), column("q75")
        runs = len(result["rollouts"])
        label = labels[i] if labels else f"{result.get('algo_name', result.get('algo', 'search'))} ({runs} runs)"
        # Regret 0 (the best cell found) cannot sit on a log axis: draw it at the axis floor.
        floor = 1e-3
        line = ax.plot(t, np.maximum(median, floor), label=label, linewidth=1.8)[0]
        ax.fill_between(t, np.maximum(q25, floor), np.maximum(q75, floor), color=line.get_color(), alpha=0.2,
                        linewidth=0)
        plotted += 1
    if not plotted:
        plt.close(fig)
        raise InvalidArgument("the results hold no rollout with a completed query")
    first = results[0]
    reference = first.get("reference", {}).get("best_mean_test_acc")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("simulated training time (s)")
    ax.set_ylabel("test regret (percentage points)")
    sim = first.get("simulator", {})
    default_title = f"Immediate test regret, {first.get('benchmark', '')}"
    if sim.get("epochs"):
        default_title += f", {sim['epochs']} epochs"
    if sim.get("dataset"):
        default_title += f", {sim['dataset']}"
    if reference is not None:
        default_title += f"\nmedian and interquartile range; reference: best mean test accuracy {reference:.3f} %"
    ax.set_title(title or default_title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, out)
