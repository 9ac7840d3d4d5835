"""Databases for the ``nasbench-db serve`` tests and benchmark.

* :func:`build_lab`: one directory holding every benchmark a lab installs, from real data where the project has it:
  the real NB-101 sample with EC-NAS-Bench's real energy file and the real NB-101 zero-cost file; the real NATS
  topology records (archs 0, 11, 284, per-epoch curves) with HW-NAS-Bench costs (the fixture's original pickle layout,
  first 300 cells) and the real NB-201 zero-cost file; one self-trained run of an NB-201 and of an NB-101 cell (as
  ``nasbench-db train`` writes them, tests/test_sources.py); the real NATS size-space records; the real NAS-Bench-NLP
  WikiText-2 logs; a small NDS sweep in the original format.
* :func:`build_landscape`: all 15,625 NB-201 cells (synthetic accuracies, tests/search_fixture.py) with the full-size
  HW-NAS-Bench fixture and the real NB-201 zero-cost file, for checking canned queries against the analysis API.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

DATA = HERE / "data"
SAMPLE_TFRECORD = HERE.parent / "nasbench_db" / "data" / "nb101_sample.tfrecord"
ZC_NB201 = DATA / "zc" / "zc_nasbench201_6639fd15.json"
ZC_NB101 = DATA / "zc" / "zc_nasbench101_6639fd15.json"
ECNAS_5V = DATA / "ecnas" / "energy_5V9E.tfrecord"
NLP_WIKI = DATA / "nas-bench-nlp" / "train_logs_wikitext-2_logs.zip"
NATS = DATA / "nats"

#: The NB-101 Inception cell of the README (real runs in the sample).
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"
INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                        [0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                        [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                     "maxpool3x3", "output"]}


#: (arch index, dataset, epochs) of the self-trained NB-201 run in the lab
TRAINED_NB201 = (11, "cifar10-valid", 12)


def build_lab(directory: Path, hw_cells: int = 300) -> Path:
    import hw_nasbench_fixture as hw
    import nds_fixture

    from nasbench_db.convert.ecnas import convert_ecnas
    from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
    from nasbench_db.convert.nb101 import convert_nb101
    from nasbench_db.convert.nb201 import convert_nats_sss, convert_nats_tss
    from nasbench_db.convert.nds import convert_nds
    from nasbench_db.convert.nlp import convert_nlp
    from nasbench_db.convert.zc import convert_zc

    directory = Path(directory)
    inputs = directory.parent / (directory.name + "-inputs")
    inputs.mkdir(parents=True, exist_ok=True)
    convert_nb101(SAMPLE_TFRECORD, directory, progress=False)
    convert_ecnas(ECNAS_5V, directory)
    convert_zc(ZC_NB101, directory)
    convert_nats_tss(NATS / "NATS-tss-v1_0-3ffb9-simple", directory, progress=False)
    convert_hw_nasbench(hw.write_pickle(inputs / "HW-NAS-Bench-v1_0.pickle", hw.hw_dict(hw_cells)), directory)
    convert_zc(ZC_NB201, directory)
    # one self-trained run of each space beside the released ones (a source of their own)
    from test_sources import _nb101_result, _nb201_result, _write

    from nasbench_db.convert.results import convert_results

    convert_results(_write(inputs / "results", [
        _nb201_result(TRAINED_NB201[0], TRAINED_NB201[1], TRAINED_NB201[2], 1, ("cuda", "NVIDIA H100 80GB HBM3")),
        _nb101_result(INCEPTION_HASH, "cifar10", 108, 5)]), directory)
    convert_nats_sss(NATS / "NATS-sss-v1_0-50262-simple", directory, progress=False)
    convert_nlp(NLP_WIKI, directory, progress=False)
    sweeps = nds_fixture.build_sweeps({"DARTS": 4, "ResNet": 4}, seed=3, epochs_cifar=6, epochs_imagenet=4)
    convert_nds(nds_fixture.write_dir(inputs / "nds_data", sweeps), directory, progress=False)
    return directory


def build_landscape(directory: Path, datasets=("cifar10-valid", "cifar100"), seeds=(777, 888)) -> Path:
    import hw_nasbench_fixture as hw
    import search_fixture

    from nasbench_db.convert.hw_nasbench import convert_hw_nasbench
    from nasbench_db.convert.zc import convert_zc

    directory = Path(directory)
    search_fixture.build_nb201_landscape(directory, datasets=datasets, seeds=seeds)
    pickle_path = directory.parent / (directory.name + "-HW-NAS-Bench-v1_0.pickle")
    convert_hw_nasbench(hw.write_pickle(pickle_path, hw.hw_dict()), directory)
    pickle_path.unlink()
    convert_zc(ZC_NB201, directory)
    return directory
