"""Datasets and splits for the training jobs, held as uint8 tensors on the training device.

Readers (from ``--data-dir``; the standard files are verified by md5 when present under their standard names):

* CIFAR-10 python batches (``cifar-10-batches-py/`` or the batch files themselves), CIFAR-100 (``cifar-100-python/``);
* ImageNet16 pickles (``train_data_batch_1..10``, ``val_data``; ImageNet16-120 keeps labels 1..120 as 0..119);
* Fashion-MNIST idx files (``train-images-idx3-ubyte[.gz]`` ...; Debian's ``dataset-fashion-mnist`` installs them in
  ``/usr/share/datasets/fashion-mnist``) for offline runs: 28x28 grey images are zero-padded to 32x32 and repeated
  over 3 channels so the benchmark networks run unchanged.

Splits (``scheme`` = the benchmark's protocol):

* ``nb101`` / cifar10: train ``data_batch_1..4`` (40k); evaluation sets ``train`` (``data_batch_1``), ``valid``
  (``data_batch_5``), ``test`` (``test_batch``), each cut to the protocol's first 9,984 images in file order.
* ``nb201``: cifar10-valid trains on the 25k of ``random.seed(1021); random.shuffle(range(50000))[:25000]`` (sorted)
  and evaluates ``x-valid`` = the other 25k and ``ori-test``; cifar10 trains on 50k and evaluates ``ori-test``;
  cifar100 / ImageNet16-120 train on the full train set and evaluate ``ori-test`` plus its halves ``x-valid`` /
  ``x-test`` given by AutoDL-Projects' ``cifar100-test-split.txt`` / ``imagenet-16-120-test-split.txt``. Those two
  files are not reproducible from a seed, so the package bundles them (``nasbench_db/data/``, MIT, md5-checked like
  the datasets); a copy in ``--data-dir`` takes precedence and must carry the same md5.
* any other (dataset, scheme): the last 10,000 training images are ``valid``, the rest train; ``test`` is the test
  file.

Augmentation runs on the device on whole batches: zero-pad the raw uint8 image, random crop back, random horizontal
flip (one gather does all three), then normalise -- the order of both benchmarks' pipelines.
"""

from __future__ import annotations

import gzip
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .._resources import bundled_file
from ..checksums import file_digest
from ..errors import ChecksumMismatch, CorruptInput, InvalidArgument, NasbenchDbError
from .schema import DATASETS  # noqa: F401  (one list of trainable datasets, shared with the result format)

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
#: environment variable naming another Fashion-MNIST directory (default: Debian's FASHION_MNIST_DIR); pointing it
#: at an empty directory shows what a machine without the Debian package sees
FASHION_MNIST_ENV = "NASBENCH_FASHION_MNIST_DIR"

CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f", "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751", "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb", "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR100_MD5 = {"train": "16019d7e3df5f24257cddd939b257f8d", "test": "f0ef6b0ae62326f3e7ffdfab6717acfc"}
IMAGENET16_MD5 = {
    "train_data_batch_1": "27846dcaa50de8e21a7d1a35f30f0e91", "train_data_batch_2": "c7254a054e0e795c69120a5727050e3f",
    "train_data_batch_3": "4333d3df2e5ffb114b05d2ffc19b1e87", "train_data_batch_4": "1620cdf193304f4a92677b695d70d10f",
    "train_data_batch_5": "348b3c2fdbb3940c4e9e834affd3b18d", "train_data_batch_6": "6e765307c242a1b3d7d5ef9139b48945",
    "train_data_batch_7": "564926d8cbf8fc4818ba23d2faac7564", "train_data_batch_8": "f4755871f718ccb653440b9dd0ebac66",
    "train_data_batch_9": "bb6dd660c38c58552125b1a92f86b5d4", "train_data_batch_10": "8f03f34ac4b42271a294f91bf480f29b",
    "val_data": "3410e3017fdaefba8d5073aaa65e4bd6",
}
#: dataset -> the split file giving NB-201's x-valid / x-test halves of its test set.
TEST_SPLIT_FILES = {"cifar100": "cifar100-test-split.txt", "imagenet16-120": "imagenet-16-120-test-split.txt"}
#: AutoDL-Projects split files (configs/nas-benchmark/), md5 of the files as published; bundled with the package.
SPLIT_FILE_MD5 = {
    "cifar100-test-split.txt": "16f51963f0ccd95cb6c08c33ca4c1665",
    "imagenet-16-120-test-split.txt": "670c7749b090d2e937e20d10e811be22",
}
#: The cifar10-valid split: NAS-Bench-201's seeded shuffle of the 50k CIFAR-10 training images.
CIFAR10_VALID_SEED = 1021

