"""The NAS-Bench-101 network in PyTorch, built from :mod:`nasbench_db.spaces.nb101`.

Structure (google-research/nasbench ``model_builder.py``): ``conv_bn_relu(3x3, 128)`` stem, 3 stacks of 3 modules
(128, 256, 512 channels; a 2x2 stride-2 max-pool before stacks 1 and 2), global average pool, ``Linear(512, classes)``.
Inside a module, interior vertices *sum* their inputs (interior predecessors truncated to the vertex's width, the
module input through a 1x1 ``conv_bn_relu`` projection) and the output vertex *concatenates* the interior vertices
that feed it, plus a projection of the module input when the input feeds the output directly.

The trainable-parameter count equals the benchmark's ``trainable_parameters`` exactly (tested on every real cell):
BN moving statistics are buffers, not parameters.

TF-faithful details: BN ``momentum=0.003`` (torch's momentum is 1 - TF's 0.997), ``eps=1e-5``; convs without bias,
``padding=k//2`` (TF 'same' at stride 1 for odd k); kernels initialised like TF1's ``variance_scaling_initializer()``
(truncated normal at +-2 sigma, sigma = sqrt(1/fan_in)/0.8796...), the dense layer like ``glorot_uniform`` with a zero
bias. The ghost-BN option splits training batches into groups of ``ghost_batch`` for the batch statistics, as the
two TPU-v2 shards of 128 images did (inferred from ``tf.layers.batch_normalization`` not being cross-replica).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from ..errors import OutOfSearchSpace
from ..spaces import nb101 as space

STEM_CHANNELS = 128
NUM_STACKS = 3
MODULES_PER_STACK = 3
BN_MOMENTUM = 0.003  # torch convention: 1 - TF's 0.997
BN_EPS = 1e-5
#: TF1's truncated-normal correction: the std of a unit normal truncated at +-2.
_TRUNCATED_STD = 0.87962566103423978


def compute_vertex_channels(in_channels: int, out_channels: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """Channels of every vertex of a module, as ``model_builder.compute_vertex_channels``.

    The output's channels are split evenly over the interior vertices that feed it (the first ``out % k`` get one
    more); a vertex that does not feed the output takes the widest of its interior successors. Raises
    OutOfSearchSpace when the matrix cannot be built (an interior vertex with no path to the output).
    """
    num_vertices = len(matrix)
    channels = [0] * num_vertices
    channels[0] = in_channels
    channels[num_vertices - 1] = out_channels
    if num_vertices == 2:
        return channels
    last = num_vertices - 1
    fan_in = sum(matrix[v][last] for v in range(1, num_vertices))
    if fan_in == 0:
        raise OutOfSearchSpace("no interior vertex feeds the output: prune the cell first (space.nb101.prune)")
    interior, correction = divmod(out_channels, fan_in)
    for v in range(1, last):
        if matrix[v][last]:
            channels[v] = interior + (1 if correction > 0 else 0)
            correction -= 1 if correction > 0 else 0
    for v in range(num_vertices - 3, 0, -1):
        if not matrix[v][last]:
            for dst in range(v + 1, last):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
        if channels[v] <= 0:
            raise OutOfSearchSpace(f"vertex {v} has no path to the output: prune the cell first")
    # The original's sanity checks: widths never grow along an edge, and the output receives exactly out_channels.
    final_fan_in = 0
    for v in range(1, last):
        if matrix[v][last]:
            final_fan_in += channels[v]
        for dst in range(v + 1, last):
            if matrix[v][dst] and channels[v] < channels[dst]:
                raise AssertionError(f"vertex {v} ({channels[v]}) narrower than successor {dst} ({channels[dst]})")
    if final_fan_in != out_channels and not (final_fan_in == 0 and matrix[0][last]):
        raise AssertionError(f"output receives {final_fan_in} channels, expected {out_channels}")
    return channels


class GhostBatchNorm2d(nn.BatchNorm2d):
    """``BatchNorm2d`` whose training statistics cover groups of ``ghost_batch`` examples (TPU shards).

    Inference and the running-statistics update rule are those of ``BatchNorm2d``; with ``ghost_batch=None`` (or a
    batch no larger than it) it *is* ``BatchNorm2d``. Each group updates the running statistics in turn.
    """

    def __init__(self, num_features, ghost_batch: int | None = None, **kwargs):
        super().__init__(num_features, **kwargs)
        self.ghost_batch = ghost_batch

    def forward(self, x):
        if not self.training or self.ghost_batch is None or x.shape[0] <= self.ghost_batch:
            return super().forward(x)
        return torch.cat([super(GhostBatchNorm2d, self).forward(chunk) for chunk in x.split(self.ghost_batch)])


class ConvBnRelu(nn.Sequential):
    """``conv_bn_relu`` of ``base_ops.py``: k x k conv (no bias, 'same'), BN, ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, ghost_batch: int | None = None):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            GhostBatchNorm2d(out_channels, ghost_batch=ghost_batch, eps=BN_EPS, momentum=BN_MOMENTUM),
            nn.ReLU(inplace=True),
        )


