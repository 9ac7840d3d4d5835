"""Parameter and FLOP counts of a network, as the benchmarks count them.

* parameters: the number of trainable scalars (``sum(p.numel())``; BN affine included, running statistics not).
  NB-101's ``trainable_parameters`` and NB-201's ``params`` (x 1e6) are this number.
* FLOPs: the counter of NAS-Bench-201's ``get_model_infos`` as its released numbers show (spec nb201_nds.md 4.3):
  multiply-adds of ``Conv2d`` (k*k*Cin*Cout/groups per output position, plus Cout per position with a bias) and
  ``Linear`` (in*out, plus out with a bias) for one image; pooling, BN, activations and sums are not counted.
  Reported in millions. NB-101 never published FLOPs; the same counter is used for it.
"""

from __future__ import annotations

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (exact count)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@torch.no_grad()
def count_flops(model: nn.Module, input_shape: tuple) -> float:
    """Multiply-adds of Conv2d and Linear layers for one input of ``input_shape`` (C, H, W), in millions."""
    total = [0]

    def conv_hook(module: nn.Conv2d, inputs, output):
        kh, kw = module.kernel_size
        positions = output.shape[0] * output.shape[2] * output.shape[3]
        flops = kh * kw * module.in_channels * module.out_channels // module.groups * positions
        if module.bias is not None:
            flops += module.out_channels * positions
        total[0] += flops

    def linear_hook(module: nn.Linear, inputs, output):
        rows = inputs[0].numel() // module.in_features
        flops = rows * module.in_features * module.out_features
        if module.bias is not None:
            flops += rows * module.out_features
        total[0] += flops

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        model(torch.zeros((1, *input_shape), device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total[0] / 1e6
