"""The testbed commands: ``search`` (simulated NAS rollouts), ``top`` (top-k / filters in SQL), ``plot``."""

from __future__ import annotations

import json
import sys

import click

from ._common import SOURCE_HELP, CONTEXT_SETTINGS, cli, db_dir_option, emit, handle_errors, output_options, source_value



def _json_ready(value):
    """NaN (a cell without a test accuracy) becomes null: the file stays standard JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _write_json(result: dict, out) -> None:
    text = json.dumps(_json_ready(result), indent=1, allow_nan=False, default=float)
    if out in (None, "-"):
        click.echo(text)
        return
    with open(out, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _print_summary(result: dict, out) -> None:
    import statistics

    rollouts = result["rollouts"]
    finals = sorted(r["final_regret"] for r in rollouts if r["final_regret"] is not None)
    queries = [r["queries"] for r in rollouts]
    repeats = sum(r["isomorphic_repeats"] for r in rollouts)

    def pct(q):
        if not finals:
            return float("nan")
        return finals[min(len(finals) - 1, int(q * len(finals)))]

    stream = sys.stderr if out in (None, "-") else sys.stdout
    click.echo(f"{result['algo_name']} on {result['benchmark']}: {len(rollouts)} rollouts of "
               f"{result['settings']['budget']:g} simulated s in {result['elapsed_seconds']:.1f} s", file=stream)
    click.echo(f"  final test regret (pp, vs best mean test accuracy {result['reference']['best_mean_test_acc']:.4f} "
               f"%): median {pct(0.5):.4f}, IQR {pct(0.25):.4f} .. {pct(0.75):.4f}", file=stream)
    click.echo(f"  queries per rollout: mean {statistics.mean(queries):.0f}; isomorphic repeats: "
               f"{repeats / max(1, sum(queries)):.1%} of all queries", file=stream)
    if out not in (None, "-"):
        click.echo(f"  wrote {out}", file=stream)


def _search_options(func):
    for option in reversed([
        click.option("--algo", type=click.Choice(["rs", "re", "ls"]), default="re", show_default=True,
                     help="Random search, regularized evolution or local search."),
        click.option("--runs", type=click.IntRange(min=1), default=100, show_default=True,
                     help="Independent rollouts."),
        click.option("--budget", type=float, default=1e7, show_default=True,
                     help="Simulated training seconds per rollout."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Rollout i uses seed SEED + i (for the search and the simulator)."),
        click.option("--population-size", type=click.IntRange(min=1), default=None,
                     help="Regularized evolution: population (default 100, as the NB-101 paper)."),
        click.option("--sample-size", type=click.IntRange(min=1), default=None,
                     help="Regularized evolution: tournament sample (default 10, as the NB-101 paper)."),
        click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                     help="Write the JSON result here ('-' or omitted: stdout); a summary goes to the terminal."),
        click.option("--source", default="original", show_default=True, help=SOURCE_HELP),
    ]):
        func = option(func)
    return func


def _run(sim, algo, runs, budget, seed, population_size, sample_size, out):
    from ..search import run_search

    options = {}
    if algo == "re":
        if population_size is not None:
            options["population_size"] = population_size
        if sample_size is not None:
            options["sample_size"] = sample_size
    elif population_size is not None or sample_size is not None:
        raise click.UsageError("--population-size / --sample-size apply to --algo re only")
    result = run_search(sim, algo, runs=runs, budget=budget, seed=seed, **options)
    _write_json(result, out)
    _print_summary(result, out)


@cli.group(context_settings=CONTEXT_SETTINGS)
def search():
    """Run simulated NAS rollouts on an installed benchmark and record their test regret over time.

    A search sees one random run's validation accuracy per query and pays its training time; the regret is the
    best mean test accuracy in the installed database minus the incumbent's mean test accuracy (percentage points).

    \b
    Example:
        nasbench-db search nb101 --algo re --runs 100 --budget 1e7 --out re.json
        nasbench-db plot regret re.json --out regret.png
    """


@search.command("nb101", context_settings=CONTEXT_SETTINGS)
@_search_options
@click.option("--epochs", type=int, default=108, show_default=True, help="Epoch budget of every query.")
@click.option("--sampling", type=click.Choice(["rejection", "uniform"]), default="rejection", show_default=True,
              help="Random cells: the paper's rejection sampling of 7x7 matrices, or uniform over unique cells.")
@click.option("--dataset", default="cifar10", show_default=True,
              help="Dataset of the runs (another source's, e.g. fashion-mnist, with --source).")
@db_dir_option
@handle_errors
def search_nb101_command(algo, runs, budget, seed, population_size, sample_size, out, source, epochs, sampling,
                         dataset, db_dir):
    """Simulated search on NAS-Bench-101 (the NB-101 paper's protocol, Figure 7).

    Regret reference: the best mean test accuracy over the installed cells (94.3176 % on the full database at 108
    epochs).

    \b
    Example:
        nasbench-db search nb101 --algo re --runs 100 --budget 1e7 --seed 0 --out re.json
        nasbench-db search nb101 --algo rs --runs 100 --budget 1e7 --out rs.json
    """
    from ..search import NB101Simulator

    sim = NB101Simulator(epochs=epochs, seed=seed, db_dir=db_dir, sampling=sampling, source=source_value(source),
                         dataset=dataset)
    _run(sim, algo, runs, budget, seed, population_size, sample_size, out)


@search.command("nb201", context_settings=CONTEXT_SETTINGS)
@_search_options
@click.option("--dataset", default="cifar10-valid", show_default=True,
              help="Dataset whose validation accuracy the search sees.")
@click.option("--test-dataset", default=None, help="Dataset of the regret's test accuracy (default: --dataset).")
@click.option("--epochs", type=int, default=200, show_default=True, help="12 or 200.")
@click.option("--sampling", type=click.Choice(["uniform", "unique"]), default="uniform", show_default=True,
              help="Random cells: uniform over the 15,625 cells or over the 6,466 isomorphism classes.")
@db_dir_option
@handle_errors
def search_nb201_command(algo, runs, budget, seed, population_size, sample_size, out, source, dataset, test_dataset,
                         epochs, sampling, db_dir):
    """Simulated search on NAS-Bench-201 / NATS topology space.

    A query costs the run's training time plus one validation pass (NATS's simulate_train_eval).

    \b
    Example:
        nasbench-db search nb201 --algo re --runs 100 --budget 2e5 --dataset cifar10-valid --test-dataset cifar10
    """
    from ..search import NB201Simulator

    sim = NB201Simulator(dataset=dataset, epochs=epochs, seed=seed, db_dir=db_dir, test_dataset=test_dataset,
                         sampling=sampling, source=source_value(source))
    _run(sim, algo, runs, budget, seed, population_size, sample_size, out)


# ------------------------------------------------------------------------------------------------------------------
# top


def _parse_bounds(pairs, option: str) -> dict:
    bounds = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.UsageError(f"{option} takes METRIC=VALUE: got {pair!r}")
        try:
            bounds[name.strip()] = float(value)
        except ValueError:
            raise click.UsageError(f"{option} {name}: not a number: {value!r}") from None
    return bounds


def bound_ranges(min_pairs, max_pairs) -> dict:
    """``--min`` / ``--max`` METRIC=VALUE pairs as ``{metric: [low, high]}`` (None = open)."""
    ranges: dict = {}
    for name, value in _parse_bounds(min_pairs, "--min").items():
        ranges.setdefault(name, [None, None])[0] = value
    for name, value in _parse_bounds(max_pairs, "--max").items():
        ranges.setdefault(name, [None, None])[1] = value
    return ranges


def _parse_where(pairs) -> dict:
    config = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.UsageError(f"--where takes COLUMN=VALUE: got {pair!r}")
        config[name.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value
    return config


TOP_COLUMNS = {
    "nb101": ["config.hash", "config.num_epochs", "config.num_vertices", "parameters", "train_acc", "valid_acc",
              "test_acc", "training_time"],
    "nb201": ["config.id", "config.dataset", "config.num_epochs", "parameters", "flops", "train_acc", "valid_acc",
              "test_acc", "training_time"],
    "nats_sss": ["config.arch", "config.dataset", "config.num_epochs", "parameters", "flops", "train_acc",
                 "valid_acc", "test_acc", "training_time"],
    "nds": ["config.id", "config.proposer", "config.generator", "config.dataset", "parameters", "flops",
            "final_train_acc", "final_test_acc"],
}


@cli.command("top", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=click.Choice(["nb101", "nb201", "nats-sss", "nats_sss", "nds"]))
@click.option("--k", "k", type=click.IntRange(min=1), default=10, show_default=True, help="How many rows.")
@click.option("--all", "all_rows", is_flag=True, help="Every matching row (a filter), ordered by --metric.")
@click.option("--metric", default=None,
              help="Rank by this metric, cost or proxy (default valid_acc; NDS final_test_acc).")
@click.option("--ascending", is_flag=True, help="Smallest first (losses, times).")
@click.option("--epochs", type=int, default=None, help="Epoch budget (e.g. 108, 200); default all.")
@click.option("--dataset", default=None, help="NB-201 / NATS / NDS dataset.")
@click.option("--min", "min_pairs", multiple=True, metavar="METRIC=VALUE",
              help="Lower bound on a metric, cost or proxy, e.g. synflow=40 (repeatable).")
@click.option("--max", "max_pairs", multiple=True, metavar="METRIC=VALUE",
              help="Upper bound on a metric, cost or proxy, e.g. edgegpu_latency=5 (repeatable).")
@click.option("--min-params", type=float, default=None, help="Parameter count lower bound (a count: 1e6 = 1 M).")
@click.option("--max-params", type=float, default=None, help="Parameter count upper bound (a count: 1e6 = 1 M).")
@click.option("--min-flops", type=float, default=None, help="FLOPs lower bound (a count of multiply-adds).")
@click.option("--max-flops", type=float, default=None, help="FLOPs upper bound (a count of multiply-adds).")
@click.option("--where", "where_pairs", multiple=True, metavar="COLUMN=VALUE",
              help="Config equality filter, e.g. proposer=darts (NDS), hash=... (NB-101).")
@click.option("--per-run", is_flag=True, help="Rank single runs instead of means over runs.")
@click.option("--unique", is_flag=True, help="NB-201: one cell per isomorphism class.")
@click.option("--source", default="original", show_default=True, help=SOURCE_HELP)
@output_options
@db_dir_option
@handle_errors
def top_command(benchmark, k, all_rows, metric, ascending, epochs, dataset, min_pairs, max_pairs, min_params,
                max_params, min_flops, max_flops, where_pairs, per_run, unique, source, fmt, db_dir):
    """Top-k configs by a metric (mean over runs), filtered in SQL; --all lists every match.

    Accuracies in percent, parameters and FLOPs in millions in the output; bounds on parameters and FLOPs are
    counts.

    \b
    Example:
        nasbench-db top nb101 --k 10 --metric valid_acc --max-params 1e6 --epochs 108
        nasbench-db top nb201 --dataset cifar100 --epochs 200 --min valid_acc=73 --all --format csv
        nasbench-db top nb201 --dataset cifar100 --epochs 200 --max edgegpu_latency=5 --metric test_acc
    """
    from ..analysis import check_benchmark, default_metric, filter_archs

    benchmark = check_benchmark(benchmark)
    metric = metric or default_metric(benchmark)
    ranges = bound_ranges(min_pairs, max_pairs)
    rows = filter_archs(benchmark, epochs=epochs, dataset=dataset, ranges=ranges, min_params=min_params,
                        max_params=max_params, min_flops=min_flops, max_flops=max_flops,
                        config=_parse_where(where_pairs), reduction=None if per_run else "mean", order_by=metric,
                        ascending=ascending, limit=None if all_rows else k, unique=unique,
                        source=source_value(source), db_dir=db_dir)
    columns = list(TOP_COLUMNS[benchmark])
    if benchmark == "nb101" and source_value(source) != "original":
        columns.insert(2, "config.dataset")  # other sources' runs may be on other datasets
    if per_run:
        columns.insert(0, "id")
    else:
        columns.append("num_runs")
    for extra in [metric, *ranges]:
        if extra not in columns:
            columns.append(extra)
    emit(rows, fmt, None if fmt == "json" else columns)


# ------------------------------------------------------------------------------------------------------------------
# plot


@cli.group(context_settings=CONTEXT_SETTINGS)
def plot():
    """Figures as PNG (or PDF / SVG by the file name): ECDFs, scatter plots, regret curves.

    \b
    Example:
        nasbench-db plot ecdf nb101 --epochs 108 --out ecdf.png
        nasbench-db plot regret rs.json re.json --out regret.png
    """


def _plot_filters(func):
    for option in reversed([
        click.option("--epochs", type=int, default=None, help="Epoch budget (e.g. 108); default all."),
        click.option("--dataset", default=None, help="NB-201 / NATS / NDS dataset."),
        click.option("--max-params", type=float, default=None, help="Parameter count upper bound (1e6 = 1 M)."),
        click.option("--min", "min_pairs", multiple=True, metavar="METRIC=VALUE",
                     help="Lower bound on a metric, cost or proxy (repeatable)."),
        click.option("--max", "max_pairs", multiple=True, metavar="METRIC=VALUE",
                     help="Upper bound on a metric, cost or proxy, e.g. edgegpu_latency=5 (repeatable)."),
        click.option("--source", default="original", show_default=True, help=SOURCE_HELP),
        click.option("--out", type=click.Path(dir_okay=False), required=True, help="Image file to write."),
    ]):
        func = option(func)
    return func


@plot.command("ecdf", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=click.Choice(["nb101", "nb201", "nats-sss", "nats_sss", "nds"]))
@click.option("--metric", "metrics", multiple=True,
              help="Metric to plot (repeatable; default train_acc, valid_acc, test_acc).")
@click.option("--xmin", type=float, default=None, help="Cut the x axis here (e.g. 80).")
@_plot_filters
@db_dir_option
@handle_errors
def plot_ecdf_command(benchmark, metrics, xmin, epochs, dataset, max_params, min_pairs, max_pairs, source, out,
                      db_dir):
    """Empirical CDF of accuracies over every config (means over runs), as the NB-101 paper's Figure 2.

    \b
    Example:
        nasbench-db plot ecdf nb101 --epochs 108 --xmin 80 --out ecdf.png
    """
    from ..analysis import check_benchmark
    from ..plots import plot_ecdf

    benchmark = check_benchmark(benchmark)
    if not metrics:
        metrics = ("final_train_acc", "final_test_acc") if benchmark == "nds" else ("train_acc", "valid_acc",
                                                                                      "test_acc")
    click.echo(plot_ecdf(benchmark, out, metrics, epochs=epochs, dataset=dataset, xmin=xmin, max_params=max_params,
                         ranges=bound_ranges(min_pairs, max_pairs), source=source_value(source), db_dir=db_dir))


@plot.command("scatter", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=click.Choice(["nb101", "nb201", "nats-sss", "nats_sss", "nds"]))
@click.option("--x", "x", default="parameters", show_default=True, help="x metric (parameters, training_time...).")
@click.option("--y", "y", default=None, help="y metric (default test_acc; NDS final_test_acc).")
@click.option("--ymin", type=float, default=None, help="Cut the y axis here.")
@_plot_filters
@db_dir_option
@handle_errors
def plot_scatter_command(benchmark, x, y, ymin, epochs, dataset, max_params, min_pairs, max_pairs, source, out,
                         db_dir):
    """A metric against parameters or training time over every config, as the NB-101 paper's Figures 3-4.

    \b
    Example:
        nasbench-db plot scatter nb101 --x training_time --y test_acc --epochs 108 --ymin 80 --out time.png
    """
    from ..analysis import check_benchmark
    from ..plots import plot_scatter

    benchmark = check_benchmark(benchmark)
    y = y or ("final_test_acc" if benchmark == "nds" else "test_acc")
    click.echo(plot_scatter(benchmark, out, x, y, epochs=epochs, dataset=dataset, ymin=ymin, max_params=max_params,
                            ranges=bound_ranges(min_pairs, max_pairs), source=source_value(source), db_dir=db_dir))


@plot.command("regret", context_settings=CONTEXT_SETTINGS)
@click.argument("results", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--label", "labels", multiple=True, help="Curve label, one per RESULT (default: algorithm name).")
@click.option("--title", default=None, help="Figure title.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Image file to write.")
@handle_errors
def plot_regret_command(results, labels, title, out):
    """Median test regret over simulated time with interquartile bands, from `nasbench-db search` JSON files.

    \b
    Example:
        nasbench-db plot regret rs.json re.json ls.json --out regret.png
    """
    from ..plots import plot_regret

    click.echo(plot_regret(list(results), out, list(labels) or None, title=title))
