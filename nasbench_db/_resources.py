"""Files shipped inside the package (``nasbench_db/data/``; provenance and licences in its README.md)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def bundled_file(name: str) -> Path:
    """Path of ``name`` in the package's data folder (the NB-101 sample, the NB-201 test-split files)."""
    return DATA_DIR / name
