"""HW-NAS-Bench fixtures in the exact layout of ``HW-NAS-Bench-v1_0.pickle`` (the real file cannot be fetched here).

Layout (GATECH-EIC/HW-NAS-Bench ``hw_nas_bench_api/hw_nas_bench_api.py`` reads it so):
``{'nasbench201': {dataset: {metric: <one value per NB-201 index>, 'config': [<net config dict per index>]}},
'fbnet': {metric: {layer key: value}}}`` with datasets cifar10 / cifar100 / ImageNet16-120, the 10 NB-201 metrics of
the API and its 8 FBNet metrics. The per-index metric sequences are numpy float64 arrays by default (the real file
needs numpy to load: third-party loaders silence numpy's dtype-pickle warning), or plain lists (``container='list'``).

Real values where they are known:

* :data:`REAL_NB201`: the API's answers for archs 0, 1, 2 on the three datasets, as printed in the repository's
  ``example.ipynb`` (commit 6c67e04375d0b9016846cce627f67804235f5e9e), including ``average_hw_metric``;
* the net configs follow the real per-arch config pickles in ``tests/data/hw_nasbench/`` (the repository's
  ``dev/proj_edgegpu/arch_configs/<dataset>/config_<i>.pkl``, commit 5e54c2e5): ``{'name': 'infer.tiny', 'C': 16,
  'N': 5, 'arch_str': ..., 'num_classes': ...}`` in that key order.

Every other value is synthetic (a deterministic function of the cell's convolutions and index), and so are the FBNet
lookup tables: one entry per layer key an FBNet network can use (:func:`nasbench_db.spaces.fbnet.all_layer_keys`).
:data:`REAL_FBNET` holds the notebook's FBNet answers, which a synthetic table cannot reproduce.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy  # noqa: E402

from nasbench_db.spaces import fbnet as fbnet_space  # noqa: E402
from nasbench_db.spaces import nb201 as nb201_space  # noqa: E402

DATA = HERE / "data" / "hw_nasbench"
DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
           "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy")
FBNET_METRICS = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency", "eyeriss_latency",
                 "eyeriss_energy", "fpga_latency", "fpga_energy")

# example.ipynb, cell 1 output: hw_api.query_by_index(idx, dataset) for idx 0..2
REAL_NB201 = {
    (0, "cifar10"): {'edgegpu_latency': 5.807418537139893, 'edgegpu_energy': 24.226614330768584, 'raspi4_latency': 10.481976820010459, 'edgetpu_latency': 0.9571811309997429, 'pixel3_latency': 3.6058499999999998, 'eyeriss_latency': 3.645620000000001, 'eyeriss_energy': 0.6872827644999999, 'eyeriss_arithmetic_intensity': 6.289297634665844, 'fpga_latency': 2.57296, 'fpga_energy': 18.01072, 'average_hw_metric': 591005.8676719831},  # noqa: E501
    (0, "cifar100"): {'edgegpu_latency': 5.866079330444336, 'edgegpu_energy': 24.471327606836955, 'raspi4_latency': 10.432981719932286, 'edgetpu_latency': 0.9669485199992778, 'pixel3_latency': 5.04007, 'eyeriss_latency': 3.648640000000001, 'eyeriss_energy': 0.6874206219999999, 'eyeriss_arithmetic_intensity': 6.267465213714637, 'fpga_latency': 2.57296, 'fpga_energy': 18.01072, 'average_hw_metric': 848343.0600009117},  # noqa: E501
    (0, "ImageNet16-120"): {'edgegpu_latency': 5.828042030334473, 'edgegpu_energy': 24.238826804161075, 'raspi4_latency': 2.973176879895618, 'edgetpu_latency': 0.7929624850075925, 'pixel3_latency': 1.33656, 'eyeriss_latency': 0.9145600000000003, 'eyeriss_energy': 0.17677097200000003, 'eyeriss_arithmetic_intensity': 2.2148960216998193, 'fpga_latency': 0.64912, 'fpga_energy': 4.54384, 'average_hw_metric': 212.2595758338255},  # noqa: E501
    (1, "cifar10"): {'edgegpu_latency': 6.547689437866211, 'edgegpu_energy': 29.997147878011067, 'raspi4_latency': 54.77739761998237, 'edgetpu_latency': 1.4389883610001561, 'pixel3_latency': 17.2381, 'eyeriss_latency': 7.577780000000003, 'eyeriss_energy': 1.5644240284999997, 'eyeriss_arithmetic_intensity': 20.86006697108513, 'fpga_latency': 5.31536, 'fpga_energy': 37.20752, 'average_hw_metric': 625714165.8534921},  # noqa: E501
    (1, "cifar100"): {'edgegpu_latency': 6.49538516998291, 'edgegpu_energy': 28.763730661074316, 'raspi4_latency': 54.55359055995359, 'edgetpu_latency': 1.4470767620005063, 'pixel3_latency': 23.4768, 'eyeriss_latency': 7.5808000000000035, 'eyeriss_energy': 1.5645618859999997, 'eyeriss_arithmetic_intensity': 20.824541103340195, 'fpga_latency': 5.31536, 'fpga_energy': 37.20752, 'average_hw_metric': 812222704.4957968},  # noqa: E501
    (1, "ImageNet16-120"): {'edgegpu_latency': 6.373348236083984, 'edgegpu_energy': 27.730438175201414, 'raspi4_latency': 8.764811480068602, 'edgetpu_latency': 1.0751235479983734, 'pixel3_latency': 6.59465, 'eyeriss_latency': 1.8976000000000006, 'eyeriss_energy': 0.4007401879999999, 'eyeriss_arithmetic_intensity': 6.2913928924685605, 'fpga_latency': 1.8784, 'fpga_energy': 13.148800000000001, 'average_hw_metric': 206280.8222021256},  # noqa: E501
    (2, "cifar10"): {'edgegpu_latency': 6.509256362915039, 'edgegpu_energy': 29.40231099128723, 'raspi4_latency': 50.40940375998616, 'edgetpu_latency': 2.0300670009992245, 'pixel3_latency': 15.723, 'eyeriss_latency': 10.526900000000001, 'eyeriss_energy': 2.0846801885, 'eyeriss_arithmetic_intensity': 9.855405336239704, 'fpga_latency': 5.28656, 'fpga_energy': 37.005919999999996, 'average_hw_metric': 1322070143.9215944},  # noqa: E501
    (2, "cifar100"): {'edgegpu_latency': 6.567897796630859, 'edgegpu_energy': 29.338799457550046, 'raspi4_latency': 49.32873783996911, 'edgetpu_latency': 2.579378587000974, 'pixel3_latency': 21.7894, 'eyeriss_latency': 10.52992, 'eyeriss_energy': 2.084818046, 'eyeriss_arithmetic_intensity': 9.84428376395304, 'fpga_latency': 5.28656, 'fpga_energy': 37.005919999999996, 'average_hw_metric': 2294387090.0059085},  # noqa: E501
    (2, "ImageNet16-120"): {'edgegpu_latency': 6.557350158691406, 'edgegpu_energy': 28.281851234436036, 'raspi4_latency': 8.361578920012107, 'edgetpu_latency': 1.4812845270062098, 'pixel3_latency': 5.85365, 'eyeriss_latency': 2.63488, 'eyeriss_energy': 0.5342876919999999, 'eyeriss_arithmetic_intensity': 2.9733837772397096, 'fpga_latency': 1.4208, 'fpga_energy': 9.9456, 'average_hw_metric': 267478.9980335615},  # noqa: E501
}
# example.ipynb, FBNet cell output (needs the real lookup tables; kept for reference)
REAL_FBNET = {
    ((0,) * 22, "cifar100"): {'edgegpu_latency': 15.804523468017578, 'edgegpu_energy': 86.98095934380125, 'raspi4_latency': 17.618579145142576, 'pixel3_latency': 7.788973100000002, 'eyeriss_latency': 3.9408960000000004, 'eyeriss_energy': 3.2420080000000002, 'fpga_latency': 10.739520000000002, 'fpga_energy': 75.17664, 'average_hw_metric': 1945958271.4210253},  # noqa: E501
}
REAL_CONFIG_0_CIFAR10 = {'name': 'infer.tiny', 'C': 16, 'N': 5,
                         'arch_str': '|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|'
                                     'skip_connect~2|', 'num_classes': 10}


def synthetic_value(metric: str, index: int, dataset: str) -> float:
    """A deterministic, plausible value: grows with the cell's convolutions, varies with the index and dataset."""
    ops = nb201_space.arch_of_index(index)
    n3, n1 = nb201_space.count_convs(ops)
    pools = ops.count(nb201_space.AVG_POOL_3X3)
    scale = {"cifar10": 1.0, "cifar100": 1.01, "ImageNet16-120": 0.3}[dataset]
    base = {"latency": 2.0, "energy": 10.0, "intensity": 3.0}[metric.rsplit("_", 1)[-1]]
    device = 1.0 + METRICS.index(metric) / 7.0
    return scale * device * (base + 1.7 * n3 + 0.45 * n1 + 0.2 * pools) + (index % 997) / 9973.0


