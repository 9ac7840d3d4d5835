"""Synthetic NDS sweep files in the exact format of facebookresearch/nds ``data.zip`` (``nds_data/*.json``).

The real files are large and not bundled, so tests and ``bench/nds_bench.py`` write look-alikes: the same 34
names, the same top level (a list of jobs; ``{"top": [...], "mid": [...]}`` for ``*_reruns``), the same job keys
(``job_id, rng_seed, exp_mem, params, flops, net, optim, act_mem, prec_time, iter_time, min_test_top1,
train_ep_loss, train_ep_top1, test_ep_top1, train_it_loss, train_it_top1``; ``prec_time`` left out of the ImageNet
``_in`` sweeps), DARTS-style genotypes for the NAS design spaces and AnyNet nets (``block_type, ds, ws, ss, bot_muls,
num_gs``) for ResNet/ResNeXt/Vanilla. Values are drawn at random with the precision of the originals (errors and
losses to 3 decimals); ``*_rngN`` and ``*_reruns`` retrain nets of their base sweep with other seeds, as in NDS.

Assumed where no public source shows the real files: the ``optim`` keys beyond ``base_lr, wd, max_ep``, a ``null`` /
empty ``bot_muls`` / ``num_gs`` for basic and plain blocks (NNI's mapping drops either), the scalar ``prec_time`` and
the length of the ``train_it_*`` lists. The converter reads none of these.
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

# Op sets of the NAS design spaces (the genotype strings NNI lists in nds/constants.py).
NAS_OPS = {
    "nasnet": ["skip_connect", "avg_pool_3x3", "max_pool_3x3", "max_pool_5x5", "max_pool_7x7", "conv_1x1",
               "conv_3x3", "conv_3x1_1x3", "conv_7x1_1x7", "dil_conv_3x3", "sep_conv_3x3", "sep_conv_5x5",
               "sep_conv_7x7"],
    "amoeba": ["skip_connect", "avg_pool_3x3", "max_pool_3x3", "conv_7x1_1x7", "dil_sep_conv_3x3", "sep_conv_3x3",
               "sep_conv_5x5", "sep_conv_7x7"],
    "pnas": ["skip_connect", "avg_pool_3x3", "max_pool_3x3", "conv_7x1_1x7", "dil_conv_3x3", "sep_conv_3x3",
             "sep_conv_5x5", "sep_conv_7x7"],
    "enas": ["skip_connect", "avg_pool_3x3", "max_pool_3x3", "sep_conv_3x3", "sep_conv_5x5"],
    "darts": ["none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "dil_conv_3x3", "dil_conv_5x5",
              "sep_conv_3x3", "sep_conv_5x5"],
}
NAS_NODES = {"nasnet": 5, "amoeba": 5, "pnas": 5, "enas": 5, "darts": 4}
ANYNET_BLOCKS = {"resnext-a": "res_bottleneck_block", "resnext-b": "res_bottleneck_block",
                 "resnet-b": "res_bottleneck_block", "resnet": "res_basic_block", "vanilla": "double_plain_block"}

SWEEPS = (
    "Amoeba", "Amoeba_in", "DARTS", "DARTS_fix-w-d", "DARTS_in", "DARTS_lr-wd", "DARTS_lr-wd_in", "ENAS",
    "ENAS_fix-w-d", "ENAS_in", "NASNet", "NASNet_in", "PNAS", "PNAS_fix-w-d", "PNAS_in", "ResNeXt-A", "ResNeXt-A_in",
    "ResNeXt-B", "ResNeXt-B_in", "ResNet-B", "ResNet", "ResNet_lr-wd", "ResNet_lr-wd_in", "ResNet_reruns",
    "ResNet_rng1", "ResNet_rng2", "ResNet_rng3", "Vanilla", "Vanilla_lr-wd", "Vanilla_lr-wd_in", "Vanilla_reruns",
    "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3",
)


def _genotype(rng: random.Random, proposer: str) -> dict:
    ops = NAS_OPS[proposer]
    nodes = NAS_NODES[proposer]
    genotype = {}
    for cell in ("normal", "reduce"):
        pairs = []
        used = set()
        for node in range(nodes):
            for _ in range(2):
                source = rng.randrange(node + 2)
                used.add(source)
                pairs.append([rng.choice(ops), source])
        genotype[cell] = pairs
        concat = [n for n in range(2, nodes + 2) if n not in used] if proposer != "darts" else list(range(2, 6))
        genotype[f"{cell}_concat"] = concat or [nodes + 1]
    return genotype


def make_net(rng: random.Random, proposer: str, fix_w_d: bool = False) -> dict:
    """A random ``net`` of ``proposer``'s design space, keys as in the sweep files."""
    if proposer in NAS_OPS:
        return {"genotype": _genotype(rng, proposer),
                "width": 32 if fix_w_d else rng.choice([16, 24, 32, 48, 64]),
                "depth": 20 if fix_w_d else rng.choice([4, 8, 12, 16, 20]),
                "aux": False, "drop_prob": 0.0}
    block_type = ANYNET_BLOCKS[proposer]
    stages = 3
    net = {"block_type": block_type,
           "ds": [1] + [rng.randrange(1, 17) for _ in range(stages)],
           "ws": [16] + [rng.choice([16, 24, 32, 40, 48, 64, 96, 128, 256]) for _ in range(stages)],
           "ss": [1, 1, 2, 2]}
    if block_type == "res_bottleneck_block":
        net["bot_muls"] = [0.0] + [rng.choice([0.25, 0.5, 1.0]) for _ in range(stages)]
        net["num_gs"] = [1] + [rng.choice([1, 2, 4, 8]) for _ in range(stages)]
    else:
        # Basic and plain blocks have no bottleneck or groups: stored as null / empty (dropped by NNI's mapping).
        net["bot_muls"] = None
        net["num_gs"] = []
    return net


