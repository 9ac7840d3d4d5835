"""One trial -> one JSON result; sweeps over an arch list with sharding.

:func:`run_trial` builds the network from the space module, loads the dataset split onto the device, trains with the
benchmark's protocol (:mod:`.protocols`) and writes a result in format 1 (:mod:`.schema`).

Speed (CUDA): the whole dataset lives on the GPU as uint8 and batches are augmented there (:class:`.data.Augmenter`),
so the input pipeline never waits on the CPU; bf16 autocast, channels-last tensors, cuDNN autotuning and, optionally,
``torch.compile``. None of these exist on the CPU path, which is the reference for determinism: the same seed on the
same CPU gives the same result bit for bit.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import socket
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import __version__
from ..errors import InvalidArgument, NasbenchDbError
from . import protocols as _protocols
from . import schema as _schema
from .cost import count_flops, count_parameters
from .data import Augmenter, BatchStream, load_splits

SPACES = ("nb101", "nb201", "nats_sss")


# ----------------------------------------------------------------------------------------------------------------------
# architectures

def describe_arch(space: str, arch) -> dict:
    """Canonical identity of ``arch`` in ``space``: ``{'arch', 'arch_hash', 'arch_index', 'slug'}``."""
    if space == "nb101":
        from ..spaces import nb101

        if isinstance(arch, str):
            arch = _json_arch(arch)
        matrix, ops = nb101.parse_arch(arch)
        pmatrix, pops, digest = nb101.canonical(matrix, ops)
        return {"arch": {"matrix": [list(r) for r in pmatrix], "ops": list(pops)}, "arch_hash": digest,
                "arch_index": None, "slug": digest}
    if space == "nb201":
        from ..spaces import nb201

        if isinstance(arch, str) and arch.strip().lstrip("-").isdigit():
            arch = int(arch)
        elif isinstance(arch, str) and arch.strip().startswith("{"):
            arch = _json_arch(arch)
        index = nb201.index_of(arch)
        return {"arch": nb201.arch_str(arch), "arch_hash": None, "arch_index": index, "slug": f"{index:05d}"}
    if space == "nats_sss":
        from ..spaces import nats_sss

        if isinstance(arch, str) and arch.strip().isdigit():
            arch = int(arch)
        index = nats_sss.index_of(arch)
        return {"arch": nats_sss.arch_str(arch), "arch_hash": None, "arch_index": index, "slug": f"{index:05d}"}
    raise InvalidArgument(f"unknown space {space!r}: expected one of {', '.join(SPACES)}")


def _json_arch(text: str):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"arch is not valid JSON: {exc}") from None


def build_network(space: str, arch, num_classes: int, protocol: _protocols.Protocol | None = None,
                  initialise: bool = True):
    """The benchmark network of ``arch`` with the protocol's BN settings (benchmark defaults without one).

    ``initialise=False`` skips NB-101's TF-style initialisation (counting parameters needs no weights)."""
    protocol = protocol or _protocols.PROTOCOLS[space]
    if space == "nb101":
        from .nb101_net import Nb101Network

        net = Nb101Network(_json_arch(arch) if isinstance(arch, str) else arch, num_classes=num_classes,
                           ghost_batch=protocol.ghost_batch, tf_init=initialise)
    elif space == "nb201":
        from .nb201_net import TinyNetwork

        net = TinyNetwork(describe_arch(space, arch)["arch"], num_classes=num_classes)
    elif space == "nats_sss":
        from .nats_sss_net import SizeNetwork

        net = SizeNetwork(describe_arch(space, arch)["arch"], num_classes=num_classes)
    else:
        raise InvalidArgument(f"unknown space {space!r}: expected one of {', '.join(SPACES)}")
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = protocol.bn_momentum
            module.eps = protocol.bn_eps
    return net


#: dataset -> (classes, input side) for cost without reading data
DATASET_SHAPES = {"cifar10": (10, 32), "cifar10-valid": (10, 32), "cifar100": (100, 32),
                  "imagenet16-120": (120, 16), "fashion-mnist": (10, 32)}