#: Per-channel mean / std on the 0-255 scale: (benchmark scheme, dataset) -> values; None scheme = any.
NORMALISATION = {
    ("nb101", "cifar10"): ((125.31, 122.95, 113.87), (62.99, 62.09, 66.70)),
    (None, "cifar10"): ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),
    (None, "cifar10-valid"): ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),
    (None, "cifar100"): ((129.3, 124.1, 112.4), (68.2, 65.4, 70.4)),
    (None, "imagenet16-120"): ((122.68, 116.66, 104.01), (63.22, 61.26, 65.09)),
    (None, "fashion-mnist"): ((72.94, 72.94, 72.94), (90.02, 90.02, 90.02)),
}


def check_dataset(name: str) -> str:
    key = name.lower()
    if key not in DATASETS:
        raise InvalidArgument(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return key


@dataclass
class ImageSet:
    """Images (uint8, N x C x H x W) and int64 labels."""

    images: torch.Tensor
    labels: torch.Tensor
    description: str = ""

    def __len__(self):
        return int(self.labels.shape[0])

    def take(self, count: int | None, description: str | None = None) -> "ImageSet":
        if count is None or count >= len(self):
            return self if description is None else ImageSet(self.images, self.labels, description)
        return ImageSet(self.images[:count], self.labels[:count],
                        description if description is not None else f"{self.description}[:{count}]")

    def select(self, indices, description: str) -> "ImageSet":
        index = torch.as_tensor(indices, dtype=torch.long)
        return ImageSet(self.images[index], self.labels[index], description)

    def to(self, device) -> "ImageSet":
        return ImageSet(self.images.to(device), self.labels.to(device), self.description)


@dataclass
class Splits:
    """Everything a trial needs from its data: the training set, the evaluation sets and how to normalise."""

    dataset: str
    scheme: str
    num_classes: int
    input_shape: tuple
    mean: tuple
    std: tuple
    pad: int
    train: ImageSet
    evals: dict  # name -> ImageSet
    #: derived evaluation sets: name -> (parent eval set name, indices into it); computed from the parent's
    #: per-example results, so the parent is evaluated once.
    subsets: dict = field(default_factory=dict)

    def describe(self) -> dict:
        out = {"train": {"count": len(self.train), "source": self.train.description}}
        for name, images in self.evals.items():
            out[name] = {"count": len(images), "source": images.description}
        for name, (parent, indices) in self.subsets.items():
            out[name] = {"count": len(indices), "source": f"subset of {parent}"}
        return out

    def to(self, device) -> "Splits":
        self.train = self.train.to(device)
        self.evals = {k: v.to(device) for k, v in self.evals.items()}
        self.subsets = {k: (p, torch.as_tensor(i, dtype=torch.long, device=device))
                        for k, (p, i) in self.subsets.items()}
        return self


# ----------------------------------------------------------------------------------------------------------------------
# file readers

def _verify(path: Path, expected: str | None, verify: bool) -> None:
    if verify and expected is not None:
        actual = file_digest(path, "md5")
        if actual != expected:
            raise ChecksumMismatch(f"{path}: md5 {actual}, expected {expected} (a damaged or different file: "
                                   "download it again)")


def _find(data_dir: Path, names, subdirs) -> Path:
    """The first directory among ``data_dir/<subdir>`` holding every file of ``names``."""
    for sub in subdirs:
        base = data_dir / sub if sub else data_dir
        if all((base / n).is_file() for n in names):
            return base
    where = " or ".join(str(data_dir / s) if s else str(data_dir) for s in subdirs)
    raise NasbenchDbError(f"dataset files not found: expected {', '.join(names)} in {where}")


def _unpickle(path: Path) -> dict:
    """A CIFAR python batch through the restricted pickle reader: plain data and numeric numpy arrays only, no code
    from the file runs (even unverified: --no-verify, or a batch whose md5 nobody published)."""
    from ..convert.pickle_stream import PickleDataError, UnsupportedPickle, load_data_pickle

    try:
        with open(path, "rb") as handle:
            # an ImageNet16 training batch holds ~100 MB of pixels in one value
            batch = load_data_pickle(handle.read, arrays=True, max_value_bytes=256 << 20, max_live_bytes=768 << 20)
    except (PickleDataError, UnsupportedPickle, EOFError) as exc:
        raise CorruptInput(path, f"not a python pickle batch: {exc}") from None
    if not isinstance(batch, dict):
        raise CorruptInput(path, f"not a python pickle batch: a {type(batch).__name__}, expected a dict")
    return batch


def _get(batch: dict, key: str, path: Path):
    for candidate in (key, key.encode()):
        if candidate in batch:
            return batch[candidate]
    raise CorruptInput(path, f"batch has no {key!r} entry (keys: {sorted(map(str, batch))})")


def _pickle_images(path: Path, label_key: str, side: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(path)
    data = np.asarray(_get(batch, "data", path), dtype=np.uint8)
    labels = np.asarray(_get(batch, label_key, path), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * side * side or data.shape[0] != labels.shape[0]:
        raise CorruptInput(path, f"expected {3 * side * side} bytes per image and one label each: got data "
                                 f"{data.shape}, labels {labels.shape}")
    return data.reshape(-1, 3, side, side), labels


def _as_set(images: np.ndarray, labels: np.ndarray, description: str) -> ImageSet:
    return ImageSet(torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels), description)


def _read_cifar(data_dir, md5s: dict, folder: str, label_key: str, verify: bool) -> dict:
    """Every file of ``md5s`` (found in ``data_dir`` or its ``folder``) -> ImageSet (file order)."""
    base = _find(Path(data_dir), list(md5s), [folder, ""])
    out = {}
    for name, md5 in md5s.items():
        path = base / name
        _verify(path, md5, verify)
        out[name] = _as_set(*_pickle_images(path, label_key, 32), name)
    return out


def read_cifar10(data_dir, verify: bool = True) -> dict:
    """``{'data_batch_1'..'data_batch_5', 'test_batch'}`` -> ImageSet (file order)."""
    return _read_cifar(data_dir, CIFAR10_MD5, "cifar-10-batches-py", "labels", verify)


def read_cifar100(data_dir, verify: bool = True) -> dict:
    """``{'train', 'test'}`` -> ImageSet (fine labels, file order)."""
    return _read_cifar(data_dir, CIFAR100_MD5, "cifar-100-python", "fine_labels", verify)


def read_imagenet16(data_dir, num_classes: int = 120, verify: bool = True) -> dict:
    """``{'train', 'val'}`` of ImageNet16 keeping labels 1..num_classes (as 0..num_classes-1), file order."""
    base = _find(Path(data_dir), list(IMAGENET16_MD5), ["ImageNet16", "imagenet16", ""])
    parts = {"train": [], "val": []}
    for name, md5 in IMAGENET16_MD5.items():
        path = base / name
        _verify(path, md5, verify)
        images, labels = _pickle_images(path, "labels", 16)
        keep = (labels >= 1) & (labels <= num_classes)
        parts["val" if name == "val_data" else "train"].append((images[keep], labels[keep] - 1))
    return {key: _as_set(np.concatenate([p[0] for p in value]), np.concatenate([p[1] for p in value]),
                         f"ImageNet16-{num_classes} {key}") for key, value in parts.items()}


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as exc:
        raise CorruptInput(path, f"cannot read idx file: {exc}") from None
    if len(raw) < 8 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise CorruptInput(path, "not an unsigned-byte idx file (bad magic number)")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise CorruptInput(path, f"idx payload is {len(raw) - offset} bytes, header says {dims} = {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def fashion_mnist_dir() -> Path:
    """Where Fashion-MNIST is read from without ``--data-dir``: ``$NASBENCH_FASHION_MNIST_DIR``, else Debian's
    ``/usr/share/datasets/fashion-mnist`` (read at every call)."""
    return Path(os.environ.get(FASHION_MNIST_ENV) or FASHION_MNIST_DIR)


def have_fashion_mnist(data_dir=None) -> bool:
    """Whether the Fashion-MNIST training images are present (in ``data_dir`` or :func:`fashion_mnist_dir`)."""
    base = Path(data_dir) if data_dir is not None else fashion_mnist_dir()
    return any((base / name).is_file() for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                                    "fashion-mnist/train-images-idx3-ubyte.gz"))


def read_fashion_mnist(data_dir=None) -> dict:
    """``{'train', 'test'}`` of Fashion-MNIST as 3 x 32 x 32 uint8 images (zero-padded, grey repeated)."""
    base = Path(data_dir) if data_dir is not None else fashion_mnist_dir()
    out = {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        paths = []
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
            for candidate in (base / f"{prefix}-{kind}", base / f"{prefix}-{kind}.gz",
                              base / "fashion-mnist" / f"{prefix}-{kind}.gz"):
                if candidate.is_file():
                    paths.append(candidate)
                    break
            else:
                raise NasbenchDbError(f"Fashion-MNIST file {prefix}-{kind}[.gz] not found in {base} "
                                      "(apt-get install dataset-fashion-mnist puts it in " + FASHION_MNIST_DIR + ", "
                                      "or give --data-dir)")
        images, labels = _read_idx(paths[0]), _read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
            raise CorruptInput(paths[0], f"images {images.shape} and labels {labels.shape} do not match")
        padded = np.zeros((images.shape[0], 3, 32, 32), dtype=np.uint8)
        padded[:, :, 2:30, 2:30] = images[:, None]
        out[part] = _as_set(padded, labels.astype(np.int64), f"fashion-mnist {part}")
    return out


def read_split_file(data_dir, name: str, verify: bool = True) -> dict:
    """An AutoDL-Projects split file ``{"key": ["int", ["0", ...]]}`` -> ``{key: [int, ...]}``.

    Looked up in ``data_dir`` (and its ``splits/``) first, then in the copy bundled with the package.
    """
    candidates = [] if data_dir is None else [Path(data_dir) / name, Path(data_dir) / "splits" / name]
    candidates.append(bundled_file(name))
    for path in candidates:
        if path.is_file():
            _verify(path, SPLIT_FILE_MD5.get(name), verify)
            try:
                raw = json.loads(path.read_text())
                return {key: [int(v) for v in value[1]] for key, value in raw.items()}
            except (ValueError, TypeError, IndexError, AttributeError) as exc:
                raise CorruptInput(path, f"not a split file ({{\"key\": [\"int\", [...]]}}): {exc}") from None
    raise NasbenchDbError(
        f"split file {name} not found in {data_dir} nor in the package ({bundled_file(name).parent}): reinstall nasbench_db or "
        f"copy {name} (md5 {SPLIT_FILE_MD5.get(name)}) from AutoDL-Projects configs/nas-benchmark/ into the data "
        "directory")


def cifar10_valid_indices() -> tuple[list, list]:
    """NAS-Bench-201's cifar10-valid split of the 50k CIFAR-10 training images: (train 25k, valid 25k), sorted."""
    indices = list(range(50000))
    random.Random(CIFAR10_VALID_SEED).shuffle(indices)
    return sorted(indices[:25000]), sorted(indices[25000:])


# ----------------------------------------------------------------------------------------------------------------------
# splits

def _concat(sets, description: str) -> ImageSet:
    return ImageSet(torch.cat([s.images for s in sets]), torch.cat([s.labels for s in sets]), description)


def _holdout(train: ImageSet, test: ImageSet, valid_count: int = 10000) -> tuple:
    cut = len(train) - valid_count
    return (ImageSet(train.images[:cut], train.labels[:cut], f"{train.description}[:{cut}]"),
            ImageSet(train.images[cut:], train.labels[cut:], f"{train.description}[{cut}:]"), test)


def load_splits(dataset: str, data_dir=None, scheme: str = "nb101", eval_examples: int | None = None,
                verify: bool = True) -> Splits:
    """Read ``dataset`` from ``data_dir`` and cut it as the ``scheme`` benchmark did (see the module docstring)."""
    dataset = check_dataset(dataset)
    if data_dir is None and dataset != "fashion-mnist":
        raise InvalidArgument(f"--data-dir is required for {dataset}")
    subsets: dict = {}
    if dataset in ("cifar10", "cifar10-valid"):
        files = read_cifar10(data_dir, verify)
        test = files["test_batch"]
        if scheme == "nb101" and dataset == "cifar10":
            train = _concat([files[f"data_batch_{i}"] for i in range(1, 5)], "data_batch_1..4")
            evals = {"train": files["data_batch_1"], "valid": files["data_batch_5"], "test": test}
        else:
            full = _concat([files[f"data_batch_{i}"] for i in range(1, 6)], "data_batch_1..5")
            if dataset == "cifar10-valid":
                train_idx, valid_idx = cifar10_valid_indices()
                train = full.select(train_idx, "cifar10 train, seed-1021 half (25k)")
                evals = {"x-valid": full.select(valid_idx, "cifar10 train, other seed-1021 half (25k)"),
                         "ori-test": test}
            elif scheme == "nb201":
                train, evals = full, {"ori-test": test}
            else:
                train, valid, test = _holdout(full, test)
                evals = {"train": train, "valid": valid, "test": test}
        num_classes, side = 10, 32
    elif dataset in TEST_SPLIT_FILES:  # cifar100, imagenet16-120
        if dataset == "cifar100":
            files = read_cifar100(data_dir, verify)
            full, test = files["train"], files["test"]
            num_classes, side = 100, 32
        else:
            files = read_imagenet16(data_dir, 120, verify)
            full, test = files["train"], files["val"]
            num_classes, side = 120, 16
        if scheme == "nb201":
            train, evals = full, {"ori-test": test}
            split = read_split_file(data_dir, TEST_SPLIT_FILES[dataset], verify)
            subsets = {"x-valid": ("ori-test", split["xvalid"]), "x-test": ("ori-test", split["xtest"])}
        else:
            train, valid, test = _holdout(full, test)
            evals = {"train": train, "valid": valid, "test": test}
    else:  # fashion-mnist
        files = read_fashion_mnist(data_dir)
        train, valid, test = _holdout(files["train"], files["test"])
        evals = ({"x-valid": valid, "ori-test": test} if scheme != "nb101"
                 else {"train": train, "valid": valid, "test": test})
        num_classes, side = 10, 32
    if eval_examples is not None:
        evals = {name: images.take(eval_examples) for name, images in evals.items()}
    mean, std = NORMALISATION.get((scheme, dataset)) or NORMALISATION[(None, dataset)]
    return Splits(dataset=dataset, scheme=scheme, num_classes=num_classes, input_shape=(3, side, side), mean=mean,
                  std=std, pad=4 if side == 32 else 2, train=train, evals=evals, subsets=subsets)


# ----------------------------------------------------------------------------------------------------------------------
# batches on the device

class Augmenter:
    """Pad + random crop + random flip + normalise a uint8 batch in one gather, on the batch's device.

    Output is float32 in channels-last memory layout (what convolutions on a GPU prefer).
    """

    def __init__(self, mean, std, pad: int, flip: bool, device, generator: torch.Generator):
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        self.inv_std = (1.0 / torch.tensor(std, dtype=torch.float32, device=device)).view(1, -1, 1, 1)
        self.pad = pad
        self.flip = flip
        self.generator = generator
        self.device = device

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self.mean) * self.inv_std

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n, _, height, width = images.shape
        if self.pad == 0 and not self.flip:
            return self.normalise(images)
        p = self.pad
        padded = torch.nn.functional.pad(images, (p, p, p, p)) if p else images
        dy = torch.randint(0, 2 * p + 1, (n,), device=self.device, generator=self.generator)
        dx = torch.randint(0, 2 * p + 1, (n,), device=self.device, generator=self.generator)
        rows = dy[:, None] + torch.arange(height, device=self.device)
        cols = torch.arange(width, device=self.device).expand(n, width)
        if self.flip:
            flips = torch.randint(0, 2, (n,), device=self.device, generator=self.generator).bool()
            cols = torch.where(flips[:, None], cols.flip(1), cols)
        cols = dx[:, None] + cols
        batch = torch.arange(n, device=self.device)[:, None, None]
        # (N, H, W, C) gather; permuting back gives an NCHW view in channels-last memory order
        out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        return self.normalise(out.permute(0, 3, 1, 2))


class BatchStream:
    """Index batches of a training set: per-epoch permutations, or NB-101's endless stream crossing epochs."""

    def __init__(self, size: int, batch_size: int, generator: torch.Generator, device, stream: bool,
                 drop_last: bool):
        self.size = size
        self.batch_size = batch_size
        self.generator = generator
        self.device = device
        self.stream = stream
        self.drop_last = drop_last
        self._pending = torch.empty(0, dtype=torch.long, device=device)

    def _perm(self):
        return torch.randperm(self.size, generator=self.generator, device=self.device)

    def next_batch(self) -> torch.Tensor:
        """Next batch in stream mode (always full)."""
        while self._pending.numel() < self.batch_size:
            self._pending = torch.cat([self._pending, self._perm()])
        batch, self._pending = self._pending[:self.batch_size], self._pending[self.batch_size:]
        return batch

    def epoch(self):
        """Batches of one epoch in epoch mode."""
        order = self._perm()
        stop = self.size - self.size % self.batch_size if self.drop_last else self.size
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]