def _vertex_op(op: str, channels: int, ghost_batch) -> nn.Module:
    if op == space.CONV3X3:
        return ConvBnRelu(channels, channels, 3, ghost_batch)
    if op == space.CONV1X1:
        return ConvBnRelu(channels, channels, 1, ghost_batch)
    if op == space.MAXPOOL3X3:
        # torch pads max-pooling with -inf, as TF's 'same' max-pool ignores the padding
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise OutOfSearchSpace(f"unsupported op {op!r} (available ops: {', '.join(space.OPS)})")


class Nb101Module(nn.Module):
    """One module (cell instance) with ``in_channels`` -> ``out_channels``; ``matrix``/``ops`` must be pruned."""

    def __init__(self, matrix, ops, in_channels: int, out_channels: int, ghost_batch: int | None = None):
        super().__init__()
        self.matrix = [list(row) for row in matrix]
        num_vertices = len(matrix)
        self.num_vertices = num_vertices
        self.channels = compute_vertex_channels(in_channels, out_channels, matrix)
        last = num_vertices - 1
        self.ops = nn.ModuleList([nn.Identity()])
        self.projections = nn.ModuleDict()
        # Interior predecessors of each vertex (truncated to its width) and whether the input is projected into it.
        self.interior_inputs = [[]]
        for t in range(1, last):
            self.interior_inputs.append([src for src in range(1, t) if matrix[src][t]])
            if matrix[0][t]:
                self.projections[str(t)] = ConvBnRelu(in_channels, self.channels[t], 1, ghost_batch)
            self.ops.append(_vertex_op(ops[t], self.channels[t], ghost_batch))
        self.output_inputs = [t for t in range(1, last) if matrix[t][last]]
        if matrix[0][last]:
            self.projections[str(last)] = ConvBnRelu(in_channels, out_channels, 1, ghost_batch)

    def forward(self, x):
        last = self.num_vertices - 1
        tensors = [x]
        for t in range(1, last):
            width = self.channels[t]
            total = None
            for src in self.interior_inputs[t]:
                value = tensors[src]
                if value.shape[1] != width:  # truncation: keep the first `width` channels (difference is 1)
                    value = value[:, :width]
                total = value if total is None else total + value
            projection = self.projections[str(t)] if str(t) in self.projections else None
            if projection is not None:
                value = projection(x)
                total = value if total is None else total + value
            tensors.append(self.ops[t](total))
        if not self.output_inputs:
            return self.projections[str(last)](x)
        if len(self.output_inputs) == 1:
            out = tensors[self.output_inputs[0]]
        else:
            out = torch.cat([tensors[t] for t in self.output_inputs], dim=1)
        if str(last) in self.projections:
            out = out + self.projections[str(last)](x)
        return out


class Nb101Network(nn.Module):
    """The whole NB-101 network for one cell.

    ``arch``: NNI's arch dict or ``{'matrix', 'ops'}`` (pruned here, like ``ModelSpec``). ``in_channels`` and
    ``num_classes`` follow the dataset (the benchmark: 3 and 10).
    """

    def __init__(self, arch, num_classes: int = 10, in_channels: int = 3, stem_channels: int = STEM_CHANNELS,
                 num_stacks: int = NUM_STACKS, modules_per_stack: int = MODULES_PER_STACK,
                 ghost_batch: int | None = None, tf_init: bool = True):
        super().__init__()
        matrix, ops = space.parse_arch(arch)
        self.matrix, self.ops, self.hash = space.canonical(matrix, ops)
        layers: list[nn.Module] = [ConvBnRelu(in_channels, stem_channels, 3, ghost_batch)]
        channels_in = stem_channels
        channels = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                channels *= 2
            for _ in range(modules_per_stack):
                layers.append(Nb101Module(self.matrix, self.ops, channels_in, channels, ghost_batch))
                channels_in = channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels_in, num_classes)
        if tf_init:
            tf_style_init(self)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.mean(dim=(2, 3)))


@torch.no_grad()
def tf_style_init(model: nn.Module) -> None:
    """TF1 defaults: conv kernels ``VarianceScaling(1, fan_in, truncated_normal)``, dense glorot-uniform, zero bias,
    BN gamma 1 / beta 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            std = math.sqrt(1.0 / fan_in) / _TRUNCATED_STD
            nn.init.trunc_normal_(module.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            module.reset_running_stats()
