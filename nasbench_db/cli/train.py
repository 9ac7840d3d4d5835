"""Training commands: ``train nb101|nb201|nats-sss``, ``cost nb101|nb201|nats-sss``, ``convert results``."""

from __future__ import annotations

import json

import click

from ..train import require_torch
from ._common import CONTEXT_SETTINGS, cli, convert, db_dir_option, handle_errors

SPACE_OF_COMMAND = {"nb101": "nb101", "nb201": "nb201", "nats-sss": "nats_sss"}
ARCH_HELP = {
    "nb101": 'NNI arch dict or {"matrix": [[...]], "ops": [...]} as JSON.',
    "nb201": "Arch string '|nor_conv_3x3~0|+|...~2|', NNI dict (JSON) or benchmark index.",
    "nats-sss": "Channels 'C1:C2:C3:C4:C5' (each 8..64 step 8) or benchmark index.",
}
EXAMPLES = {
    "nb101": ("nasbench-db train nb101 --arch '{\"matrix\": [[0,1,1,1,0,1,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],"
              "[0,0,0,0,1,0,0],[0,0,0,0,0,0,1],[0,0,0,0,0,0,1],[0,0,0,0,0,0,0]], \"ops\": [\"input\","
              "\"conv1x1-bn-relu\",\"conv3x3-bn-relu\",\"conv3x3-bn-relu\",\"conv3x3-bn-relu\",\"maxpool3x3\","
              "\"output\"]}' --dataset cifar10 --data-dir ~/data --epochs 108 --seed 0 --out results/"),
    "nb201": ("nasbench-db train nb201 --arch 9930 --dataset cifar10-valid --data-dir ~/data --epochs 200 "
              "--seed 777 --out results/"),
    "nats-sss": ("nasbench-db train nats-sss --arch 64:64:64:64:64 --dataset cifar100 --data-dir ~/data "
                 "--epochs 90 --seed 777 --out results/"),
}
DEFAULT_DATASET = {"nb101": "cifar10", "nb201": "cifar10-valid", "nats-sss": "cifar10-valid"}


@cli.group(context_settings=CONTEXT_SETTINGS)
def train():
    """Train benchmark networks with the benchmarks' own protocols; one JSON result per trial.

    Sweeps: --arch-file lists one arch per line; --shard K/N (or Slurm's SLURM_ARRAY_TASK_ID /
    SLURM_ARRAY_TASK_COUNT) trains every N-th line from K, skipping results already in --out.

    \b
    Example:
        nasbench-db train nb201 --arch 9930 --dataset cifar10 --data-dir ~/data --out results/
        nasbench-db train nb101 --arch-file cells.txt --shard 3/100 --dataset cifar10 --data-dir ~/data --out results/
    """


@cli.group(context_settings=CONTEXT_SETTINGS)
def cost():
    """Parameters and FLOPs of a benchmark network, as JSON: parameters_count (the exact count),
    parameters_millions (millions, the unit of `parameters` in every query) and flops (millions of multiply-adds, conv
    + linear, one image). The key `parameters` is deprecated: it holds the exact count, as in earlier versions.

    \b
    Example:
        nasbench-db cost nb201 --arch 11472 --dataset cifar100
    """


