"""Joined data: ``convert hw-nasbench``, ``convert zc``, ``correlate``, ``pareto`` and ``plot pareto``."""

from __future__ import annotations

import click

from ._common import CONTEXT_SETTINGS, cli, convert, db_dir_option, emit, handle_errors, output_options, source_value
from .search import TOP_COLUMNS, bound_ranges, plot

BENCHMARKS = click.Choice(["nb101", "nb201", "nats-sss", "nats_sss", "nds"])


@convert.command("hw-nasbench", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
@db_dir_option
@handle_errors
def convert_hw_nasbench_command(file, db_dir):
    """Load HW-NAS-Bench-v1_0.pickle (hardware costs) into the NB-201 database.

    NB-201-space latency (ms), energy (mJ) and Eyeriss arithmetic intensity per (arch index, dataset, device) go to
    table hw_nb201_metric (and the per-device view hw_nb201_device); the FBNet space's lookup tables to
    hw_fbnet_lookup. The pickle is read without running anything in it. It replaces an earlier HW-NAS-Bench load and
    changes no benchmark row. Then: top nb201 --max edgegpu_latency=5, correlate, pareto, and
    nasbench_db.compat.hw_nas_bench.HWNASBenchAPI.

    \b
    Example:
        nasbench-db convert hw-nasbench HW-NAS-Bench-v1_0.pickle
        nasbench-db top nb201 --dataset cifar100 --epochs 200 --max edgegpu_latency=5
    """
    from ..convert.hw_nasbench import convert_hw_nasbench

    click.echo(convert_hw_nasbench(file, db_dir).summary())


@convert.command("zc", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
@click.option("--space", type=click.Choice(["nb101", "nb201"]), default=None,
              help="Space of a {dataset: ...} file (default: from the file name, else from its keys).")
@db_dir_option
@handle_errors
def convert_zc_command(file, space, db_dir):
    """Load NAS-Bench-Suite-Zero zero-cost proxy scores (NASLib's zc_nasbench101.json / zc_nasbench201.json).

    Architectures are found by the file's keys (NASLib's op-index tuples), never by its sample numbers. Scores go to
    zc_nb201_score / zc_nb101_score (with the seconds each took), the rest of each record to zc_nb*_record. A proxy
    then is a column of top, filters, correlate, pareto and plots, by its name (synflow) or as zc_<name>
    (zc_flops: NASLib's FLOP count, which is not the benchmark's flops).

    \b
    Example:
        nasbench-db convert zc zc_nasbench201.json
        nasbench-db correlate nb201 valid_acc synflow snip nwot --dataset cifar100 --epochs 200
    """
    from ..convert.zc import convert_zc

    click.echo(convert_zc(file, db_dir, space=space).summary())


def _filters(func):
    for option in reversed([
        click.option("--epochs", type=int, default=None, help="Epoch budget (e.g. 108, 200); default all."),
        click.option("--dataset", default=None, help="NB-201 / NATS / NDS dataset."),
        click.option("--min", "min_pairs", multiple=True, metavar="METRIC=VALUE",
                     help="Lower bound on a metric, cost or proxy (repeatable)."),
        click.option("--max", "max_pairs", multiple=True, metavar="METRIC=VALUE",
                     help="Upper bound on a metric, cost or proxy (repeatable)."),
        click.option("--unique", is_flag=True, help="NB-201: one cell per isomorphism class."),
        click.option("--source", default="original", show_default=True,
                     help="'original', 'all', a source id, or a device / file name of trained results."),
    ]):
        func = option(func)
    return func


def _filter_kwargs(epochs, dataset, min_pairs, max_pairs, unique, source, db_dir) -> dict:
    return {"epochs": epochs, "dataset": dataset, "ranges": bound_ranges(min_pairs, max_pairs), "unique": unique,
            "source": source_value(source), "db_dir": db_dir}


@cli.command("correlate", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=BENCHMARKS)
@click.argument("x")
@click.argument("y", nargs=-1, required=True)
@_filters
@click.option("--per-run", is_flag=True, help="Correlate single runs instead of means over runs.")
@output_options
@db_dir_option
@handle_errors
def correlate_command(benchmark, x, y, epochs, dataset, min_pairs, max_pairs, unique, source, per_run, fmt, db_dir):
    """Kendall's tau and Spearman's rho of column X with each column Y, over the installed archs.

    Any metric, hardware cost or zero-cost proxy is a column. n counts the configs having both values (one per
    architecture once --dataset and --epochs are fixed; means over runs unless --per-run). Needs scipy.

    \b
    Example:
        nasbench-db correlate nb201 valid_acc synflow snip nwot --dataset cifar100 --epochs 200
        nasbench-db correlate nb201 edgegpu_latency flops --dataset cifar10 --epochs 200 --json
    """
    from ..analysis import check_benchmark, correlate

    benchmark = check_benchmark(benchmark)
    if benchmark in ("nb201", "nats_sss") and dataset is None:
        click.echo("note: no --dataset: the configs of every dataset are pooled", err=True)
    rows = correlate(benchmark, x, list(y), reduction=None if per_run else "mean",
                     **_filter_kwargs(epochs, dataset, min_pairs, max_pairs, unique, source, db_dir))
    emit(rows, fmt, ["x", "y", "n", "kendall_tau", "kendall_p", "spearman_rho", "spearman_p"])


@cli.command("pareto", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=BENCHMARKS)
@click.option("--cost", default="parameters", show_default=True,
              help="Minimised column: parameters, flops, edgegpu_latency, fpga_energy, ...")
@click.option("--metric", default=None, help="Maximised column (default valid_acc; NDS final_test_acc).")
@click.option("--minimize-metric", is_flag=True, help="Minimise the metric too (losses, times).")
@_filters
@output_options
@db_dir_option
@handle_errors
def pareto_command(benchmark, cost, metric, minimize_metric, epochs, dataset, min_pairs, max_pairs, unique, source,
                   fmt, db_dir):
    """The Pareto front of a metric against a cost (mean over runs per config), cheapest first.

    A config is on the front when no other has a lower-or-equal cost and a better metric. Parameters and FLOPs in
    millions, latency in ms and energy in mJ (HW-NAS-Bench), accuracies in percent.

    \b
    Example:
        nasbench-db pareto nb201 --cost edgegpu_latency --metric test_acc --dataset cifar100 --epochs 200
        nasbench-db pareto nb101 --cost parameters --metric valid_acc --epochs 108 --csv
    """
    from ..analysis import check_benchmark, default_metric, pareto_front

    benchmark = check_benchmark(benchmark)
    metric = metric or default_metric(benchmark)
    rows = pareto_front(benchmark, cost, metric, maximize=not minimize_metric,
                        **_filter_kwargs(epochs, dataset, min_pairs, max_pairs, unique, source, db_dir))
    columns = [c for c in TOP_COLUMNS[benchmark] if c not in (cost, metric)] + ["num_runs", cost, metric]
    emit(rows, fmt, None if fmt == "json" else columns)


@plot.command("pareto", context_settings=CONTEXT_SETTINGS)
@click.argument("benchmark", type=BENCHMARKS)
@click.option("--cost", default="parameters", show_default=True, help="x axis, minimised (e.g. edgegpu_latency).")
@click.option("--metric", default=None, help="y axis, maximised (default valid_acc; NDS final_test_acc).")
@click.option("--minimize-metric", is_flag=True, help="Minimise the metric too (losses, times).")
@_filters
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Image file to write.")
@db_dir_option
@handle_errors
def plot_pareto_command(benchmark, cost, metric, minimize_metric, epochs, dataset, min_pairs, max_pairs, unique,
                        source, out, db_dir):
    """Every config as a point of a metric against a cost, with the Pareto front as a staircase.

    \b
    Example:
        nasbench-db plot pareto nb201 --cost edgegpu_latency --metric test_acc --dataset cifar100 --epochs 200 \\
            --out pareto.png
    """
    from ..analysis import check_benchmark
    from ..plots import plot_pareto

    kwargs = _filter_kwargs(epochs, dataset, min_pairs, max_pairs, unique, source, db_dir)
    click.echo(plot_pareto(check_benchmark(benchmark), out, cost, metric, maximize=not minimize_metric, **kwargs))
