"""NAS-Bench-201 / NATS-Bench commands: ``convert nb201|nats-tss|nats-sss`` and ``query nb201|nats-sss``."""

from __future__ import annotations

import json

import click

from ..spaces import nb201 as tss_space
from ._common import (CONTEXT_SETTINGS, NO_RUNS_HINT, convert, db_dir_option, emit_query, handle_errors,
                      limit_option, output_options, query, source_option, source_value, take)

NB201_COLUMNS = ["id", "config.id", "arch_index", "config.dataset", "config.num_epochs", "seed", "train_acc",
                 "valid_acc", "test_acc", "ori_test_acc", "parameters", "flops", "latency", "training_time"]
SSS_COLUMNS = ["id", "config.id", "config.arch", "config.dataset", "config.num_epochs", "seed", "train_acc",
               "valid_acc", "test_acc", "ori_test_acc", "parameters", "flops", "latency", "training_time"]
#: --dataset takes any name: the released runs' four datasets are checked by the query functions, which name them and
#: accept other sources' datasets (fashion-mnist) with --source.
DATASET_HELP = f"One of {', '.join(tss_space.DATASETS)}, or another source's dataset such as fashion-mnist (default: all)."
SOURCE_COLUMNS = ["source.kind", "source.device"]
progress_option = click.option("--progress/--no-progress", default=None,
                               help="Progress bar (default: on a terminal).")
jobs_option = click.option("--jobs", type=click.IntRange(1, 64), default=None,
                           help="Worker processes reading a -simple/ directory (default: up to 4 CPUs).")


@convert.command("nb201", context_settings=CONTEXT_SETTINGS)
@click.argument("file", type=click.Path())
@click.option("--loader", type=click.Choice(["stream", "auto", "torch"]), default="stream", show_default=True,
              help="stream (alias auto): the restricted streaming reader (no torch, memory of one architecture, no "
                   "code from the file runs). 'torch' was removed: see --unsafe-torch-load.")
@click.option("--unsafe-torch-load", is_flag=True,
              help="Read the file with torch.load(weights_only=False) instead, which RUNS ANY CODE THE FILE "
                   "CONTAINS (and needs RAM for the whole file). Only for a file you made or verified byte for "
                   "byte; never needed for the released files.")
@progress_option
@db_dir_option
@handle_errors
def convert_nb201_command(file, loader, unsafe_torch_load, progress, db_dir):
    """Convert NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth into nasbench201.db.

    'less' results become 12-epoch trials and 'full' results 200-epoch trials, with NNI's split mapping and one
    row per epoch. Parameters and FLOPs are computed for each architecture (some 200-epoch records of the file
    carry wrong values; those stay in file_parameters / file_flops). Replaces any NATS topology data in the same
    database.

    \b
    Example:
        nasbench-db convert nb201 NAS-Bench-201-v1_1-096897.pth
        nasbench-db convert nb201 NAS-Bench-201-v1_0-e61699.pth --db-dir ~/nasbench
    """
    from ..convert.nb201 import UNSAFE_TORCH_LOADER, convert_nb201

    if unsafe_torch_load and loader == "torch":
        loader = "stream"  # the flag says it: no need for the removed name too
    report = convert_nb201(file, db_dir, progress=progress, loader=UNSAFE_TORCH_LOADER if unsafe_torch_load else loader)
    click.echo(report.summary())


@convert.command("nats-tss", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path())
@jobs_option
@progress_option
@db_dir_option
@handle_errors
def convert_nats_tss_command(path, jobs, progress, db_dir):
    """Convert NATS-Bench's topology archive (the -simple/ directory or the .pickle.pbz2 file) into
    nasbench201.db.

    Same space and indices as NAS-Bench-201; hp '12' and '200' become 12- and 200-epoch trials. A partial
    directory converts the architectures present and says how many. Replaces any NB-201 data in the same database.

    \b
    Example:
        tar xf NATS-tss-v1_0-3ffb9-simple.tar
        nasbench-db convert nats-tss NATS-tss-v1_0-3ffb9-simple/
        nasbench-db convert nats-tss NATS-tss-v1_0-3ffb9.pickle.pbz2
    """
    from ..convert.nb201 import convert_nats_tss

    report = convert_nats_tss(path, db_dir, progress=progress, jobs=jobs)
    click.echo(report.summary())


@convert.command("nats-sss", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path())
@jobs_option
@progress_option
@db_dir_option
@handle_errors
def convert_nats_sss_command(path, jobs, progress, db_dir):
    """Convert NATS-Bench's size archive (the -simple/ directory or the .pickle.pbz2 file) into nats_sss.db.

    hp '01', '12' and '90' become 1-, 12- and 90-epoch trials; a partial directory converts what is present.

    \b
    Example:
        tar xf NATS-sss-v1_0-50262-simple.tar
        nasbench-db convert nats-sss NATS-sss-v1_0-50262-simple/ --jobs 2
    """
    from ..convert.nb201 import convert_nats_sss

    report = convert_nats_sss(path, db_dir, progress=progress, jobs=jobs)
    click.echo(report.summary())