def _protocol_options(func):
    options = [
        click.option("--lr", type=float, default=None, help="Base learning rate (NB-101 0.2, NB-201 0.1)."),
        click.option("--batch-size", type=int, default=None, help="Batch size (256)."),
        click.option("--weight-decay", type=float, default=None,
                     help="Coupled weight decay (NB-101 1e-4, NB-201 5e-4)."),
        click.option("--momentum", type=float, default=None, help="Momentum (0.9)."),
        click.option("--optimizer", type=click.Choice(["rmsprop_tf", "sgd"]), default=None,
                     help="NB-101: TF-style RMSProp; NB-201: SGD (Nesterov)."),
        click.option("--bn-momentum", type=float, default=None, help="BN momentum, torch convention (NB-101 0.003)."),
        click.option("--ghost-batch", type=int, default=None,
                     help="NB-101: BN statistics over groups of this many images (128 mimics the 2 TPU shards)."),
        click.option("--eval-schedule", type=click.Choice(["halfway", "every_epoch"]), default=None,
                     help="When to evaluate (NB-101: step 0, halfway, end; NB-201: every epoch)."),
        click.option("--eval-examples", type=int, default=None,
                     help="Evaluate on the first N images of each set (NB-101: 9984)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _make_train_command(command: str):
    space = SPACE_OF_COMMAND[command]

    doc = (f"Train {command} architectures with the benchmark's protocol (every hyperparameter is an option; "
           f"defaults are the benchmark's).\n\nWrites one JSON per trial into --out (schema: docs/training.md).\n\n"
           f"\b\nExample:\n    {EXAMPLES[command]}\n")

    @train.command(command, context_settings=CONTEXT_SETTINGS, help=doc)
    @click.option("--arch", "arch", default=None, help=ARCH_HELP[command])
    @click.option("--arch-file", type=click.Path(dir_okay=False, exists=True), default=None,
                  help="File with one arch per line (# comments allowed).")
    @click.option("--shard", default=None, help="K/N: train lines K, K+N, ... (0 <= K < N). Default: Slurm array.")
    @click.option("--dataset", default=DEFAULT_DATASET[command], show_default=True,
                  type=click.Choice(["cifar10", "cifar10-valid", "cifar100", "imagenet16-120", "fashion-mnist"],
                                    case_sensitive=False))
    @click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                  help="Directory of the dataset files (Fashion-MNIST defaults to /usr/share/datasets/fashion-mnist).")
    @click.option("--epochs", type=click.IntRange(min=1), default=None,
                  help="Epochs (default: the benchmark's longest budget).")
    @click.option("--seed", "seeds", type=int, multiple=True, help="Seed; repeat for several trials (default 0).")
    @click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True, help="Result directory.")
    @click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:N].")
    @click.option("--limit-batches", type=click.IntRange(min=1), default=None,
                  help="Cap train and eval batches per epoch (smoke runs).")
    @click.option("--amp", type=click.Choice(["auto", "bf16", "off"]), default="auto", show_default=True,
                  help="bf16 autocast (auto: on CUDA only; bf16 also on the CPU).")
    @click.option("--channels-last", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
                  help="Channels-last (NHWC) memory layout (auto: on, CPU and CUDA).")
    @click.option("--compile", "compile_model", is_flag=True, help="torch.compile the network.")
    @click.option("--force", is_flag=True, help="Train again even when --out already holds the result.")
    @click.option("--progress-every", type=click.FloatRange(min=0), default=30.0, show_default=True,
                  help="Seconds between progress lines on stderr during an epoch (step, images/s, ETA); 0: every "
                       "step.")
    @_protocol_options
    @handle_errors
    def command_fn(arch, arch_file, shard, dataset, data_dir, epochs, seeds, out_dir, device, limit_batches, amp,
                   channels_last, compile_model, force, progress_every, **protocol):
        if bool(arch) == bool(arch_file):
            raise click.UsageError("give --arch or --arch-file")
        require_torch("nasbench-db train")
        from ..train import runner
        from ..train.data import load_splits
        from ..train.protocols import PROTOCOLS

        archs = [arch] if arch else runner.read_arch_file(arch_file)
        seeds = list(seeds) or [0]
        items = [(a, s) for a in archs for s in seeds]
        k, n = runner.parse_shard(shard)
        items = runner.shard_items(items, k, n)
        defaults = PROTOCOLS[space].replace(**protocol)
        epochs_value = defaults.default_epochs if epochs is None else epochs
        # everything that can fail without data is checked before any data is read or any step trained
        runner.resolve_device(device)
        runner.check_out_dir(out_dir)
        done = set() if force else runner.done_stems(out_dir)
        splits = None
        trained = skipped = 0
        for item_arch, seed in items:
            ident = runner.describe_arch(space, item_arch)
            stem = runner.result_stem(space, ident["slug"], dataset.lower(), epochs_value, seed)
            if stem in done:
                skipped += 1
                continue
            if splits is None:
                splits = load_splits(dataset, data_dir, "nb101" if space == "nb101" else "nb201",
                                     defaults.eval_examples)
            result = runner.run_trial(space, ident["arch"], dataset, data_dir, epochs_value, seed, out_dir, device,
                                      limit_batches, amp if amp != "off" else None, channels_last, compile_model,
                                      protocol_overrides=protocol, splits=splits,
                                      log=lambda text: click.echo(text, err=True), progress_every=progress_every)
            final = result["evaluations"][-1]["sets"]
            click.echo(json.dumps({"arch": ident["slug"], "seed": seed, "result_key": result["result_key"],
                                   "final": {k: v["acc"] for k, v in final.items()},
                                   "training_time": round(result["training_time"], 3)}))
            trained += 1
        click.echo(f"shard {k}/{n}: trained {trained}, skipped {skipped} already in {out_dir}", err=True)

    return command_fn


