"""NAS-Bench-NLP commands: ``convert nlp`` and ``query nlp``."""

from __future__ import annotations

import click

from ..spaces import nlp as space
from ._common import (CONTEXT_SETTINGS, convert, db_dir_option, emit, handle_errors, limit_option, output_options,
                      query, take)

NLP_COLUMNS = ["id", "config.id", "config.dataset", "train_loss", "val_loss", "test_loss", "training_time"]
PERPLEXITY_COLUMNS = ["train_perplexity", "val_perplexity", "test_perplexity"]


@convert.command("nlp", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--duplicates", type=click.Choice(["first", "last"]), default="first", show_default=True,
              help="A log file name found in several inputs (the PTB single- and multi-run archives share some): "
                   "keep the first copy met or the last (NNI's unzip 'no to all' / 'replace all').")
@click.option("--replace-nni-file", is_flag=True,
              help="Allow replacing NNI's own nlp.db (NNI uses the same file name) in the target directory.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@db_dir_option
@handle_errors
def convert_nlp_command(paths, duplicates, replace_nni_file, progress, db_dir):
    """Convert NAS-Bench-NLP training logs (logs.zip archives, folders or single logs) into nlp.db.

    Give every archive at once (each conversion builds the database anew): the release's PTB single-run, PTB
    multi-run and WikiText-2 logs. Runs whose status is not OK are kept with their status (NNI drops them; the
    NNI views and queries still show the OK runs only). Losses are in nats per token; times in seconds per epoch.

    \b
    Example:
        nasbench-db convert nlp train_logs_single_run/logs.zip train_logs_multi_runs/logs.zip \\
            train_logs_wikitext-2/logs.zip
        nasbench-db convert nlp nlp_data/ --db-dir ~/nasbench
    """
    from ..convert.nlp import convert_nlp

    report = convert_nlp(list(paths), db_dir, duplicates=duplicates, progress=progress,
                         replace_nni=replace_nni_file)
    click.echo(report.summary())


@query.command("nlp", context_settings=CONTEXT_SETTINGS)
@click.option("--arch", help="The cell: NNI's flat dict or the recipe, as JSON (default: every cell).")
@click.option("--arch-file", type=click.Path(exists=True, dir_okay=False),
              help="Read --arch from this file (a recipe JSON, e.g. one entry of recepies_example.json).")
@click.option("--dataset", type=click.Choice(list(space.DATASETS), case_sensitive=False), default=None,
              help="Default: both.")
@click.option("--status", default="OK", show_default=True,
              help="Runs with this status ('OK': the runs NNI keeps), or 'all' for every run.")
@click.option("--reduction", type=click.Choice(["none", "mean"]), default="none", show_default=True)
@click.option("--intermediates", is_flag=True, help="Include the 50 per-epoch rows (JSON output).")
@click.option("--perplexity", is_flag=True, help="Add train/val/test perplexity (exp of the losses).")
@limit_option
@output_options
@db_dir_option
@handle_errors
def query_nlp_command(arch, arch_file, dataset, status, reduction, intermediates, perplexity, limit, fmt, db_dir):
    """Query NAS-Bench-NLP runs (NNI's query_nlp_trial_stats; every filter defaults to all).

    Losses are mean cross-entropies in nats per token after the last epoch (perplexity = exp(loss));
    training_time is the seconds of training of the last epoch (NNI's value).

    \b
    Example:
        nasbench-db query nlp --dataset ptb --limit 5
        nasbench-db query nlp --arch '{"node_0": {"op": "linear", "input": ["x", "h_prev_0"]},
            "h_new_0": {"op": "activation_tanh", "input": ["node_0"]}}' --perplexity
        nasbench-db query nlp --dataset wikitext-2 --status all --reduction mean --format csv
    """
    from ..query.nlp import query_nlp_trial_stats

    if arch and arch_file:
        raise click.UsageError("give --arch or --arch-file, not both")
    if arch_file:
        with open(arch_file, encoding="utf-8") as handle:
            arch = handle.read()
    rows = query_nlp_trial_stats(arch, dataset, reduction=reduction, include_intermediates=intermediates,
                                 status=None if status == "all" else status, perplexity=perplexity, db_dir=db_dir)
    rows = take(rows, limit)
    columns = NLP_COLUMNS + (["status"] if status != "OK" else []) + (PERPLEXITY_COLUMNS if perplexity else [])
    emit(rows, fmt, None if fmt == "json" or intermediates else columns)
