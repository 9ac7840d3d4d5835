"""The FBNet search space of HW-NAS-Bench: 22 searchable layers, 9 candidate blocks, per-layer cost lookup keys.

This is the one home of FBNet space knowledge (HW-NAS-Bench's ``fbnet`` space, after FBNet v1); the HW-NAS-Bench
converter and the compatibility facade import it. It imports nothing of the project except :mod:`nasbench_db.errors`.

An architecture is a list of 22 op indices into :data:`OPS` (``k<kernel>_e<expansion>[_g2]`` inverted-residual blocks
and ``skip``), one per searchable layer. The network around them is fixed: a 3x3 stem convolution to 16 channels, 7
stages of 1, 4, 4, 4, 4, 4, 1 layers with 16, 24, 32, 64, 112, 184, 352 output channels (the first layer of a stage
changes the width and carries the stage's stride), a 1x1 head convolution (1504 channels on CIFAR-100, 1984 on
ImageNet), a global average pool and a linear classifier. CIFAR-100 inputs are 32x32 with a stem stride of 1 and
stage strides 1, 1, 2, 2, 1, 2, 1; ImageNet inputs are 224x224 with a stem stride of 2 and stage strides
1, 2, 2, 2, 1, 2, 1.

HW-NAS-Bench does not tabulate whole FBNet networks: it publishes one lookup table per hardware metric, keyed by layer
(``ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel5_stride1_group1`` ...), and a network's cost is the sum of its layers'
entries, stem first, then the 22 layers in order, then head, pool and classifier (:func:`layer_keys`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import OutOfSearchSpace

#: Candidate blocks, in index order (HW-NAS-Bench's ``ops_str_lookup_table``); index 8 is the identity / skip.
OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
SKIP_INDEX = 8


@dataclass(frozen=True)
class Block:
    """An inverted-residual block: 1x1 expansion by ``exp``, ``kernel`` x ``kernel`` depthwise, 1x1 projection
    (grouped by ``group``)."""

    exp: int
    kernel: int
    group: int


#: The 8 convolution blocks, indexed like :data:`OPS`.
BLOCKS = (Block(1, 3, 1), Block(1, 3, 2), Block(3, 3, 1), Block(6, 3, 1),
          Block(1, 5, 1), Block(1, 5, 2), Block(3, 5, 1), Block(6, 5, 1))
_BLOCK_LIST = list(BLOCKS)  # indexed like the original's list (same IndexError / TypeError messages)
STEM_CHANNELS = 16
LAYERS_PER_STAGE = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
NUM_LAYERS = sum(LAYERS_PER_STAGE)  # 22


@dataclass(frozen=True)
class DatasetSetting:
    """The fixed parts of the network that depend on the dataset."""

    num_classes: int
    input_size: int
    stem_stride: int
    stage_strides: tuple
    head_channels: int


#: HW-NAS-Bench's two FBNet datasets, under their original names.
DATASETS = {
    "cifar100": DatasetSetting(100, 32, 1, (1, 1, 2, 2, 1, 2, 1), 1504),
    "ImageNet": DatasetSetting(1000, 224, 2, (1, 2, 2, 2, 1, 2, 1), 1984),
}


def check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise OutOfSearchSpace(f"unknown FBNet dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    return dataset


def check_arch(op_indices) -> list:
    """The 22 op indices as a list of ints in 0..8, or OutOfSearchSpace naming the problem."""
    if isinstance(op_indices, (str, bytes)) or not hasattr(op_indices, "__len__"):
        raise OutOfSearchSpace(f"an FBNet architecture is a list of {NUM_LAYERS} op indices: got {op_indices!r}")
    if len(op_indices) != NUM_LAYERS:
        raise OutOfSearchSpace(f"an FBNet architecture has {NUM_LAYERS} op indices: got {len(op_indices)}")
    out = []
    for layer, op in enumerate(op_indices):
        if isinstance(op, bool) or not isinstance(op, int) or not 0 <= op < len(OPS):
            raise OutOfSearchSpace(f"op index of layer {layer} must be 0..{len(OPS) - 1} "
                                   f"({', '.join(f'{i} {name}' for i, name in enumerate(OPS))}): got {op!r}")
        out.append(op)
    return out


def op_names(op_indices) -> list:
    """The block names of an architecture (HW-NAS-Bench's ``arch_str``)."""
    return [OPS[op] for op in op_indices]


def conv_norm_key(size: int, c_in: int, c_out: int, kernel: int, stride: int, group: int) -> str:
    return f"ConvNorm_H{size}_W{size}_Cin{c_in}_Cout{c_out}_kernel{kernel}_stride{stride}_group{group}"


def conv_block_key(size: int, c_in: int, c_out: int, block: Block, stride: int) -> str:
    return (f"ConvBlock_H{size}_W{size}_Cin{c_in}_Cout{c_out}_exp{block.exp}_kernel{block.kernel}_stride{stride}"
            f"_group{block.group}")


def skip_key(size: int, c_in: int, c_out: int, stride: int) -> str:
    return f"Skip_H{size}_W{size}_Cin{c_in}_Cout{c_out}_stride{stride}"


def pool_key(size: int, channels: int) -> str:
    return f"AvgP_H{size}_W{size}_Cin{channels}_Cout{channels}_kernel{size}_stride1"


def fc_key(c_in: int, num_classes: int) -> str:
    return f"FC_Cin{c_in}_Cout{num_classes}"


def layer_keys(op_indices, dataset: str) -> list:
    """Lookup-table keys of every layer of the network, in the order HW-NAS-Bench sums them.

    A layer whose op index is below 8 is the block ``BLOCKS[op]`` (Python indexing, as the original cost function:
    it does not validate the indices; use :func:`check_arch` for that), any other index is a skip. The feature map
    side in a key is the layer's input side; it shrinks after the first layer of each stage by the stage's stride.
    """
    setting = DATASETS[check_dataset(dataset)]
    size = setting.input_size
    keys = [conv_norm_key(size, 3, STEM_CHANNELS, 3, setting.stem_stride, 1)]
    size //= setting.stem_stride
    layer = 0
    for stage, count in enumerate(LAYERS_PER_STAGE):
        c_out = STAGE_CHANNELS[stage]
        for position in range(count):
            op = op_indices[layer]
            if position == 0:
                c_in = STEM_CHANNELS if stage == 0 else STAGE_CHANNELS[stage - 1]
                stride = setting.stage_strides[stage]
            else:
                c_in, stride = c_out, 1
            if op < SKIP_INDEX:
                keys.append(conv_block_key(size, c_in, c_out, _BLOCK_LIST[op], stride))
            else:
                keys.append(skip_key(size, c_in, c_out, stride))
            if position == 0:
                size //= stride
            layer += 1
    keys.append(conv_norm_key(size, STAGE_CHANNELS[-1], setting.head_channels, 1, 1, 1))
    keys.append(pool_key(size, setting.head_channels))
    keys.append(fc_key(setting.head_channels, setting.num_classes))
    return keys


def all_layer_keys(dataset: str) -> list:
    """Every key any architecture can need on ``dataset`` (each layer with each of the 9 ops), without repeats, in
    first-use order: the keys a complete lookup table holds for that dataset."""
    seen: dict = {}
    for op in range(len(OPS)):
        for key in layer_keys([op] * NUM_LAYERS, check_dataset(dataset)):
            seen.setdefault(key, None)
    return list(seen)
