"""Real NATS-Bench records (tests/data/nats, archs 0, 11, 284) and the original layouts built from them.

* :func:`load_simple` reads a ``-simple/`` archive as the NATS API does (``pickle.load(bz2.BZ2File(...))``);
* :func:`write_pth` saves an NB-201 ``.pth`` with ``torch.save`` (zip or legacy layout) of the documented dict,
  ``less``/``full`` being the real hp '12'/'200' records;
* :func:`write_pbz2` writes NATS's single-file ``.pickle.pbz2`` (bz2 pickle, protocol 4) of the same records;
* :func:`expected_trials` is an independent, plain transcription of NNI's ``db_gen`` mapping (plus the documented
  differences: computed params/FLOPs, summed training time, NaN as None) that the converted rows are checked against.
"""

from __future__ import annotations

import bz2
import copy
import math
import pickle
from collections import OrderedDict
from pathlib import Path

HERE = Path(__file__).resolve().parent
NATS = HERE / "data" / "nats"
TSS_DIR = NATS / "NATS-tss-v1_0-3ffb9-simple"
SSS_DIR = NATS / "NATS-sss-v1_0-50262-simple"
INDICES = (0, 11, 284)

NNI_SPLITS = {
    "cifar10-valid": ["train", "x-valid", "ori-test", "ori-test"],
    "cifar10": ["train", "ori-test", "ori-test", "ori-test"],
    "cifar100": ["train", "x-valid", "x-test", "ori-test"],
    "imagenet16-120": ["train", "x-valid", "x-test", "ori-test"],
}
NNI_OPS = {"none": "none", "skip_connect": "skip_connect", "nor_conv_1x1": "conv_1x1",
           "nor_conv_3x3": "conv_3x3", "avg_pool_3x3": "avg_pool_3x3"}


def load_simple(directory: Path = TSS_DIR):
    """``(meta, {index: OrderedDict{hp: ArchResults state}})`` of a -simple archive."""
    meta = pickle.load(bz2.BZ2File(directory / "meta.pickle.pbz2"))
    records = {i: pickle.load(bz2.BZ2File(directory / f"{i:06d}.pickle.pbz2")) for i in INDICES}
    return meta, records


def nb201_dict(records: dict, meta: dict, version: str = "v1_1") -> dict:
    """The NB-201 ``.pth`` top-level dict: ``less`` = hp '12', ``full`` = hp '200'.

    ``v1_0``: 12-epoch results of cifar10-valid only, and no times in the 200-epoch runs (as the original v1_0).
    """
    arch2infos = {}
    for index, record in records.items():
        less = copy.deepcopy(record["12"])
        full = copy.deepcopy(record["200"])
        if version == "v1_0":
            less["all_results"] = OrderedDict((k, v) for k, v in less["all_results"].items()
                                              if k[0] == "cifar10-valid")
            less["dataset_seed"] = {k: v for k, v in less["dataset_seed"].items() if k == "cifar10-valid"}
            for result in full["all_results"].values():
                result["train_times"] = None
                result["eval_times"] = {}
        arch2infos[index] = {"less": less, "full": full}
    return {"meta_archs": meta["meta_archs"], "total_archs": meta["total_archs"], "arch2infos": arch2infos,
            "evaluated_indexes": sorted(arch2infos)}


def write_pth(path: Path, data: dict, legacy: bool = False) -> Path:
    import torch

    if legacy:
        torch.save(data, path, _use_new_zipfile_serialization=False)
    else:
        torch.save(data, path)
    return path


def write_pbz2(path: Path, meta: dict, records: dict) -> Path:
    data = {"meta_archs": meta["meta_archs"], "total_archs": meta["total_archs"], "arch2infos": dict(records),
            "evaluated_indexes": set(records)}
    with bz2.open(path, "wb") as handle:
        pickle.dump(data, handle, protocol=4)
    return path


def _none_nan(value):
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def expected_trials(records: dict, hp_epochs: dict, cost=None) -> dict:
    """``{(index, epochs, dataset, seed): (stats dict, [intermediate dicts])}`` from the records, NNI's way.

    ``cost(index, dataset) -> (params, flops)`` replaces the file's values (the topology space), else the file's.
    """
    out = {}
    for index, record in records.items():
        for hp, state in record.items():
            epochs = hp_epochs[hp]
            for (dataset, seed), r in state["all_results"].items():
                sp = NNI_SPLITS[dataset.lower()]
                k = epochs - 1
                acc, loss, times = r["eval_acc1es"], r["eval_losses"], r["eval_times"] or {}
                stats = {
                    "train_acc": _none_nan(r["train_acc1es"].get(k)),
                    "valid_acc": _none_nan(acc.get(f"{sp[1]}@{k}")),
                    "test_acc": _none_nan(acc.get(f"{sp[2]}@{k}")),
                    "ori_test_acc": _none_nan(acc.get(f"{sp[3]}@{k}")),
                    "train_loss": _none_nan(r["train_losses"].get(k)),
                    "valid_loss": _none_nan(loss.get(f"{sp[1]}@{k}")),
                    "test_loss": _none_nan(loss.get(f"{sp[2]}@{k}")),
                    "ori_test_loss": _none_nan(loss.get(f"{sp[3]}@{k}")),
                    "parameters": float(r["params"]),
                    "latency": float(r["latency"][0]),
                    "flops": float(r["flop"]),
                    # the original API's all_time: sum of the per-epoch times, in epoch order
                    "training_time": (sum(r["train_times"][e] for e in range(epochs))
                                      if r["train_times"] else None),
                    "valid_evaluation_time": _none_nan(times.get(f"{sp[1]}@{k}")),
                    "test_evaluation_time": _none_nan(times.get(f"{sp[2]}@{k}")),
                    "ori_test_evaluation_time": _none_nan(times.get(f"{sp[3]}@{k}")),
                }
                if cost is not None:
                    stats["parameters"], stats["flops"] = cost(index, dataset.lower())
                intermediates = []
                for epoch in range(epochs):
                    values = {
                        "train_acc": r["train_acc1es"].get(epoch),
                        "valid_acc": acc.get(f"{sp[1]}@{epoch}"),
                        "test_acc": acc.get(f"{sp[2]}@{epoch}"),
                        "ori_test_acc": acc.get(f"{sp[3]}@{epoch}"),
                        "train_loss": r["train_losses"].get(epoch),
                        "valid_loss": loss.get(f"{sp[1]}@{epoch}"),
                        "test_loss": loss.get(f"{sp[2]}@{epoch}"),
                        "ori_test_loss": loss.get(f"{sp[3]}@{epoch}"),
                    }
                    if all(v is None for v in values.values()):
                        continue
                    intermediates.append(dict({key: _none_nan(v) for key, v in values.items()},
                                              current_epoch=epoch + 1))
                out[(index, epochs, dataset.lower(), int(seed))] = (stats, intermediates)
    return out