def cost(space: str, arch, dataset: str = "cifar10") -> dict:
    """Parameters and FLOPs of the PyTorch network: ``parameters_count`` the exact count, ``parameters_millions`` the
    same in millions (the unit of ``parameters`` in every query result), ``flops`` millions of multiply-adds (conv +
    linear, one image).

    ``parameters`` is the exact count, as in earlier versions: kept so existing scripts keep working, but deprecated
    because queries use the same key in millions; read ``parameters_count`` or ``parameters_millions`` instead.
    """
    dataset = dataset.lower()
    if dataset not in DATASET_SHAPES:
        raise InvalidArgument(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASET_SHAPES)}")
    classes, side = DATASET_SHAPES[dataset]
    ident = describe_arch(space, arch)
    net = build_network(space, ident["arch"], classes, initialise=False)
    count = count_parameters(net)
    return {"space": space, "arch": ident["arch"], "arch_hash": ident["arch_hash"], "arch_index": ident["arch_index"],
            "dataset": dataset, "parameters_count": count, "parameters_millions": count / 1e6,
            "parameters": count,  # deprecated alias of parameters_count (see the docstring)
            "flops": count_flops(net, (3, side, side))}


# ----------------------------------------------------------------------------------------------------------------------
# devices

def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise NasbenchDbError("--device cuda: no CUDA device is available to this torch "
                              f"({torch.__version__}); use --device cpu")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise InvalidArgument(f"unknown device {device!r}: expected auto, cpu or cuda[:N]")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise InvalidArgument(f"unknown device {device!r}: expected auto, cpu or cuda[:N]") from None
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise InvalidArgument(f"--device {device}: no such GPU: got index {resolved.index}, this machine has "
                              f"{torch.cuda.device_count()} (cuda:0..cuda:{torch.cuda.device_count() - 1})")
    return resolved


def device_info(device: torch.device) -> dict:
    if device.type == "cuda":
        return {"type": "cuda", "name": torch.cuda.get_device_name(device), "count": 1}
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"type": "cpu", "name": name, "count": 1}


