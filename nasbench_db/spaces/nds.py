"""The NDS design spaces (facebookresearch/nds, "On Network Design Spaces for Visual Recognition").

This is the one home of NDS space knowledge: op names, model families, the 34 sweep files and how each maps to
NNI's ``(proposer, generator, dataset)``, and how a sweep job's ``net`` becomes NNI's ``model_family``,
``model_spec`` and ``cell_spec``. convert, query and the docs import it; it imports nothing of the project except
errors.py.

Sweep files
-----------
``data.zip`` holds ``nds_data/<sweep>.json``. NNI's ``nds/db_gen.py`` reads the 34 names of :data:`SWEEPS`, in that
order, and derives from each name:

* ``generator``: ``'fix_w_d'`` if the name contains ``fix-w-d``, ``'tune_lr_wd'`` if it contains ``lr-wd``, else
  ``'random'`` (the ``_reruns`` and ``_rngN`` sweeps included);
* ``dataset``: ``'imagenet'`` if the name contains ``_in``, else ``'cifar10'``;
* ``proposer``: the part before the first ``_``, lower-cased (``ResNeXt-A_in`` -> ``resnext-a``).

Cells (``model_family == 'nas_cell'``)
---------------------------------------
A job's ``net['genotype']`` is DARTS-style: ``normal`` and ``reduce`` are lists of ``[op, input]`` pairs, two per
node, plus ``normal_concat`` / ``reduce_concat``. NNI flattens it into ``cell_spec`` keys
``<normal|reduce>_<i>_op_<x|y>`` (op name), ``<normal|reduce>_<i>_input_<x|y>`` (int; 0 and 1 are the two previous
cells' outputs, node i is input i + 2) and ``<normal|reduce>_concat`` (list of ints).

NNI's converter loops over the reduce cell with ``range(num_nodes_normal)``. :func:`flatten_genotype` uses each cell's
own node count instead. On the released data the two counts are equal in every design space (NASNet, Amoeba, PNAS
and ENAS cells have 5 nodes, DARTS cells 4), so the result is identical to NNI's there; where they would differ NNI
silently drops reduce nodes (reduce longer) or crashes (reduce shorter), and this module keeps every node.

Other families
--------------
AnyNet jobs (``net['block_type']``): ``res_bottleneck*`` -> ``residual_bottleneck``, ``res_basic*`` ->
``residual_basic``, ``double_plain*`` -> ``vanilla``. ``model_spec`` is ``net`` without ``block_type`` and without
falsy values (NNI's ``if v``: a ``None`` ``num_gs`` or an empty ``bot_muls`` list disappears), so
``residual_bottleneck`` specs hold ``bot_muls, ds, num_gs, ss, ws`` and the other two ``ds, ss, ws``. This is kept as
NNI does it so that NNI's query dicts match; no number is lost (a dropped key only ever held "not used").

JSON columns
------------
``model_spec`` and ``cell_spec`` are stored as :func:`canonical_json`: sorted keys, no whitespace. That is byte for
byte what NNI's ``JSONField`` stores (``json(json.dumps(v, sort_keys=True))`` in SQLite), so text equality matches
dicts whatever their key order, on SQLite and PostgreSQL alike. List order is significant, as in NNI.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from ..errors import InvalidArgument

# ----------------------------------------------------------------------------------------------------------------------
# Constants

NONE = "none"
SKIP_CONNECT = "skip_connect"
AVG_POOL_3X3 = "avg_pool_3x3"
MAX_POOL_3X3 = "max_pool_3x3"
MAX_POOL_5X5 = "max_pool_5x5"
MAX_POOL_7X7 = "max_pool_7x7"
CONV_1X1 = "conv_1x1"
CONV_3X3 = "conv_3x3"
CONV_3X1_1X3 = "conv_3x1_1x3"
CONV_7X1_1X7 = "conv_7x1_1x7"
DIL_CONV_3X3 = "dil_conv_3x3"
DIL_CONV_5X5 = "dil_conv_5x5"
SEP_CONV_3X3 = "sep_conv_3x3"
SEP_CONV_5X5 = "sep_conv_5x5"
SEP_CONV_7X7 = "sep_conv_7x7"
DIL_SEP_CONV_3X3 = "dil_sep_conv_3x3"
#: Cell op names (NNI's ``nds/constants.py``; the genotype strings of the sweep files, copied verbatim).
OPS = (NONE, SKIP_CONNECT, AVG_POOL_3X3, MAX_POOL_3X3, MAX_POOL_5X5, MAX_POOL_7X7, CONV_1X1, CONV_3X3, CONV_3X1_1X3,
       CONV_7X1_1X7, DIL_CONV_3X3, DIL_CONV_5X5, SEP_CONV_3X3, SEP_CONV_5X5, SEP_CONV_7X7, DIL_SEP_CONV_3X3)

NAS_CELL = "nas_cell"
RESIDUAL_BOTTLENECK = "residual_bottleneck"
RESIDUAL_BASIC = "residual_basic"
VANILLA = "vanilla"
MODEL_FAMILIES = (NAS_CELL, RESIDUAL_BOTTLENECK, RESIDUAL_BASIC, VANILLA)
#: AnyNet ``block_type`` prefix -> model family (NNI's order of tests).
BLOCK_TYPE_FAMILIES = (("res_bottleneck", RESIDUAL_BOTTLENECK), ("res_basic", RESIDUAL_BASIC),
                       ("double_plain", VANILLA))

GENERATORS = ("random", "fix_w_d", "tune_lr_wd")
DATASETS = ("cifar10", "imagenet")
PROPOSERS = ("amoeba", "darts", "enas", "nasnet", "pnas", "resnext-a", "resnext-b", "resnet-b", "resnet", "vanilla")
#: Keys of a ``nas_cell`` model_spec, in NNI's order.
NAS_CELL_SPEC_KEYS = ("num_nodes_normal", "num_nodes_reduce", "depth", "width", "aux", "drop_prob")
CELL_TYPES = ("normal", "reduce")

#: NNI's 34 sweep files (``nds_data/<name>.json``) in NNI's processing order. Conversion follows this order, so
#: config and trial ids equal those of NNI's prebuilt database when every file is present.
SWEEPS = (
    "Amoeba", "Amoeba_in",
    "DARTS", "DARTS_fix-w-d", "DARTS_in", "DARTS_lr-wd", "DARTS_lr-wd_in",
    "ENAS", "ENAS_fix-w-d", "ENAS_in",
    "NASNet", "NASNet_in",
    "PNAS", "PNAS_fix-w-d", "PNAS_in",
    "ResNeXt-A", "ResNeXt-A_in",
    "ResNeXt-B", "ResNeXt-B_in",
    "ResNet-B",
    "ResNet", "ResNet_lr-wd", "ResNet_lr-wd_in", "ResNet_reruns", "ResNet_rng1", "ResNet_rng2", "ResNet_rng3",
    "Vanilla", "Vanilla_lr-wd", "Vanilla_lr-wd_in", "Vanilla_reruns", "Vanilla_rng1", "Vanilla_rng2", "Vanilla_rng3",
)
#: Groups of a ``*_reruns.json`` file (a dict of job lists), in NNI's processing order.
RERUN_GROUPS = ("top", "mid")


class Sweep(NamedTuple):
    """One sweep file and the NNI config fields its name implies."""

    name: str        # file stem, e.g. 'ResNet_lr-wd_in'
    proposer: str    # e.g. 'resnet'
    generator: str   # 'random' | 'fix_w_d' | 'tune_lr_wd'
    dataset: str     # 'cifar10' | 'imagenet'

    @property
    def file_name(self) -> str:
        return self.name + ".json"


def sweep_info(name: str) -> Sweep:
    """The :class:`Sweep` of a file name (``'DARTS_fix-w-d'`` or ``'DARTS_fix-w-d.json'``), derived as NNI does."""
    stem = name[:-5] if name.endswith(".json") else name
    if stem not in SWEEPS:
        raise InvalidArgument(f"unknown NDS sweep {name!r}: expected one of the 34 files of nds_data/, e.g. "
                              f"{', '.join(SWEEPS[:3])}, ...")
    if "fix-w-d" in stem:
        generator = "fix_w_d"
    elif "lr-wd" in stem:
        generator = "tune_lr_wd"
    else:
        generator = "random"
    dataset = "imagenet" if "_in" in stem else "cifar10"
    proposer = stem.split(".")[0].split("_")[0].lower()
    return Sweep(stem, proposer, generator, dataset)


# ----------------------------------------------------------------------------------------------------------------------
# net -> (model_family, model_spec, cell_spec)


def canonical_json(value) -> str:
    """Sorted-key JSON without whitespace: what the JSON columns hold and what equality compares."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_plain)
    except ValueError as exc:
        raise InvalidArgument(f"cannot store {value!r} as JSON: {exc}") from None