def _curve(rng: random.Random, start: float, end: float, epochs: int) -> list:
    values = []
    for e in range(epochs):
        t = (e + 1) / epochs
        values.append(round(max(0.0, start + (end - start) * t ** 0.5 + rng.uniform(-0.8, 0.8)), 3))
    return values


def make_job(rng: random.Random, job_id: int, net: dict, imagenet: bool, lr_wd: bool, epochs: int,
             iter_points: int = 20, nan_loss: bool = False) -> dict:
    """One training job in the sweep-file format; ``nan_loss`` puts a NaN into ``train_ep_loss`` (diverged epoch)."""
    base_lr = round(rng.uniform(0.01, 1.0), 5) if lr_wd else (0.05 if imagenet else 0.1)
    wd = round(10 ** rng.uniform(-5, -3), 8) if lr_wd else (5e-5 if imagenet else 5e-4)
    final_err = rng.uniform(20, 45) if imagenet else rng.uniform(4, 15)
    train_err = _curve(rng, 85.0 if imagenet else 70.0, final_err * 0.6, epochs)
    test_err = _curve(rng, 90.0 if imagenet else 60.0, final_err, epochs)
    train_loss = [round(0.05 + e / 40.0, 3) for e in train_err]
    if nan_loss:
        train_loss[len(train_loss) // 2] = float("nan")
    job = {
        "job_id": job_id,
        "rng_seed": 1,
        "exp_mem": round(rng.uniform(500, 9000), 1),
        "params": rng.randrange(100_000, 5_000_000),
        "flops": rng.randrange(10_000_000, 900_000_000),
        "net": net,
        "optim": {"base_lr": base_lr, "lr_policy": "cos", "max_ep": epochs, "momentum": 0.9, "nesterov": True,
                  "warmup_ep": 0, "wd": wd},
        "act_mem": round(rng.uniform(100, 3000), 1),
        "prec_time": round(rng.uniform(0.01, 0.2), 4),
        "iter_time": round(rng.uniform(0.02, 0.3), 3),
        "min_test_top1": min(test_err),
        "train_ep_loss": train_loss,
        "train_ep_top1": train_err,
        "test_ep_top1": test_err,
        "train_it_loss": [round(rng.uniform(0.01, 2.5), 3) for _ in range(iter_points)],
        "train_it_top1": [round(rng.uniform(0.0, 90.0), 3) for _ in range(iter_points)],
    }
    if imagenet:
        del job["prec_time"]
    return job


def _proposer(name: str) -> str:
    return name.split("_")[0].lower()


def sweep_jobs(name: str, count: int, rng: random.Random, base_nets: dict, epochs_cifar: int = 8,
               epochs_imagenet: int = 5, iter_points: int = 20, nan_every: int = 0, first_job_id: int = 0):
    """Yield ``count`` jobs of sweep ``name``. ``base_nets[proposer]`` collects the nets of the plain sweep so that
    ``_rngN`` / ``_reruns`` retrain them (with another ``rng_seed``)."""
    proposer = _proposer(name)
    imagenet = "_in" in name
    lr_wd = "lr-wd" in name
    fix_w_d = "fix-w-d" in name
    epochs = epochs_imagenet if imagenet else epochs_cifar
    rerun = "_rng" in name or "_reruns" in name
    seed = int(name[-1]) + 1 if "_rng" in name else 5
    for k in range(count):
        if rerun:
            nets = base_nets[proposer]
            net = nets[k % len(nets)]
        else:
            net = make_net(rng, proposer, fix_w_d)
            if name in ("ResNet", "Vanilla"):
                base_nets.setdefault(proposer, []).append(net)
        job = make_job(rng, first_job_id + k, net, imagenet, lr_wd, epochs, iter_points,
                       nan_loss=bool(nan_every) and k % nan_every == nan_every - 1)
        if rerun:
            job["rng_seed"] = seed
        yield job


def build_sweeps(counts: dict, seed: int = 0, **kwargs) -> dict:
    """``{name: list of jobs | {'top': [...], 'mid': [...]}}`` for the sweeps in ``counts`` (name -> jobs), in
    NNI's order (plain sweeps before their reruns)."""
    rng = random.Random(seed)
    base_nets: dict = {}
    sweeps = {}
    for name in SWEEPS:
        if name not in counts:
            continue
        count = counts[name]
        if name.endswith("_reruns"):
            jobs = list(sweep_jobs(name, 2 * count, rng, base_nets, **kwargs))
            sweeps[name] = {"top": jobs[:count], "mid": jobs[count:]}
        else:
            sweeps[name] = list(sweep_jobs(name, count, rng, base_nets, **kwargs))
    return sweeps


def dump(value) -> str:
    """JSON text as the sweep files hold it (Python's json: ``NaN`` tokens for NaN)."""
    return json.dumps(value)


def write_dir(directory: Path, sweeps: dict) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in sweeps.items():
        (directory / f"{name}.json").write_text(dump(content))
    return directory


def write_zip(path: Path, sweeps: dict, prefix: str = "nds_data/") -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(prefix, "")  # the directory entry, as `zip -r` writes it
        for name, content in sweeps.items():
            archive.writestr(f"{prefix}{name}.json", dump(content))
    return Path(path)


def write_zip_streaming(path: Path, counts: dict, seed: int = 0, compresslevel: int = 1, **kwargs) -> int:
    """Write a data.zip job by job (bounded memory at any scale); returns the number of jobs written."""
    rng = random.Random(seed)
    base_nets: dict = {}
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as archive:
        archive.writestr("nds_data/", "")
        for name in SWEEPS:
            if name not in counts:
                continue
            count = counts[name]
            with archive.open(f"nds_data/{name}.json", "w", force_zip64=True) as member:
                def write_list(jobs):
                    member.write(b"[")
                    for k, job in enumerate(jobs):
                        member.write((", " if k else "").encode() + dump(job).encode())
                    member.write(b"]")

                if name.endswith("_reruns"):
                    jobs = sweep_jobs(name, 2 * count, rng, base_nets, **kwargs)
                    member.write(b'{"top": ')
                    write_list(job for _, job in zip(range(count), jobs))
                    member.write(b', "mid": ')
                    write_list(jobs)
                    member.write(b"}")
                    total += 2 * count
                else:
                    write_list(sweep_jobs(name, count, rng, base_nets, **kwargs))
                    total += count
    return total