def software_info() -> dict:
    return {"nasbench_db": __version__, "torch": torch.__version__, "python": platform.python_version(),
            "numpy": np.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _finite(value):
    value = float(value)
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------------------------------------------------
# the trial

class Trainer:
    """Training state of one trial: model, optimizer, data on the device and the evaluation routine."""

    def __init__(self, model, splits, protocol, device, seed: int, amp: str | None, channels_last: bool,
                 compile_model: bool, limit_batches: int | None):
        self.model = model.to(device)
        self.splits = splits
        self.protocol = protocol
        self.device = device
        self.limit_batches = limit_batches
        self.channels_last = channels_last
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.optimizer = _protocols.make_optimizer(protocol, self.model.parameters())
        self.forward = torch.compile(self.model) if compile_model else self.model
        self.autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if amp == "bf16" else \
            contextlib.nullcontext
        generator = torch.Generator(device=device)
        generator.manual_seed(seed * 1_000_003 + 17)
        pad = protocol.pad if protocol.pad is not None else splits.pad
        self.augment = Augmenter(splits.mean, splits.std, pad, protocol.flip, device, generator)
        self.batches = BatchStream(len(splits.train), protocol.batch_size, generator, device, stream=protocol.stream,
                                   drop_last=protocol.stream)
        self.training_time = 0.0

    def train_step(self, index: torch.Tensor, lr: float):
        _protocols.set_lr(self.optimizer, lr)
        images = self.augment(self.splits.train.images[index])
        if not self.channels_last:
            images = images.contiguous()
        labels = self.splits.train.labels[index]
        self.model.train()
        with self.autocast():
            logits = self.forward(images)
        loss = F.cross_entropy(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach() * labels.shape[0], (logits.detach().argmax(1) == labels).sum(), labels.shape[0]

    @torch.no_grad()
    def evaluate(self) -> dict:
        """Accuracy (percent) and mean loss on every evaluation set (derived subsets from their parent's results)."""
        self.model.eval()
        batch = self.protocol.batch_size
        per_set = {}
        results = {}
        for name, images in self.splits.evals.items():
            count = len(images)
            if self.limit_batches is not None:
                count = min(count, self.limit_batches * batch)
            correct = torch.empty(count, dtype=torch.bool, device=self.device)
            losses = torch.empty(count, dtype=torch.float32, device=self.device)
            for start in range(0, count, batch):
                stop = min(start + batch, count)
                x = self.augment.normalise(images.images[start:stop])
                x = x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()
                y = images.labels[start:stop]
                with self.autocast():
                    logits = self.forward(x)
                losses[start:stop] = F.cross_entropy(logits.float(), y, reduction="none")
                correct[start:stop] = logits.argmax(1) == y
            per_set[name] = (correct, losses)
        for name, (parent, indices) in self.splits.subsets.items():
            correct, losses = per_set[parent]
            indices = indices[indices < correct.shape[0]]
            per_set[name] = (correct[indices], losses[indices])
        for name, (correct, losses) in per_set.items():
            n = int(correct.shape[0])
            hits = int(correct.sum())
            results[name] = {"acc": 100.0 * hits / n if n else None, "loss": _finite(losses.double().mean()) if n
                             else None, "correct": hits, "count": n}
        return results


def run_trial(space: str, arch, dataset: str, data_dir=None, epochs: int | None = None, seed: int = 0,
              out_dir=None, device: str = "auto", limit_batches: int | None = None, amp: str = "auto",
              channels_last: str = "auto", compile_model: bool = False, deterministic: bool | None = None,
              protocol_overrides: dict | None = None, splits=None, log=None,
              progress_every: float | None = 30.0) -> dict:
    """Train one trial and return its result (format 1); with ``out_dir``, also write ``<out_dir>/<name>.json``.

    ``amp``: 'auto' = bf16 autocast on CUDA only ('bf16' asks for it on the CPU too: fast where the CPU has native
    bf16, but not the fp32 arithmetic of the protocol). ``channels_last``: 'auto' = on for every device (NHWC
    convolutions are faster on GPUs and on oneDNN CPUs alike). ``deterministic`` (default: on for CPU) asks torch
    for deterministic kernels. ``splits`` lets a sweep reuse loaded data. ``log`` (a callable taking a line) gets the
    evaluations and, every ``progress_every`` seconds of an epoch (None: never), a progress line. ``out_dir`` is
    checked for writing before anything is read or trained.
    """
    if space not in SPACES:
        raise InvalidArgument(f"unknown space {space!r}: expected one of {', '.join(SPACES)}")
    protocol = _protocols.PROTOCOLS[space].replace(**(protocol_overrides or {}))
    epochs = protocol.default_epochs if epochs is None else epochs
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise InvalidArgument(f"epochs must be a positive integer: got {epochs!r}")
    if limit_batches is not None and limit_batches < 1:
        raise InvalidArgument(f"limit_batches must be at least 1: got {limit_batches}")
    dev = resolve_device(device)
    if out_dir is not None:
        check_out_dir(out_dir)
    use_amp = "bf16" if (amp == "bf16" or (amp == "auto" and dev.type == "cuda")) else None
    use_cl = channels_last in ("on", "auto")
    deterministic = dev.type == "cpu" if deterministic is None else deterministic
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = not deterministic
        torch.backends.cudnn.deterministic = deterministic
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    ident = describe_arch(space, arch)
    scheme = "nb101" if space == "nb101" else "nb201"
    if splits is None:
        splits = load_splits(dataset, data_dir, scheme, protocol.eval_examples)
    splits = splits.to(dev)
    torch.manual_seed(seed)
    model = build_network(space, ident["arch"], splits.num_classes, protocol)
    parameters = count_parameters(model)
    flops = count_flops(model, splits.input_shape)
    previous_det = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    started_at = _utc_now()
    try:
        trainer = Trainer(model, splits, protocol, dev, seed, use_amp, use_cl, compile_model, limit_batches)
        epoch_stats, evaluations, total_steps = _train(trainer, protocol, epochs, limit_batches, log, progress_every)
    finally:
        torch.use_deterministic_algorithms(previous_det)
    result = {
        "format": _schema.FORMAT, "format_version": _schema.FORMAT_VERSION, "space": space,
        "arch": ident["arch"], "arch_hash": ident["arch_hash"], "arch_index": ident["arch_index"],
        "dataset": splits.dataset, "data": {"scheme": scheme, "sets": splits.describe()},
        "epochs": epochs, "seed": seed, "parameters": parameters, "flops": flops,
        "protocol": {**protocol.as_dict(), "total_steps": total_steps},
        "epoch_stats": epoch_stats, "evaluations": evaluations,
        "training_time": trainer.training_time, "total_time": evaluations[-1]["wall_time"],
        "status": "completed", "device": device_info(dev),
        "runtime": {"amp": use_amp, "channels_last": use_cl, "compile": bool(compile_model),
                    "deterministic": deterministic, "limit_batches": limit_batches,
                    "threads": torch.get_num_threads()},
        "software": software_info(), "host": socket.gethostname(), "started_at": started_at,
        "finished_at": _utc_now(),
    }
    _schema.seal(result)
    if out_dir is not None:
        write_result(result, out_dir)
    return result


def _train(trainer: Trainer, protocol, epochs: int, limit_batches, log, progress_every=None):
    dev = trainer.device
    train_size = len(trainer.splits.train)
    if protocol.stream:
        steps_per_epoch = train_size / protocol.batch_size if limit_batches is None else float(limit_batches)
    else:
        full = math.ceil(train_size / protocol.batch_size)
        steps_per_epoch = float(full if limit_batches is None else min(full, limit_batches))
    total_steps = int(epochs * steps_per_epoch)
    if total_steps < 1:
        raise InvalidArgument(f"{epochs} epochs of {train_size} images at batch {protocol.batch_size} is no step")
    boundaries = [int(k * steps_per_epoch) for k in range(epochs + 1)]
    eval_steps: dict = {}  # step -> epoch labels evaluated after it (a tiny run may merge two of them)
    if protocol.eval_schedule == "halfway":
        for at, label in ((1, 0.0), (total_steps // 2, epochs / 2), (total_steps, float(epochs))):
            eval_steps.setdefault(max(at, 1), []).append(label)
    elif protocol.eval_schedule == "every_epoch":
        for k in range(1, epochs + 1):
            eval_steps.setdefault(boundaries[k], []).append(float(k))
    else:
        raise InvalidArgument(f"unknown eval_schedule {protocol.eval_schedule!r}: expected halfway or every_epoch")
    epoch_stats, evaluations = [], []
    wall_start = time.perf_counter()
    step = 0
    heartbeat = _Heartbeat(log, progress_every, total_steps, protocol.batch_size)
    for epoch in range(epochs):
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), dtype=torch.long, device=dev)
        seen = 0
        _sync(dev)
        tick = time.perf_counter()
        epoch_train_time = 0.0
        lr = first_lr = None
        if protocol.stream:
            indices = (trainer.batches.next_batch() for _ in range(boundaries[epoch], boundaries[epoch + 1]))
        else:
            indices = trainer.batches.epoch()
            lr = _protocols.cosine_by_epoch(epoch, epochs, protocol.lr)
        for number, index in enumerate(indices):
            if not protocol.stream and limit_batches is not None and number >= limit_batches:
                break
            step_lr = _protocols.cosine_by_step(step, total_steps, protocol.lr) if protocol.stream else lr
            first_lr = step_lr if number == 0 else first_lr
            batch_loss, batch_correct, n = trainer.train_step(index, step_lr)
            loss_sum += batch_loss
            correct += batch_correct
            seen += n
            step += 1
            heartbeat.step(epoch, epochs, step, loss_sum, seen)
            if step in eval_steps:
                _sync(dev)
                elapsed = time.perf_counter() - tick
                trainer.training_time += elapsed
                epoch_train_time += elapsed
                sets = trainer.evaluate()
                _sync(dev)
                for label in eval_steps[step]:
                    evaluations.append({"epoch": label, "step": step, "training_time": trainer.training_time,
                                        "wall_time": time.perf_counter() - wall_start, "sets": sets})
                if log:
                    log(f"epoch {eval_steps[step][-1]:g} step {step}/{total_steps}: "
                        + ", ".join(f"{k} {v['acc']:.2f}%" for k, v in sets.items()))
                tick = time.perf_counter()
                heartbeat.restart()
        _sync(dev)
        elapsed = time.perf_counter() - tick
        trainer.training_time += elapsed
        epoch_train_time += elapsed
        epoch_stats.append({"epoch": epoch + 1, "lr": first_lr,
                            "train_loss": _finite(loss_sum / seen) if seen else None,
                            "train_acc": 100.0 * int(correct) / seen if seen else None, "steps": seen and
                            (boundaries[epoch + 1] - boundaries[epoch] if protocol.stream else
                             math.ceil(seen / protocol.batch_size)), "train_time": epoch_train_time})
    return epoch_stats, evaluations, total_steps


class _Heartbeat:
    """Progress lines during an epoch (an epoch of a CPU run takes minutes): every ``every`` seconds, the step, the
    running training loss, images/s since the last line and the time left at that rate. Reading the clock costs
    nothing per step; the loss is read from the device only when a line is written."""

    def __init__(self, log, every: float | None, total_steps: int, batch_size: int):
        self.log = log if every is not None else None
        self.every = every
        self.total_steps = total_steps
        self.batch_size = batch_size
        self.restart()

    def restart(self):
        """Start a new measuring window (after an evaluation, whose time is not training)."""
        self.since = time.perf_counter()
        self.steps = 0

    def step(self, epoch: int, epochs: int, step: int, loss_sum, seen: int):
        if self.log is None:
            return
        self.steps += 1
        now = time.perf_counter()
        elapsed = now - self.since
        if elapsed < self.every or step >= self.total_steps:
            return
        rate = self.steps / elapsed if elapsed > 0 else float("inf")
        left = (self.total_steps - step) / rate if rate > 0 else float("inf")
        loss = float(loss_sum) / seen if seen else float("nan")
        self.log(f"epoch {epoch + 1}/{epochs} step {step}/{self.total_steps} ({100.0 * step / self.total_steps:.1f}%):"
                 f" train loss {loss:.4f}, {rate * self.batch_size:.1f} images/s, about {_duration(left)} left")
        self.restart()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------------------------------------------------
# files and sweeps

def result_stem(space: str, slug: str, dataset: str, epochs: int, seed: int) -> str:
    return f"{space}-{slug}-{dataset}-e{epochs}-s{seed}"


def check_out_dir(out_dir) -> Path:
    """Create ``out_dir`` if needed and prove a result file can be written there, before anything is trained (a run
    must never end with nowhere to put its result)."""
    out = Path(out_dir)
    probe = out / f".nasbench-db-write-check-{os.getpid()}"
    try:
        out.mkdir(parents=True, exist_ok=True)
        with open(probe, "w", encoding="utf-8") as handle:
            handle.write("ok\n")
        probe.unlink()
    except OSError as exc:
        raise NasbenchDbError(f"--out {out}: cannot write results there ({exc.strerror or exc}): choose a writable "
                              "directory; nothing was trained") from None
    return out


def write_result(result: dict, out_dir) -> Path:
    """Write ``result`` atomically as ``<out_dir>/<space>-<arch>-<dataset>-e<E>-s<seed>-<key8>.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    slug = result["arch_hash"] or f"{result['arch_index']:05d}"
    name = f"{result_stem(result['space'], slug, result['dataset'], result['epochs'], result['seed'])}-" \
           f"{result['result_key'][:8]}.json"
    temp = out / f".{name}.tmp-{os.getpid()}"
    temp.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, out / name)
    return out / name


def read_arch_file(path) -> list:
    """Architectures of an arch file: one per line (JSON for NB-101, string or index for the others); '#' comments
    and blank lines are skipped."""
    archs = []
    for line in Path(path).read_text().splitlines():
        text = line.strip()
        if text and not text.startswith("#"):
            archs.append(text)
    return archs


def parse_shard(shard: str | None, environ=None) -> tuple[int, int]:
    """``(k, n)`` from ``K/N`` (K in 0..N-1) or Slurm's array variables; ``(0, 1)`` when neither is set."""
    environ = os.environ if environ is None else environ
    if shard is None and "SLURM_ARRAY_TASK_ID" in environ:
        count = environ.get("SLURM_ARRAY_TASK_COUNT")
        if count is None:
            raise InvalidArgument("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not: pass --shard K/N")
        task = int(environ["SLURM_ARRAY_TASK_ID"]) - int(environ.get("SLURM_ARRAY_TASK_MIN", "0"))
        shard = f"{task}/{count}"
    if shard is None:
        return 0, 1
    try:
        k_text, n_text = shard.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise InvalidArgument(f"--shard must be K/N with integers: got {shard!r}") from None
    if n < 1 or not 0 <= k < n:
        raise InvalidArgument(f"--shard K/N needs 0 <= K < N: got {shard!r}")
    return k, n


def shard_items(items: list, k: int, n: int) -> list:
    """Items ``k, k+n, k+2n...`` (round robin keeps shards balanced when the list is sorted by cost)."""
    return items[k::n]


def done_stems(out_dir) -> set:
    """Stems of results already in ``out_dir`` (a restarted array task skips them)."""
    out = Path(out_dir)
    if not out.is_dir():
        return set()
    return {p.name.rsplit("-", 1)[0] for p in out.glob("*.json")}