def net_config(index: int, dataset: str) -> dict:
    return {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": nb201_space.arch_str(index),
            "num_classes": CLASSES[dataset]}


def fbnet_tables(seed: int = 0) -> dict:
    rng = numpy.random.default_rng(seed)
    keys = []
    for dataset in fbnet_space.DATASETS:
        keys.extend(k for k in fbnet_space.all_layer_keys(dataset) if k not in keys)
    return {metric: {key: float(rng.uniform(0.01, 2.0)) for key in keys} for metric in FBNET_METRICS}


def hw_dict(num_archs: int = nb201_space.NUM_ARCHS, container: str = "ndarray") -> dict:
    """The pickle's top-level dict for the first ``num_archs`` indices (real values for archs 0-2)."""
    space = {}
    for dataset in DATASETS:
        entries = {}
        for metric in METRICS:
            values = [REAL_NB201[(i, dataset)][metric] if (i, dataset) in REAL_NB201 else
                      synthetic_value(metric, i, dataset) for i in range(num_archs)]
            entries[metric] = numpy.array(values, dtype=numpy.float64) if container == "ndarray" else values
        entries["config"] = [net_config(i, dataset) for i in range(num_archs)]
        space[dataset] = entries
    return {"nasbench201": space, "fbnet": fbnet_tables()}


