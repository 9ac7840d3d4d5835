"""Training jobs: NB-101 / NB-201 / NATS size-space networks with the benchmarks' own protocols.

The networks and the runner need PyTorch (imported by the submodules, not here); :mod:`.schema` (the JSON result
format) does not, so ``nasbench-db convert results`` works without torch.
"""
