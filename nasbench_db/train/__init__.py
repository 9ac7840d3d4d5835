"""Training jobs: NB-101 / NB-201 / NATS size-space networks with the benchmarks' own protocols.

The networks and the runner need PyTorch (imported by the submodules, not here); :mod:`.schema` (the JSON result
format) does not, so ``nasbench-db convert results`` works without torch. :func:`require_torch` turns a missing
torch into a :class:`~nasbench_db.errors.MissingDependency` that says how to install it.
"""

from ..errors import MissingDependency

#: how to install torch: the plain pin pulls the CUDA build (~19 NVIDIA packages) unless pip is pointed at a CPU
#: wheel; PyTorch's CPU index gives the CPU-only wheel anywhere
TORCH_INSTALL = ("pip install torch==2.13.0 (CPU-only wheel: pip install torch==2.13.0 --index-url "
                 "https://download.pytorch.org/whl/cpu)")


def require_torch(feature: str) -> None:
    """Raise :class:`MissingDependency` naming ``feature`` and the install command when torch cannot be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependency(f"{feature} needs PyTorch, which is not installed: {TORCH_INSTALL}") from None
