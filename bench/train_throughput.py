"""Training throughput (images/s) of the nasbench_db trainer beside plain eager PyTorch on the same model.

Models: the README Inception NB-101 cell (2,694,282 parameters) and an NB-201 cell (index 9930 by default).
Data: random uint8 CIFAR-shaped images (the throughput does not depend on pixel values), 32x32x3, 10 classes.

* ``plain eager`` (the floor): the same network in fp32 NCHW, the batch augmented on the CPU with per-image numpy
  crops/flips, copied to the device every step, ``torch.optim`` optimizer -- a straightforward PyTorch loop.
* ``nasbench_db``: :class:`nasbench_db.train.runner.Trainer` with what ``nasbench-db train`` uses by default on the
  device -- dataset resident on the device as uint8, batches augmented there in one gather, channels-last memory,
  multi-tensor optimizer; on CUDA also bf16 autocast and cuDNN autotune.
* ``nasbench_db --amp bf16`` (CPU only): the same plus bf16 autocast, which ``train`` uses on the CPU when asked.
* ``--compile`` adds a ``nasbench_db + torch.compile`` row.

Example::

    python bench/train_throughput.py --steps 6 --batch-size 64            # CPU, brief
    python bench/train_throughput.py --device cuda --steps 50 --compile   # GPU
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nasbench_db.train import protocols  # noqa: E402
from nasbench_db.train.data import ImageSet, Splits  # noqa: E402
from nasbench_db.train.runner import Trainer, build_network, resolve_device  # noqa: E402

INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                     "maxpool3x3", "output"]}


def synthetic_splits(count: int, seed: int = 0) -> Splits:
    rng = np.random.default_rng(seed)
    images = torch.from_numpy(rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8))
    labels = torch.from_numpy(rng.integers(0, 10, count).astype(np.int64))
    train = ImageSet(images, labels, "synthetic")
    return Splits("synthetic", "bench", 10, (3, 32, 32), (125.3, 123.0, 113.9), (63.0, 62.1, 66.7), 4, train,
                  {"test": train})


def ours(space, arch, protocol, device, batches, steps, warmup, amp, compile_model):
    splits = synthetic_splits(max(batches * protocol.batch_size, protocol.batch_size * 4)).to(device)
    torch.manual_seed(0)
    model = build_network(space, arch, 10, protocol)
    cuda = device.type == "cuda"
    trainer = Trainer(model, splits, protocol, device, 0, amp, True, compile_model, None)
    if cuda:
        torch.backends.cudnn.benchmark = True
    for _ in range(warmup + (2 if compile_model else 0)):
        trainer.train_step(trainer.batches.next_batch(), 0.05)
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(trainer.batches.next_batch(), 0.05)
    if cuda:
        torch.cuda.synchronize()
    return steps * protocol.batch_size / (time.perf_counter() - start)


def plain(space, arch, protocol, device, steps, warmup):
    rng = np.random.default_rng(0)
    count = protocol.batch_size * 4
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, count)
    mean = np.array([125.3, 123.0, 113.9], dtype=np.float32)
    std = np.array([63.0, 62.1, 66.7], dtype=np.float32)
    torch.manual_seed(0)
    model = build_network(space, arch, 10, protocol).to(device)
    if protocol.optimizer == "rmsprop_tf":
        optimizer = torch.optim.RMSprop(model.parameters(), lr=0.05, alpha=0.9, eps=1.0, momentum=0.9,
                                        weight_decay=protocol.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                    weight_decay=protocol.weight_decay)

    def batch():
        index = rng.integers(0, count, protocol.batch_size)
        out = np.empty((protocol.batch_size, 32, 32, 3), dtype=np.float32)
        for row, i in enumerate(index):
            padded = np.pad(images[i], ((4, 4), (4, 4), (0, 0)))
            y, x = rng.integers(0, 9, 2)
            crop = padded[y:y + 32, x:x + 32]
            out[row] = (crop[:, ::-1] if rng.random() < 0.5 else crop)
        out = (out - mean) / std
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels[index])

    def step():
        x, y = batch()
        x, y = x.to(device), y.to(device)
        model.train()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * protocol.batch_size / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--dataset-batches", type=int, default=200,
                        help="synthetic training-set size in batches (on the device) for the nasbench_db path")
    parser.add_argument("--nb201-arch", default="9930")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--models", default="nb101,nb201")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}; torch {torch.__version__}; batch {args.batch_size}; {args.steps} timed steps "
          f"after {args.warmup} warm-up")
    rows = []
    cuda = device.type == "cuda"
    variants = [("nasbench_db", "bf16" if cuda else None, False)]
    if not cuda:
        variants.append(("nasbench_db --amp bf16", "bf16", False))
    if args.compile:
        variants.append(("nasbench_db + torch.compile", "bf16" if cuda else None, True))
    for key in args.models.split(","):
        space, arch = ("nb101", INCEPTION) if key == "nb101" else ("nb201", args.nb201_arch)
        protocol = protocols.PROTOCOLS[space].replace(batch_size=args.batch_size)
        label = "NB-101 Inception cell" if space == "nb101" else f"NB-201 cell {arch}"
        floor = plain(space, arch, protocol, device, args.steps, args.warmup)
        print(f"{label:24s} {'plain eager PyTorch':30s} {floor:10.1f} img/s", flush=True)
        row = {"model": label, "plain_eager_images_per_s": round(floor, 1)}
        for name, amp, compile_model in variants:
            rate = ours(space, arch, protocol, device, args.dataset_batches, args.steps, args.warmup, amp,
                        compile_model)
            print(f"{label:24s} {name:30s} {rate:10.1f} img/s   x{rate / floor:.2f}", flush=True)
            row[name] = {"images_per_s": round(rate, 1), "speedup": round(rate / floor, 2)}
        rows.append(row)
    if cuda and rows:
        best = max(v["images_per_s"] for k, v in rows[0].items() if isinstance(v, dict))
        print(f"NB-101 Inception, 108 epochs of 40k at {best:.0f} img/s: {108 * 40000 / best:.0f} s of training "
              "(TPU v2 in the benchmark: 1,156 s; goal: <= 300 s)")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