def _plain(value):
    """numpy scalars and arrays -> Python values (so numpy users can pass specs straight through)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def model_family(net: dict) -> str:
    """NNI's model family of a sweep job's ``net``; ValueError for an unknown AnyNet ``block_type``."""
    if "genotype" in net:
        return NAS_CELL
    block_type = net.get("block_type")
    if not isinstance(block_type, str):
        raise ValueError("net has neither 'genotype' (NAS cell) nor a 'block_type' string (AnyNet)")
    for prefix, family in BLOCK_TYPE_FAMILIES:
        if block_type.startswith(prefix):
            return family
    raise ValueError(f"unrecognized block_type {block_type!r}: expected res_bottleneck*, res_basic* or "
                     "double_plain*")


def _cell_pairs(genotype: dict, cell_type: str) -> list:
    pairs = genotype.get(cell_type)
    if not isinstance(pairs, list):
        raise ValueError(f"genotype[{cell_type!r}] must be a list of [op, input] pairs")
    if len(pairs) % 2:
        raise ValueError(f"genotype[{cell_type!r}] has {len(pairs)} entries: expected two per node (an even count)")
    for entry in pairs:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], int) and not isinstance(entry[1], bool)):
            raise ValueError(f"genotype[{cell_type!r}] entry {entry!r} is not an [op name, input index] pair")
    return pairs


def flatten_genotype(genotype: dict) -> dict:
    """NNI's ``cell_spec`` of a genotype (see the module docstring; every node of both cells is kept)."""
    if not isinstance(genotype, dict):
        raise ValueError("net['genotype'] must be a dict with normal, normal_concat, reduce, reduce_concat")
    spec = {}
    for cell_type in CELL_TYPES:
        pairs = _cell_pairs(genotype, cell_type)
        for node in range(len(pairs) // 2):
            for j, label in enumerate("xy"):
                op, source = pairs[2 * node + j]
                spec[f"{cell_type}_{node}_op_{label}"] = op
                spec[f"{cell_type}_{node}_input_{label}"] = source
        concat_key = f"{cell_type}_concat"
        if concat_key not in genotype:
            raise ValueError(f"genotype has no {concat_key!r}")
        spec[concat_key] = genotype[concat_key]
    return spec


def unflatten_cell_spec(cell_spec: dict) -> dict:
    """The genotype dict (``normal``, ``normal_concat``, ``reduce``, ``reduce_concat``) of a ``cell_spec``."""
    genotype = {}
    for cell_type in CELL_TYPES:
        pairs = []
        node = 0
        while f"{cell_type}_{node}_op_x" in cell_spec:
            for label in "xy":
                pairs.append([cell_spec[f"{cell_type}_{node}_op_{label}"],
                              cell_spec[f"{cell_type}_{node}_input_{label}"]])
            node += 1
        genotype[cell_type] = pairs
        genotype[f"{cell_type}_concat"] = cell_spec.get(f"{cell_type}_concat")
    return genotype


def specs_of_net(net: dict) -> tuple[str, dict, dict]:
    """``(model_family, model_spec, cell_spec)`` of a sweep job's ``net``, as NNI builds them.

    Raises ValueError (naming the key) when the net lacks what its family needs.
    """
    if not isinstance(net, dict):
        raise ValueError("'net' must be a dict")
    family = model_family(net)
    if family == NAS_CELL:
        genotype = net["genotype"]
        cell_spec = flatten_genotype(genotype)
        missing = [k for k in ("depth", "width", "aux", "drop_prob") if k not in net]
        if missing:
            raise ValueError(f"NAS-cell net lacks {', '.join(repr(k) for k in missing)}")
        model_spec = {
            "num_nodes_normal": len(genotype["normal"]) // 2,
            "num_nodes_reduce": len(genotype["reduce"]) // 2,
            "depth": net["depth"],
            "width": net["width"],
            "aux": net["aux"],
            "drop_prob": net["drop_prob"],
        }
        return family, model_spec, cell_spec
    model_spec = {k: v for k, v in net.items() if v and k != "block_type"}
    return family, model_spec, {}


def cell_ops(cell_spec: dict) -> set:
    """The op names a cell_spec uses."""
    return {v for k, v in cell_spec.items() if "_op_" in k}


# ----------------------------------------------------------------------------------------------------------------------
# Query arguments


def _check_choice(name: str, value, choices, lower: bool = True):
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidArgument(f"{name} must be a string or None: got {value!r}")
    key = value.lower() if lower else value
    if key not in choices:
        raise InvalidArgument(f"unknown {name} {value!r}: expected one of {', '.join(choices)} (or None)")
    return key


def check_model_family(value):
    return _check_choice("model_family", value, MODEL_FAMILIES)


def check_proposer(value):
    return _check_choice("proposer", value, PROPOSERS)


def check_generator(value):
    return _check_choice("generator", value, GENERATORS)


def check_dataset(value):
    return _check_choice("dataset", value, DATASETS)


def check_spec(name: str, value):
    """None (wildcard) or the canonical JSON text of a dict."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidArgument(f"{name} must be a dict or None: got {type(value).__name__}")
    return canonical_json(value)
