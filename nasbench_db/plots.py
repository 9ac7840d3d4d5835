"""Figures of the NB-101 paper's kind, drawn with matplotlib's Agg backend (no display needed) into PNG/PDF/SVG files.

* :func:`plot_ecdf`: empirical CDFs of accuracies over every config (the paper's Figure 2);
* :func:`plot_scatter`: a metric against parameters or training time (Figures 3-4); hexagonal bins above 20,000
  points, so 423,624 cells stay readable;
* :func:`plot_pareto`: a metric against a cost (latency, energy, parameters, FLOPs...) with the Pareto front;
* :func:`plot_regret`: median test regret over simulated time with an interquartile band, one curve per search
  result of :func:`nasbench_db.search.run_search` (Figure 7).

The data come from one SQL statement each (:func:`nasbench_db.analysis.metric_columns`).

Nothing is pooled silently: an ECDF or scatter plot of NB-201 / NATS / NDS needs a ``dataset`` (each is another task),
and without ``epochs`` the benchmark's longest budget is plotted (:data:`DEFAULT_EPOCHS`, named in the title).
Regret curves of different benchmarks or settings go to separate panels, each titled with what it shows. Log axes
label their decades only (minor labels overlap), and markers scale with the number of points.
"""

from __future__ import annotations

import json
import math
import os

from .analysis import check_benchmark, metric_columns
from .db import DISPLAY_NAMES
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
#: benchmarks whose results differ by dataset: a plot needs one
DATASET_BENCHMARKS = {"nb201": ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120"),
                      "nats_sss": ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120"),
                      "nds": ("cifar10", "imagenet")}
#: the budget plotted when no ``epochs`` is given (the benchmark's longest; NDS has one schedule per sweep)
DEFAULT_EPOCHS = {"nb101": 108, "nb201": 200, "nats_sss": 90}


def plot_filters(benchmark: str, epochs=None, dataset=None) -> tuple:
    """``(epochs, dataset, note)`` a plot uses: a dataset is required where results differ by dataset, and a missing
    ``epochs`` becomes the benchmark's longest budget, said in ``note`` (None when nothing was chosen for the
    caller)."""
    benchmark = check_benchmark(benchmark)
    if dataset is None and benchmark in DATASET_BENCHMARKS:
        raise InvalidArgument(f"a {benchmark} plot needs a dataset (pooling them would mix different tasks): give "
                              f"dataset= / --dataset, one of {', '.join(DATASET_BENCHMARKS[benchmark])}")
    note = None
    if epochs is None and benchmark in DEFAULT_EPOCHS:
        epochs = DEFAULT_EPOCHS[benchmark]
        note = (f"no epochs given: plotting the {epochs}-epoch budget of {benchmark} (the longest; choose another "
                "with --epochs)")
    return epochs, dataset, note


def _decade_labels(ax, axis: str = "x") -> None:
    """Readable labels on a log axis (call after plotting): matplotlib labels minor ticks on short ranges, and those
    labels overlap. Up to two decades: 1, 2, 5 x 10^k written plainly; wider: the decades only."""
    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    low, high = ax.get_xlim() if axis == "x" else ax.get_ylim()
    target.set_minor_formatter(NullFormatter())
    if low > 0 and high / low <= 100:
        target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    else:
        target.set_major_locator(LogLocator(base=10, numticks=8))
        target.set_major_formatter(LogFormatterSciNotation())


def _marker_size(count: int) -> float:
    """Scatter marker area (points^2): readable for a few points, still separable for thousands."""
    if count <= 200:
        return 36.0
    if count <= 2000:
        return 18.0
    return 10.0


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
    epochs, dataset, _ = plot_filters(benchmark, epochs, dataset)
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
    epochs, dataset, _ = plot_filters(benchmark, epochs, dataset)
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
        ax.scatter(xs, ys, s=_marker_size(xs.size), alpha=0.6 if xs.size > 200 else 0.85, linewidths=0.4,
                   edgecolors="white")
    if logx:
        ax.set_xscale("log")
        _decade_labels(ax, "x")
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
    epochs, dataset, _ = plot_filters(benchmark, epochs, dataset)
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
        ax.scatter(xs, ys, s=_marker_size(xs.size), alpha=0.5 if xs.size > 200 else 0.8, linewidths=0.4,
                   edgecolors="white", color="0.45", label=f"{xs.size:,} configs")
    if logx:
        ax.set_xscale("log")
        _decade_labels(ax, "x")
    fx = [row[cost] for row in front]
    fy = [row[metric] for row in front]
    ax.step(fx, fy, where="post", color="tab:red", linewidth=1.6)
    ax.scatter(fx, fy, s=max(24.0, _marker_size(xs.size)), color="tab:red", zorder=3,
               label=f"Pareto front ({len(front)} configs)")
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