def write_pickle(path, data: dict, protocol: int = 3, numpy1_names: bool = True) -> Path:
    """``pickle.dump`` the dict; ``numpy1_names``: name numpy's modules as numpy 1.x did (``numpy.core``), as a file
    written in 2021 does (only GLOBAL opcodes are rewritten, so protocol must be below 4)."""
    raw = pickle.dumps(data, protocol=protocol)
    if numpy1_names:
        if protocol >= 4:
            raise ValueError("numpy1_names needs protocol <= 3 (text GLOBAL opcodes)")
        raw = raw.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    path = Path(path)
    path.write_bytes(raw)
    return path


def expected_query(data: dict, index: int, dataset: str) -> dict:
    """What the original ``query_by_index`` returns for the nasbench201 space, transcribed plainly from its
    documented behaviour (``float`` of each stored value; the product of nine of them)."""
    entries = data["nasbench201"][dataset]
    result = {metric: float(entries[metric][index]) for metric in METRICS}
    product = 1.0
    first = True
    for metric in METRICS:
        if metric == "eyeriss_arithmetic_intensity":
            continue
        product = result[metric] if first else product * result[metric]
        first = False
    result["average_hw_metric"] = product
    return result


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "HW-NAS-Bench-v1_0.pickle")
    write_pickle(target, hw_dict())
    print(f"wrote {target} ({target.stat().st_size:,} bytes)")
