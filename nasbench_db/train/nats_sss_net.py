"""The NATS-Bench size-space network (``infer.shape.tiny``) in PyTorch, built from :mod:`nasbench_db.spaces.nats_sss`.

The topology is fixed (:data:`nasbench_db.spaces.nats_sss.CELL`, NB-201 cell 9930); the arch gives the widths of the
5 layers ``C1:C2:C3:C4:C5``: stem -> C1, cell C1 -> C1, residual block C1 -> C2 (stride 2), cell C2 -> C3, residual
block C3 -> C4 (stride 2), cell C4 -> C5, head on C5 (AutoDL-Projects ``DynamicShapeTinyNet``). A cell whose input
width differs from its output width widens on the edges leaving its input node (see :mod:`.nb201_net`).
"""

from __future__ import annotations

from ..spaces import nats_sss as space
from .nb201_net import BN_EPS, BN_MOMENTUM, CellNetwork


class SizeNetwork(CellNetwork):
    """The size-space network for ``arch`` (``'C1:C2:C3:C4:C5'``, a channel sequence or the index)."""

    def __init__(self, arch, num_classes: int = 10, in_channels: int = 3, bn_momentum=BN_MOMENTUM, bn_eps=BN_EPS):
        channels = space.channels_of(arch)
        kinds = ("cell", "reduce", "cell", "reduce", "cell")
        super().__init__(space.CELL, channels[0], list(zip(kinds, channels)), num_classes, in_channels,
                         bn_momentum, bn_eps)
        self.channels = channels