def _make_cost_command(command: str):
    space = SPACE_OF_COMMAND[command]

    example = {"nb101": "nasbench-db cost nb101 --arch '{\"matrix\": [[0,1],[0,0]], \"ops\": [\"input\",\"output\"]}'",
               "nb201": "nasbench-db cost nb201 --arch 11472 --dataset imagenet16-120",
               "nats-sss": "nasbench-db cost nats-sss --arch 8:16:24:32:64 --dataset cifar100"}[command]
    doc = (f"Parameters and FLOPs of a {command} network as JSON (parameters_count: the exact count; "
           f"parameters_millions: millions, the unit of `parameters` in every query; `parameters`: deprecated, the "
           f"exact count as in earlier versions; flops: millions of multiply-adds of conv and linear layers for one "
           f"image). Needs PyTorch.\n\n\b\nExample:\n    {example}\n")

    @cost.command(command, context_settings=CONTEXT_SETTINGS, help=doc)
    @click.option("--arch", required=True, help=ARCH_HELP[command])
    @click.option("--dataset", default="cifar10", show_default=True,
                  type=click.Choice(["cifar10", "cifar10-valid", "cifar100", "imagenet16-120", "fashion-mnist"],
                                    case_sensitive=False))
    @handle_errors
    def command_fn(arch, dataset):
        require_torch("nasbench-db cost")
        from ..train.runner import cost as cost_of

        click.echo(json.dumps(cost_of(space, arch, dataset), sort_keys=True))

    return command_fn


for _command in SPACE_OF_COMMAND:
    _make_train_command(_command)
    _make_cost_command(_command)


@convert.command("results", context_settings=CONTEXT_SETTINGS)
@click.argument("path", type=click.Path())
@db_dir_option
@handle_errors
def convert_results_command(path, db_dir):
    """Ingest JSON results of `nasbench-db train` (a file or a directory) beside the original rows.

    All or nothing: every file is validated first (types, ranges, the arch in its space, the result key), then
    everything is written in one transaction; one bad file refuses the command and names the file and the field.
    JSON files without the result format marker (e.g. a `search` output) and entries that are not regular files
    are listed on stderr and skipped. Each result is tagged with its device (a 'trained' source row); ingesting the
    same result twice adds nothing, and several ingesters may run at once. Creates the database if it does not
    exist. Query them with --source trained (or the device name); the default --source original hides them.

    \b
    Example:
        nasbench-db convert results results/
        nasbench-db query nb101 --hash 28cfc7874f6d200472e1a9dcd8650aa0 --source trained
    """
    from ..convert.results import convert_results

    report = convert_results(path, db_dir)
    for entry, reason in report.ignored:
        click.echo(f"skipped {entry}: {reason}", err=True)
    click.echo(report.summary())
