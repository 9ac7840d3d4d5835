"""The NATS-Bench size search space (``sss``): channel strings, indices and validation.

This is the one home of size-space knowledge; it imports nothing of the project except :mod:`nasbench_db.errors`.

An architecture is the benchmark network with a fixed cell (:data:`CELL`, NB-201 index 9930) whose 5 stages of
channels are searched: ``'C1:C2:C3:C4:C5'`` with each ``C`` in :data:`CHANNELS` (8, 16, ..., 64), 8^5 = 32,768
architectures. The index is the position in ``meta_archs``, which is ``itertools.product(CHANNELS, repeat=5)`` with
the first channel outermost (no shuffle; checked against the released ``meta.pickle.pbz2``): index 0 is
``'8:8:8:8:8'``, index 32,767 is ``'64:64:64:64:64'``.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

from ..errors import OutOfSearchSpace

#: The candidate channel counts of every position.
CHANNELS = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
NUM_ARCHS = len(CHANNELS) ** NUM_LAYERS  # 32,768
#: The fixed cell of every size-space network (NB-201 / NATS tss index 9930).
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
#: Epoch budgets: NATS hp ``'01'``, ``'12'``, ``'90'``.
EPOCHS = (1, 12, 90)
#: NATS hp key -> epochs.
HP_EPOCHS = {"01": 1, "12": 12, "90": 90}
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120")

Channels = tuple  # 5 ints


def _check_channel(value, position: int) -> int:
    if isinstance(value, bool):
        raise OutOfSearchSpace(f"channel {position + 1} must be an integer: got {value!r}")
    if isinstance(value, str):
        text = value.strip()
        if not text.isdigit():
            raise OutOfSearchSpace(f"channel {position + 1} is not an integer: got {value!r}")
        value = int(text)
    elif not isinstance(value, int):
        try:
            import numpy

            if not isinstance(value, numpy.integer):
                raise TypeError
            value = int(value)
        except (ImportError, TypeError):
            raise OutOfSearchSpace(f"channel {position + 1} must be an integer: got {value!r}") from None
    if value not in CHANNELS:
        raise OutOfSearchSpace(f"channel {position + 1} out of range: got {value}, expected one of "
                               f"{', '.join(map(str, CHANNELS))} (8..64 step 8)")
    return value


def parse_arch_str(text: str) -> Channels:
    """Channels tuple of ``'C1:C2:C3:C4:C5'``."""
    if not isinstance(text, str):
        raise OutOfSearchSpace(f"size-space arch string must be a str: got {type(text).__name__}")
    parts = text.strip().split(":")
    if len(parts) != NUM_LAYERS:
        raise OutOfSearchSpace(f"size-space arch must have {NUM_LAYERS} channels 'C1:C2:C3:C4:C5': got "
                               f"{len(parts)} in {text!r}")
    return tuple(_check_channel(part, i) for i, part in enumerate(parts))


def channels_of(arch) -> Channels:
    """Channels tuple of ``arch``: an index (int), ``'C1:C2:C3:C4:C5'`` or a sequence of 5 ints."""
    if isinstance(arch, bool):
        raise OutOfSearchSpace(f"arch must be an index, 'C1:C2:C3:C4:C5' or 5 channels: got {arch!r}")
    if isinstance(arch, int) or type(arch).__name__ in ("int64", "int32", "uint32", "uint64"):
        return arch_of_index(int(arch))
    if isinstance(arch, str):
        return parse_arch_str(arch)
    if isinstance(arch, (list, tuple)):
        if len(arch) != NUM_LAYERS:
            raise OutOfSearchSpace(f"size-space arch must have {NUM_LAYERS} channels: got {len(arch)}")
        return tuple(_check_channel(value, i) for i, value in enumerate(arch))
    raise OutOfSearchSpace(f"arch must be an index, 'C1:C2:C3:C4:C5' or 5 channels: got {type(arch).__name__}")


def arch_str(arch) -> str:
    """``'C1:C2:C3:C4:C5'`` of ``arch`` (any accepted form)."""
    return ":".join(map(str, channels_of(arch)))


@lru_cache(maxsize=1)
def _meta() -> tuple:
    return tuple(itertools.product(CHANNELS, repeat=NUM_LAYERS))


def meta_archs() -> list:
    """The 32,768 arch strings in index order (the ``meta_archs`` list of the released files)."""
    return [":".join(map(str, channels)) for channels in _meta()]


def arch_of_index(index: int) -> Channels:
    """Channels tuple of index ``index`` (0..32,767)."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise OutOfSearchSpace(f"size-space index must be an int: got {index!r}")
    if not 0 <= index < NUM_ARCHS:
        raise OutOfSearchSpace(f"size-space index out of range: got {index}, expected 0..{NUM_ARCHS - 1}")
    return _meta()[index]


def index_of(arch) -> int:
    """Index (0..32,767) of ``arch``: mixed radix 8 over the channel positions, first position most significant."""
    index = 0
    for value in channels_of(arch):
        index = index * len(CHANNELS) + CHANNELS.index(value)
    return index


def all_archs() -> tuple:
    """Every architecture's channels tuple in index order."""
    return _meta()