def with_arch_columns(rows) -> list:
    """Rows with ``arch_index`` and ``arch`` (the original arch string) beside NNI's ``config.arch`` dict, for tables
    and CSV: the dict alone names no cell a reader can look up."""
    names: dict = {}
    out = []
    for row in rows:
        config = row.get("config") or {}
        arch = config.get("arch")
        key = json.dumps(arch, sort_keys=True) if isinstance(arch, dict) else arch
        if key not in names:
            try:
                names[key] = (tss_space.index_of(arch), tss_space.arch_str(arch))
            except ValueError:
                names[key] = (None, None)
        index, text = names[key]
        out.append({**row, "arch_index": index, "arch": text})
    return out


def _parse_nb201_arch(text):
    """--arch: an index, an arch string, or NNI's dict as JSON."""
    if text is None:
        return None
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise click.ClickException(f"--arch is not valid JSON: {exc}") from None
    return text






@query.command("nb201", context_settings=CONTEXT_SETTINGS)
@click.option("--arch", help="Index (0..15624), arch string '|nor_conv_3x3~0|+|...|', or NNI's dict as JSON "
                             "(default: all).")
@click.option("--epochs", type=int, default=None,
              help="Epoch budget: 12 or 200, or any budget of another source's runs (default: all).")
@click.option("--dataset", default=None, help=DATASET_HELP)
@click.option("--reduction", type=click.Choice(["none", "mean"]), default="none", show_default=True,
              help="mean: average the seeds of each config.")
@click.option("--intermediates", is_flag=True,
              help="Include the per-epoch rows (values in --json / --csv; the table summarises them).")
@source_option
@limit_option
@output_options
@db_dir_option
@handle_errors
def query_nb201_command(arch, epochs, dataset, reduction, intermediates, source, limit, fmt, db_dir):
    """Query NAS-Bench-201 / NATS topology trials (NNI's query_nb201_trial_stats).

    Accuracies in percent, parameters and FLOPs in millions, latency and times in seconds. valid/test/ori_test
    follow NNI's split mapping: for cifar10 all three are the test set.

    \b
    Example:
        nasbench-db query nb201 --arch 11472 --epochs 200 --dataset cifar100
        nasbench-db query nb201 --arch '|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|' \\
            --epochs 200 --dataset cifar10 --reduction mean --format json
        nasbench-db query nb201 --source cpu --epochs 1 --dataset fashion-mnist
    """
    from ..query.nb201 import query_nb201_trial_stats

    source_arg = source_value(source)
    rows = query_nb201_trial_stats(_parse_nb201_arch(arch), epochs, dataset.lower() if dataset else None,
                                   reduction=reduction, include_intermediates=intermediates, source=source_arg,
                                   db_dir=db_dir)
    rows = take(rows, limit)
    columns = NB201_COLUMNS + (SOURCE_COLUMNS if source_arg != "original" and reduction != "mean" else []) + ["arch"]
    emit_query(rows if fmt == "json" else with_arch_columns(rows), fmt, columns, intermediates=intermediates,
               empty_hint=NO_RUNS_HINT)


@query.command("nats-sss", context_settings=CONTEXT_SETTINGS)
@click.option("--arch", help="Channels 'C1:C2:C3:C4:C5' (8..64 step 8) or the index 0..32767 (default: all).")
@click.option("--epochs", type=int, default=None,
              help="Epoch budget: 1, 12 or 90, or any budget of another source's runs (default: all).")
@click.option("--dataset", default=None, help=DATASET_HELP)
@click.option("--reduction", type=click.Choice(["none", "mean"]), default="none", show_default=True)
@click.option("--intermediates", is_flag=True,
              help="Include the per-epoch rows (values in --json / --csv; the table summarises them).")
@source_option
@limit_option
@output_options
@db_dir_option
@handle_errors
def query_nats_sss_command(arch, epochs, dataset, reduction, intermediates, source, limit, fmt, db_dir):
    """Query NATS-Bench size-space trials (query_nats_sss_trial_stats; NB-201's semantics and units).

    \b
    Example:
        nasbench-db query nats-sss --arch 64:64:64:64:64 --epochs 90 --dataset imagenet16-120
        nasbench-db query nats-sss --epochs 90 --dataset cifar10 --reduction mean --limit 10 --format csv
    """
    from ..query.nb201 import query_nats_sss_trial_stats

    arch_value = int(arch) if arch and arch.strip().isdigit() else arch
    source_arg = source_value(source)
    rows = query_nats_sss_trial_stats(arch_value, epochs, dataset.lower() if dataset else None, reduction=reduction,
                                      include_intermediates=intermediates, source=source_arg, db_dir=db_dir)
    rows = take(rows, limit)
    columns = SSS_COLUMNS + (SOURCE_COLUMNS if source_arg != "original" and reduction != "mean" else [])
    emit_query(rows, fmt, columns, intermediates=intermediates, empty_hint=NO_RUNS_HINT)
