"""The NAS-Bench-201 / NATS-Bench topology network (``infer.tiny``) in PyTorch, built from
:mod:`nasbench_db.spaces.nb201`; also the cell and blocks the NATS size-space network reuses.

TinyNetwork (AutoDL-Projects ``tiny_network.py`` / ``cells.py`` / ``cell_operations.py``; spec nb201_nds.md 4.1):
stem ``Conv3x3(3, C) + BN`` (no ReLU); N cells at C, a residual block ``C -> 2C`` (stride 2), N cells at 2C, a
residual block ``2C -> 4C``, N cells at 4C; head ``BN -> ReLU -> global average pool -> Linear(4C, classes)``.
C = 16, N = 5. Default PyTorch initialisation (the original sets none).

Cell: node j (1..3) is the sum, in string order, of ``op_ij(node i)`` over its incoming edges; the cell returns
node 3. Ops (``C_in``/``C_out`` may differ only on edges leaving node 0, which the size space uses):
``nor_conv_kxk`` = ReLU -> Conv(k, no bias) -> BN; ``avg_pool_3x3`` = AvgPool(3, 1, 1, count_include_pad=False),
preceded by a 1x1 ReLUConvBN when the widths differ; ``skip_connect`` = identity, or Conv1x1 + BN when the widths
differ; ``none`` = zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from ..spaces import nb201 as space

BN_MOMENTUM = 0.1
BN_EPS = 1e-5


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, bn_momentum=BN_MOMENTUM,
                 bn_eps=BN_EPS):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
                         nn.BatchNorm2d(c_out, eps=bn_eps, momentum=bn_momentum))


class Zero(nn.Module):
    """The ``none`` op: zeros of the output's shape (``x * 0`` when the widths agree, as the original)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.c_in, self.c_out = c_in, c_out

    def forward(self, x):
        if self.c_in == self.c_out:
            return x.mul(0.0)
        shape = list(x.shape)
        shape[1] = self.c_out
        return x.new_zeros(shape)


class AvgPool(nn.Module):
    def __init__(self, c_in: int, c_out: int, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        super().__init__()
        self.preprocess = None if c_in == c_out else ReLUConvBN(c_in, c_out, 1, 1, 0, bn_momentum, bn_eps)
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x):
        return self.pool(x if self.preprocess is None else self.preprocess(x))


class Projection(nn.Sequential):
    """``skip_connect`` between different widths at stride 1 (the original's FactorizedReduce, stride 1)."""

    def __init__(self, c_in: int, c_out: int, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        super().__init__(nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False),
                         nn.BatchNorm2d(c_out, eps=bn_eps, momentum=bn_momentum))


def make_op(op: str, c_in: int, c_out: int, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS) -> nn.Module:
    if op == space.NOR_CONV_3X3:
        return ReLUConvBN(c_in, c_out, 3, 1, 1, bn_momentum, bn_eps)
    if op == space.NOR_CONV_1X1:
        return ReLUConvBN(c_in, c_out, 1, 1, 0, bn_momentum, bn_eps)
    if op == space.AVG_POOL_3X3:
        return AvgPool(c_in, c_out, bn_momentum, bn_eps)
    if op == space.SKIP_CONNECT:
        return nn.Identity() if c_in == c_out else Projection(c_in, c_out, bn_momentum, bn_eps)
    if op == space.NONE:
        return Zero(c_in, c_out)
    raise ValueError(f"unknown NB-201 op {op!r}")


class Cell(nn.Module):
    """One NB-201 cell (``InferCell``): ``c_in`` on edges from node 0, ``c_out`` everywhere else."""

    def __init__(self, arch, c_in: int, c_out: int, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        super().__init__()
        self.nodes = space.node_inputs(arch)
        self.edges = nn.ModuleList()
        self.sources = []
        for inputs in self.nodes:
            for op, src in inputs:
                self.edges.append(make_op(op, c_in if src == 0 else c_out, c_out, bn_momentum, bn_eps))
                self.sources.append(src)
        self.out_channels = c_out

    def forward(self, x):
        nodes = [x]
        edge = 0
        for inputs in self.nodes:
            total = None
            for _ in inputs:
                value = self.edges[edge](nodes[self.sources[edge]])
                total = value if total is None else total + value
                edge += 1
            nodes.append(total)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """Stride-2 residual block: ``conv_b(conv_a(x)) + Conv1x1(AvgPool2x2(x))``."""

    def __init__(self, c_in: int, c_out: int, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1, bn_momentum, bn_eps)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1, bn_momentum, bn_eps)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False))
        self.out_channels = c_out

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class CellNetwork(nn.Module):
    """Stem, a list of layers (cells and residual blocks), head. ``layers``: ``('cell'|'reduce', c_out)``."""

    def __init__(self, arch, stem_channels: int, layers, num_classes: int, in_channels: int = 3,
                 bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_channels, eps=bn_eps, momentum=bn_momentum))
        cells = []
        c_prev = stem_channels
        for kind, c_out in layers:
            if kind == "reduce":
                cells.append(ResNetBasicBlock(c_prev, c_out, bn_momentum, bn_eps))
            else:
                cells.append(Cell(arch, c_prev, c_out, bn_momentum, bn_eps))
            c_prev = c_out
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev, eps=bn_eps, momentum=bn_momentum), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class TinyNetwork(CellNetwork):
    """NAS-Bench-201's network for ``arch`` (index, arch string, NNI dict or ops): C = 16, N = 5 by default."""

    def __init__(self, arch, num_classes: int = 10, channels: int = space.NUM_CHANNELS,
                 num_cells: int = space.NUM_CELLS, in_channels: int = 3, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        ops = space.ops_of(arch)
        layers = ([("cell", channels)] * num_cells + [("reduce", 2 * channels)]
                  + [("cell", 2 * channels)] * num_cells + [("reduce", 4 * channels)]
                  + [("cell", 4 * channels)] * num_cells)
        super().__init__(ops, channels, layers, num_classes, in_channels, bn_momentum, bn_eps)
        self.ops = ops