def _regret_group(result: dict) -> tuple:
    """What a regret curve is measured on: results with different keys cannot share an axis."""
    sim = result.get("simulator", {})
    return (result.get("benchmark", "?"), sim.get("epochs"), sim.get("dataset"), sim.get("test_dataset"))


def _group_title(key: tuple, reference) -> str:
    benchmark, epochs, dataset, test_dataset = key
    parts = [DISPLAY_NAMES.get(benchmark, benchmark)]
    if dataset:
        parts.append(dataset if not test_dataset or test_dataset == dataset else f"{dataset} -> {test_dataset}")
    if epochs:
        parts.append(f"{epochs} epochs")
    title = ", ".join(parts)
    if reference is not None:
        title += f"\nreference: best mean test accuracy {reference:.3f} %"
    return title


def plot_regret(results, out="regret.png", labels=None, *, title=None) -> str:
    """Median immediate test regret (line) and its 25-75th percentile band over simulated time, log-log, one curve
    per result (a :func:`run_search` dict or its JSON file). Returns ``out``.

    Results of different benchmarks (or epochs / datasets) are drawn in separate panels, each titled with its
    benchmark, dataset, budget and regret reference; curves that would carry the same label in a panel get their
    file name (or number) added, so no two curves look alike in the legend.
    """
    plt = _pyplot()
    import numpy as np

    sources = list(results) if isinstance(results, (list, tuple)) else [results]
    results = [load_result(r) for r in sources]
    if not results:
        raise InvalidArgument("give at least one search result")
    if labels is not None and len(labels) != len(results):
        raise InvalidArgument(f"{len(labels)} labels for {len(results)} results")
    groups: dict = {}
    for i, result in enumerate(results):
        groups.setdefault(_regret_group(result), []).append(i)
    names = []
    for i, (result, source) in enumerate(zip(results, sources)):
        if labels:
            names.append(labels[i])
        else:
            names.append(f"{result.get('algo_name', result.get('algo', 'search'))} ({len(result['rollouts'])} runs)")
    if not labels:
        for members in groups.values():
            seen: dict = {}
            for i in members:
                seen.setdefault(names[i], []).append(i)
            for same in seen.values():
                if len(same) > 1:
                    tags = [os.path.basename(sources[i]) if isinstance(sources[i], (str, os.PathLike)) else ""
                            for i in same]
                    for i, tag in zip(same, tags):
                        names[i] += f" [{tag}]" if tag and tags.count(tag) == 1 else f" [result {i + 1}]"
    fig, axes = plt.subplots(1, len(groups), figsize=(6.4 * len(groups), 4.4), squeeze=False)
    plotted = 0
    for ax, (key, members) in zip(axes[0], groups.items()):
        for i in members:
            summary = results[i]["summary"]
            t = np.array(summary["time"], dtype=float)
            if t.size == 0:
                continue

            def column(name):
                return np.array([math.nan if v is None else v for v in summary[name]], dtype=float)

            q25, median, q75 = column("q25"), column("median"), column("q75")
            # Regret 0 (the best cell found) cannot sit on a log axis: draw it at the axis floor.
            floor = 1e-3
            line = ax.plot(t, np.maximum(median, floor), label=names[i], linewidth=1.8)[0]
            ax.fill_between(t, np.maximum(q25, floor), np.maximum(q75, floor), color=line.get_color(), alpha=0.2,
                            linewidth=0)
            plotted += 1
        ax.set_xscale("log")
        ax.set_yscale("log")
        _decade_labels(ax, "x")
        _decade_labels(ax, "y")
        ax.set_xlabel("simulated training time (s)")
        ax.set_ylabel("test regret (percentage points)")
        reference = results[members[0]].get("reference", {}).get("best_mean_test_acc")
        ax.set_title(_group_title(key, reference), fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if not plotted:
        plt.close(fig)
        raise InvalidArgument("the results hold no rollout with a completed query")
    fig.suptitle(title or "Immediate test regret: median and interquartile range", fontsize=11)
    fig.tight_layout()
    return _save(fig, out)
