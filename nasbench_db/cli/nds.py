"""NDS commands: ``convert nds`` and ``query nds``."""

from __future__ import annotations

import click

from ..spaces import nds as space
from ._common import (CONTEXT_SETTINGS, convert, db_dir_option, emit, handle_errors, limit_option, output_options,
                      parse_json_option, query, source_option, source_value, take)

NDS_COLUMNS = ["id", "config.id", "config.model_family", "config.proposer", "config.generator", "config.dataset",
               "config.num_epochs", "seed", "final_test_acc", "best_test_acc", "final_train_acc", "parameters",
               "flops", "iter_time"]


@convert.command("nds", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path())
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@db_dir_option
@handle_errors
def convert_nds_command(path, progress, db_dir):
    """Convert NDS's data.zip (read in place, no extraction) or its nds_data/ directory.

    Reads NNI's 34 sweep files (Amoeba.json ... Vanilla_rng3.json) in NNI's order, including the {top, mid}
    reruns layout; a directory missing some files converts what is present and lists the rest. Accuracies are
    stored as 100 - top-1 error (percent), parameters and FLOPs in millions.

    \b
    Example:
        wget https://dl.fbaipublicfiles.com/nds/data.zip
        nasbench-db convert nds data.zip
        nasbench-db convert nds nds_data/ --db-dir ~/nasbench
    """
    from ..convert.nds import convert_nds

    report = convert_nds(path, db_dir, progress=progress)
    click.echo(report.summary())


@query.command("nds", context_settings=CONTEXT_SETTINGS)
@click.option("--model-family", type=click.Choice(space.MODEL_FAMILIES), default=None, help="Default: all.")
@click.option("--proposer", type=click.Choice(space.PROPOSERS, case_sensitive=False), default=None,
              help="Design space (default: all).")
@click.option("--generator", type=click.Choice(space.GENERATORS), default=None, help="Default: all.")
@click.option("--dataset", type=click.Choice(space.DATASETS, case_sensitive=False), default=None,
              help="Default: both.")
@click.option("--epochs", type=int, default=None, help="Epochs of the schedule (default: all).")
@click.option("--model-spec", help="model_spec as JSON, e.g. '{\"ds\": [1, 12, 12, 12], ...}'.")
@click.option("--cell-spec", help="cell_spec as JSON ('{}' selects the non-cell families).")
@click.option("--reduction", type=click.Choice(["none", "mean"]), default="none", show_default=True)
@click.option("--intermediates", is_flag=True, help="Include the per-epoch rows (JSON output).")
@source_option
@limit_option
@output_options
@db_dir_option
@handle_errors
def query_nds_command(model_family, proposer, generator, dataset, epochs, model_spec, cell_spec, reduction,
                      intermediates, source, limit, fmt, db_dir):
    """Query NDS trials (NNI's query_nds_trial_stats; every filter defaults to all).

    Accuracies in percent (100 - top-1 error), parameters and FLOPs in millions, iter_time in seconds per
    iteration.

    \b
    Example:
        nasbench-db query nds --proposer resnet --dataset cifar10 --limit 5
        nasbench-db query nds --model-family residual_basic \\
            --model-spec '{"ds": [1, 12, 12, 12], "ss": [1, 1, 2, 2], "ws": [16, 24, 24, 40]}' --format json
        nasbench-db query nds --proposer darts --generator fix_w_d --reduction mean --format csv
    """
    from ..query.nds import query_nds_trial_stats

    rows = query_nds_trial_stats(model_family, proposer, generator, parse_json_option("--model-spec", model_spec),
                                 parse_json_option("--cell-spec", cell_spec), dataset, epochs, reduction=reduction,
                                 include_intermediates=intermediates, source=source_value(source), db_dir=db_dir)
    rows = take(rows, limit)
    emit(rows, fmt, None if fmt == "json" or intermediates else NDS_COLUMNS)
