"""Training jobs: networks vs the originals' parameter/FLOP counts, protocols, data, results JSON, ingestion."""

from __future__ import annotations

import bz2
import json
import math
import pickle
import shutil
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from nasbench_db.cli import cli  # noqa: E402
from nasbench_db.errors import CorruptInput, InvalidArgument  # noqa: E402
from nasbench_db.spaces import nb101 as nb101_space  # noqa: E402
from nasbench_db.train import protocols, runner, schema  # noqa: E402
from nasbench_db.train.cost import count_flops, count_parameters  # noqa: E402
from nasbench_db.train.data import FASHION_MNIST_DIR, Augmenter, cifar10_valid_indices  # noqa: E402
from nasbench_db.train.nats_sss_net import SizeNetwork  # noqa: E402
from nasbench_db.train.nb101_net import Nb101Network, compute_vertex_channels  # noqa: E402
from nasbench_db.train.nb201_net import TinyNetwork  # noqa: E402

from conftest import DATA, SAMPLE_TFRECORD  # noqa: E402
from nb101_fixture import real_cells  # noqa: E402

HAVE_FMNIST = Path(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz").is_file()
needs_fmnist = pytest.mark.skipif(not HAVE_FMNIST, reason="apt-get install dataset-fashion-mnist")

INCEPTION = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                        [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
             "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu",
                     "maxpool3x3", "output"]}
CELL_00005C14 = {"matrix": [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1],
                            [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1],
                            [0, 0, 0, 0, 0, 0, 0]],
                 "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu",
                         "conv1x1-bn-relu", "output"]}
#: The cheapest NB-101 cell (input -> output: every module is one 1x1 projection) for smoke runs.
TINY_NB101 = {"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}


# ----------------------------------------------------------------------------------------------------------------------
# networks and costs

def test_vertex_channels_match_the_original_test_vectors():
    diamond = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    assert compute_vertex_channels(8, 8, diamond) == [8, 4, 4, 8]
    assert compute_vertex_channels(8, 15, diamond) == [8, 8, 7, 15]
    parallel = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 8, parallel) == [8, 3, 3, 2, 8]
    assert compute_vertex_channels(8, 15, parallel) == [8, 5, 5, 5, 15]
    max_case = [[0, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 8, max_case) == [8, 4, 4, 4, 8]
    assert compute_vertex_channels(8, 9, max_case) == [8, 5, 5, 4, 9]
    chain = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert compute_vertex_channels(8, 15, chain) == [8, 8, 7, 7, 15]


def test_nb101_parameters_equal_the_dataset_for_every_real_cell():
    cells = [(c["hash"], {"matrix": nb101_space.adjacency_to_matrix(c["adjacency"]),
                          "ops": c["operations"].split(",")}, c["parameters"]) for c in real_cells()]
    cells.append(("00005c142e6f48ac74fdcf73e3439874", CELL_00005C14, 8_555_530))
    assert len(cells) == 32
    for digest, arch, expected in cells:
        net = Nb101Network(arch, tf_init=False)
        assert net.hash == digest
        assert count_parameters(net) == expected, digest
    assert count_parameters(Nb101Network(INCEPTION, tf_init=False)) == 2_694_282


def test_nb101_flops_of_the_projection_only_cell_by_hand():
    # stem 3x3x3x128 @32x32; per stack 3 projections 1x1 (first one from the previous width); dense 512x10 + 10
    expected = (9 * 3 * 128 * 1024 + 3 * 128 * 128 * 1024 + (128 * 256 + 2 * 256 * 256) * 256
                + (256 * 512 + 2 * 512 * 512) * 64 + 512 * 10 + 10)
    assert count_flops(Nb101Network(TINY_NB101, tf_init=False), (3, 32, 32)) == pytest.approx(expected / 1e6)


def test_nb101_network_runs_and_truncates():
    # vertex 2 is 1 channel narrower than its predecessor vertex 1: exercises truncation
    chain = {"matrix": [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
             "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]}
    net = Nb101Network(chain, num_classes=10, stem_channels=15, num_stacks=1, modules_per_stack=1)
    assert net.features[1].channels == [15, 8, 7, 7, 15]
    assert net(torch.zeros(2, 3, 8, 8)).shape == (2, 10)


def test_nb101_bn_and_init_follow_tf():
    net = Nb101Network(INCEPTION)
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns and all(m.momentum == 0.003 and m.eps == 1e-5 for m in bns)
    conv = net.features[0][0]
    std = math.sqrt(1 / (3 * 3 * 3)) / 0.87962566103423978
    assert conv.weight.abs().max() <= 2 * std + 1e-6
    assert net.classifier.bias.abs().max() == 0


NB201_TABLE = {  # spec nb201_nds.md 4.4 (verified against the released files): idx -> {dataset: (params M, MFLOPs)}
    0: {"cifar10": (0.129306, 15.64737), "cifar100": (0.135156, 15.65322), "imagenet16-120": (0.136456, 3.91948)},
    11: {"cifar10": (0.802426, 113.95137), "cifar100": (0.808276, 113.95722),
         "imagenet16-120": (0.809576, 28.49548)},
    284: {"cifar10": (0.101306, 11.71521), "cifar100": (0.107156, 11.72106), "imagenet16-120": (0.108456, 2.93644)},
    11472: {"cifar10": (0.559386, 78.56193), "cifar100": (0.565236, 78.56778),
            "imagenet16-120": (0.566536, 19.64812)},
    9930: {"cifar10": (1.288506, 184.73025), "cifar100": (1.294356, 184.73610),
           "imagenet16-120": (1.295656, 46.19020)},
    1651: {"cifar10": (0.073306, 7.78305), "cifar100": (0.079156, 7.78890), "imagenet16-120": (0.080456, 1.95340)},
}


@pytest.mark.parametrize("index", sorted(NB201_TABLE))
def test_nb201_parameters_and_flops_match_the_benchmark(index):
    for dataset, (params, flops) in NB201_TABLE[index].items():
        got = runner.cost("nb201", index, dataset)
        assert got["parameters"] == round(params * 1e6)
        assert got["flops"] == pytest.approx(flops, abs=5e-6)


def _nats_records(kind):
    for path in sorted((DATA / "nats").glob(f"NATS-{kind}-*-simple/0*.pickle.pbz2")):
        with bz2.BZ2File(path) as handle:
            payload = pickle.load(handle)
        for hp, info in payload.items():
            if hp != "12":  # hp=200 params/flops are wrong for some seeds (NATS-Bench#36); 12 is exact
                continue
            for (dataset, _seed), record in info["all_results"].items():
                yield dataset, record


@pytest.mark.parametrize("kind", ["tss", "sss"])
def test_networks_match_the_params_and_flops_in_the_real_nats_files(kind):
    classes = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
    checked = set()
    for dataset, record in _nats_records(kind):
        config = record["arch_config"]
        arch = config["channels"] if kind == "sss" else config["arch_str"]
        if (arch, dataset) in checked:
            continue
        checked.add((arch, dataset))
        net = SizeNetwork(arch, classes[dataset]) if kind == "sss" else TinyNetwork(arch, classes[dataset])
        side = 16 if dataset.startswith("ImageNet") else 32
        assert count_parameters(net) / 1e6 == pytest.approx(record["params"], abs=1e-9)
        assert count_flops(net, (3, side, side)) == pytest.approx(record["flop"], abs=1e-6)
    assert len(checked) == 12


def test_cost_command_prints_json():
    result = CliRunner().invoke(cli, ["cost", "nb101", "--arch", json.dumps(INCEPTION)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["parameters"] == 2_694_282 and data["arch_hash"] == "28cfc7874f6d200472e1a9dcd8650aa0"
    result = CliRunner().invoke(cli, ["cost", "nats-sss", "--arch", "8:8:8:8:99"])
    assert result.exit_code == 1 and "Error:" in result.output


# ----------------------------------------------------------------------------------------------------------------------
# protocols

def _hand_rmsprop_tf(w, g, ms, mom, lr, decay=0.9, momentum=0.9, eps=1.0, wd=1e-4):
    g = g + wd * w
    ms = decay * ms + (1 - decay) * g * g
    mom = momentum * mom + lr * g / math.sqrt(ms + eps)
    return w - mom, ms, mom


@pytest.mark.parametrize("foreach", [True, False])
def test_rmsprop_tf_matches_a_hand_computed_step(foreach):
    w0, grads, lrs = [0.5, -1.5], [[0.3, -2.0], [1.0, 0.25]], [0.0, 0.2]
    param = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    optimizer = protocols.RMSpropTF([param], lr=0.2, foreach=foreach)
    state = [(w, 1.0, 0.0) for w in w0]  # ms starts at 1, momentum at 0
    for lr, grad in zip(lrs, grads):
        protocols.set_lr(optimizer, lr)
        param.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        state = [_hand_rmsprop_tf(w, g, ms, mom, lr) for (w, ms, mom), g in zip(state, grad)]
        assert param.detach().tolist() == pytest.approx([s[0] for s in state], rel=1e-14, abs=1e-15)
    # step 0 at lr 0 left the weights unchanged but moved the mean square (the benchmark's initial step)
    first = _hand_rmsprop_tf(0.5, 0.3, 1.0, 0.0, 0.0)
    assert first[0] == 0.5 and first[1] != 1.0
    # torch's own RMSprop is not this optimizer
    other = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    reference = torch.optim.RMSprop([other], lr=0.2, alpha=0.9, eps=1.0, momentum=0.9, weight_decay=1e-4)
    other.grad = torch.tensor(grads[1], dtype=torch.float64)
    reference.step()
    assert other.detach().tolist() != pytest.approx(_hand_rmsprop_tf(0.5, 1.0, 1.0, 0.0, 0.2)[0])


def test_cosine_schedules():
    assert protocols.nb101_steps(108, 40000, 256) == 16875
    assert [protocols.nb101_steps(e, 40000, 256) for e in (4, 12, 36)] == [625, 1875, 5625]
    total = 16875
    assert protocols.cosine_by_step(0, total, 0.2) == 0.0
    assert protocols.cosine_by_step(1, total, 0.2) == pytest.approx(0.1 * (1 + math.cos(math.pi / total)))
    assert protocols.cosine_by_step(total // 2, total, 0.2) == pytest.approx(0.1, abs=1e-4)
    assert protocols.cosine_by_step(total, total, 0.2) == pytest.approx(0.0, abs=1e-15)
    lrs = [protocols.cosine_by_epoch(e, 200, 0.1) for e in range(200)]
    assert lrs[0] == 0.1 and lrs[100] == pytest.approx(0.05) and lrs[199] == pytest.approx(0.05 * (1 + math.cos(
        math.pi * 199 / 200)))
    scheduler_lrs = []
    param = torch.nn.Parameter(torch.zeros(1))
    sgd = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(sgd, T_max=12)
    for _ in range(12):
        scheduler_lrs.append(sgd.param_groups[0]["lr"])
        sgd.step()
        scheduler.step()
    assert [protocols.cosine_by_epoch(e, 12, 0.1) for e in range(12)] == pytest.approx(scheduler_lrs)


def test_protocol_defaults_are_the_benchmarks():
    nb101, nb201 = protocols.PROTOCOLS["nb101"], protocols.PROTOCOLS["nb201"]
    assert (nb101.optimizer, nb101.lr, nb101.weight_decay, nb101.bn_momentum, nb101.eval_examples) == \
        ("rmsprop_tf", 0.2, 1e-4, 0.003, 9984)
    assert (nb201.optimizer, nb201.lr, nb201.nesterov, nb201.weight_decay, nb201.batch_size) == \
        ("sgd", 0.1, True, 5e-4, 256)
    assert protocols.PROTOCOLS["nats_sss"].default_epochs == 90
    with pytest.raises(InvalidArgument):
        nb101.replace(nonsense=1)


@pytest.mark.parametrize("change, message", [
    ({"batch_size": 0}, "protocol batch_size (--batch-size) must be at least 1: got 0"),
    ({"lr": -0.1}, "protocol lr (--lr) must be at least 0.0: got -0.1"),
    ({"lr": float("nan")}, "protocol lr (--lr) must be at least 0.0: got nan"),
    ({"bn_momentum": 1.5}, "protocol bn_momentum (--bn-momentum) must be in [0, 1]: got 1.5"),
    ({"ghost_batch": 0}, "protocol ghost_batch (--ghost-batch) must be at least 1: got 0"),
    ({"eval_examples": 0}, "protocol eval_examples (--eval-examples) must be at least 1: got 0"),
    ({"rmsprop_decay": 1.0}, "protocol rmsprop_decay must be in [0, 1): got 1.0"),
    ({"optimizer": "adam"}, "protocol optimizer (--optimizer) must be one of rmsprop_tf, sgd: got 'adam'"),
])
def test_protocol_values_no_run_can_use_are_refused(change, message):
    with pytest.raises(InvalidArgument) as info:
        protocols.PROTOCOLS["nb101"].replace(**change)
    assert str(info.value) == message


def test_train_options_are_checked_before_any_data_is_read(tmp_path):
    base = ["train", "nb201", "--arch", "5", "--out", str(tmp_path / "out"), "--dataset", "cifar10",
            "--data-dir", str(tmp_path / "no-such-dir")]
    result = CliRunner().invoke(cli, base + ["--batch-size", "0"])
    assert result.exit_code == 1 and result.output.startswith("Error: protocol batch_size (--batch-size) must be")
    for option in ("--epochs", "--limit-batches"):  # 0 is refused, not taken for "the default"
        result = CliRunner().invoke(cli, base + [option, "0"])
        assert result.exit_code == 2 and f"Invalid value for '{option}': 0 is not in the range x>=1" in result.output
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------------------------------------------------
# data

def test_cifar10_valid_split_is_the_seeded_shuffle():
    train, valid = cifar10_valid_indices()
    assert len(train) == len(valid) == 25000 and not set(train) & set(valid)
    assert train[10] == 26 and valid[10] == 18


def test_augmenter_is_pad_crop_flip_then_normalise():
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).view(2, 3, 4, 4)
    generator = torch.Generator().manual_seed(0)
    plain = Augmenter((0, 0, 0), (1, 1, 1), 0, False, "cpu", generator)
    assert torch.equal(plain(images), images.float())
    augment = Augmenter((1, 2, 3), (2, 2, 2), 2, True, "cpu", generator)
    out = augment(images)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2)).float()
    for n in range(2):  # every output is a (possibly flipped) 4x4 window of the padded image
        target = (out[n] * 2 + torch.tensor([1.0, 2, 3]).view(3, 1, 1))
        windows = [padded[n, :, y:y + 4, x:x + 4] for y in range(5) for x in range(5)]
        assert any(torch.allclose(target, w) or torch.allclose(target, w.flip(2)) for w in windows)


@needs_fmnist
def test_fashion_mnist_reader():
    from nasbench_db.train.data import load_splits

    splits = load_splits("fashion-mnist", None, "nb101", 9984)
    assert len(splits.train) == 50000 and splits.input_shape == (3, 32, 32)
    assert {k: len(v) for k, v in splits.evals.items()} == {"train": 9984, "valid": 9984, "test": 9984}
    assert splits.train.images.dtype == torch.uint8 and int(splits.train.labels.max()) == 9
    assert int(splits.train.images[:, :, :2].sum()) == 0  # zero padding rows


def test_missing_dataset_names_the_files(tmp_path):
    from nasbench_db.errors import NasbenchDbError
    from nasbench_db.train.data import load_splits

    with pytest.raises(NasbenchDbError, match="data_batch_1"):
        load_splits("cifar10", tmp_path, "nb101")


def test_cifar_reader_checks_md5(tmp_path):
    from nasbench_db.errors import ChecksumMismatch
    from nasbench_db.train.data import read_cifar10

    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        with open(base / name, "wb") as handle:
            pickle.dump({b"data": [[0] * 3072] * 2, b"labels": [1, 2]}, handle)
    with pytest.raises(ChecksumMismatch, match="data_batch_1"):
        read_cifar10(tmp_path)
    sets = read_cifar10(tmp_path, verify=False)
    assert sets["test_batch"].images.shape == (2, 3, 32, 32) and sets["test_batch"].labels.tolist() == [1, 2]



@pytest.mark.parametrize("name, total", [("cifar100-test-split.txt", 10000),
                                         ("imagenet-16-120-test-split.txt", 6000)])
def test_bundled_test_splits_are_the_published_files(name, total):
    from nasbench_db._resources import bundled_file
    from nasbench_db.checksums import file_digest
    from nasbench_db.train.data import SPLIT_FILE_MD5, read_split_file

    assert file_digest(bundled_file(name), "md5") == SPLIT_FILE_MD5[name]
    split = read_split_file(None, name)
    assert sorted(split) == ["xtest", "xvalid"]
    assert len(split["xvalid"]) == len(split["xtest"]) == total // 2
    assert split["xvalid"] == sorted(split["xvalid"]) and split["xtest"] == sorted(split["xtest"])
    assert sorted(split["xvalid"] + split["xtest"]) == list(range(total))  # two halves of the whole set


def test_a_split_file_in_the_data_dir_comes_first_and_is_checked(tmp_path):
    from nasbench_db.errors import ChecksumMismatch
    from nasbench_db.train.data import read_split_file

    (tmp_path / "cifar100-test-split.txt").write_text('{"xvalid": ["int", ["0"]], "xtest": ["int", ["1"]]}')
    with pytest.raises(ChecksumMismatch, match="cifar100-test-split.txt: md5 .*expected 16f51963"):
        read_split_file(tmp_path, "cifar100-test-split.txt")
    assert read_split_file(tmp_path, "cifar100-test-split.txt", verify=False) == {"xvalid": [0], "xtest": [1]}


def _write_cifar100(directory: Path, train_count: int, seed: int = 0) -> None:
    """CIFAR-100 python files in the original layout (random pixels) -- not the real md5s, read with verify=False."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = directory / "cifar-100-python"
    base.mkdir(parents=True)
    for name, count in (("train", train_count), ("test", 10000)):
        with open(base / name, "wb") as handle:
            pickle.dump({b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
                         b"fine_labels": rng.integers(0, 100, count).tolist()}, handle)


def test_cifar100_nb201_trial_evaluates_the_bundled_test_halves(tmp_path):
    """NB-201's cifar100 protocol: ori-test is the 10k test set, x-valid / x-test its halves from the bundled file;
    ingested as NNI's valid / test / ori_test."""
    from nasbench_db.convert.results import convert_results
    from nasbench_db.query import query_nb201_trial_stats
    from nasbench_db.train.data import load_splits, read_split_file

    _write_cifar100(tmp_path / "data", train_count=16)
    splits = load_splits("cifar100", tmp_path / "data", "nb201", verify=False)
    halves = read_split_file(None, "cifar100-test-split.txt")
    assert {name: len(images) for name, images in splits.evals.items()} == {"ori-test": 10000}
    assert {name: (parent, list(indices)) for name, (parent, indices) in splits.subsets.items()} == {
        "x-valid": ("ori-test", halves["xvalid"]), "x-test": ("ori-test", halves["xtest"])}
    arch = "|none~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|"
    result = runner.run_trial("nb201", arch, "cifar100", epochs=1, seed=0, out_dir=tmp_path / "out", device="cpu",
                              protocol_overrides={"batch_size": 1000}, splits=splits, limit_batches=1)
    final = result["evaluations"][-1]["sets"]
    # with --limit-batches 1 and batch 1000 only the first 1000 test images are evaluated; the halves are cut with it
    assert final["ori-test"]["count"] == 1000
    assert final["x-valid"]["count"] == sum(i < 1000 for i in halves["xvalid"])
    assert final["x-valid"]["count"] + final["x-test"]["count"] == 1000
    assert final["x-valid"]["correct"] + final["x-test"]["correct"] == final["ori-test"]["correct"]
    convert_results(tmp_path / "out", tmp_path / "db")
    rows = list(query_nb201_trial_stats(arch, 1, "cifar100", source="trained", db_dir=tmp_path / "db"))
    assert len(rows) == 1 and (rows[0]["config"]["num_epochs"], rows[0]["config"]["dataset"]) == (1, "cifar100")
    assert (rows[0]["valid_acc"], rows[0]["test_acc"], rows[0]["ori_test_acc"]) == (
        final["x-valid"]["acc"], final["x-test"]["acc"], final["ori-test"]["acc"])


# ----------------------------------------------------------------------------------------------------------------------
# trials, JSON, determinism, ingestion

SMOKE = ["--dataset", "fashion-mnist", "--epochs", "2", "--limit-batches", "2", "--batch-size", "4",
         "--device", "cpu"]


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    """Two identical 2-epoch NB-101 smoke trials (seed 3) and one NB-201 trial, trained through the CLI."""
    if not HAVE_FMNIST:
        pytest.skip("apt-get install dataset-fashion-mnist")
    base = tmp_path_factory.mktemp("train")
    runs = []
    for name in ("a", "b"):
        out = base / name
        result = CliRunner().invoke(cli, ["train", "nb101", "--arch", json.dumps(TINY_NB101), "--seed", "3",
                                          "--out", str(out), *SMOKE])
        assert result.exit_code == 0, result.output
        runs.append(sorted(out.glob("*.json")))
    out = base / "nb201"
    result = CliRunner().invoke(cli, ["train", "nb201", "--arch", "1835", "--seed", "1", "--out", str(out), *SMOKE])
    assert result.exit_code == 0, result.output
    runs.append(sorted(out.glob("*.json")))
    return base, runs


def test_smoke_run_writes_a_valid_result(smoke_results):
    _, (first, _, nb201_files) = smoke_results
    assert len(first) == 1 and first[0].name.startswith("nb101-043721b9c7fe8c5fad811d47d83132ec-fashion-mnist-e2-s3-")
    result = schema.load(first[0])
    assert result["parameters"] == count_parameters(Nb101Network(TINY_NB101, tf_init=False))
    assert result["protocol"]["optimizer"] == "rmsprop_tf" and result["protocol"]["total_steps"] == 4
    assert [e["epoch"] for e in result["evaluations"]] == [0.0, 1.0, 2.0]  # step 0, halfway, final
    for entry in result["evaluations"]:
        assert set(entry["sets"]) == {"train", "valid", "test"}
        assert all(s["count"] == 8 and 0 <= s["acc"] <= 100 for s in entry["sets"].values())
    assert len(result["epoch_stats"]) == 2 and result["epoch_stats"][0]["lr"] == 0.0  # lr 0 at step 0
    assert result["device"]["type"] == "cpu" and result["runtime"]["limit_batches"] == 2
    assert result["software"]["torch"] == torch.__version__
    nb201 = schema.load(nb201_files[0])
    assert nb201["arch_index"] == 1835 and nb201["protocol"]["optimizer"] == "sgd"
    assert [set(e["sets"]) for e in nb201["evaluations"]] == [{"x-valid", "ori-test"}] * 2


def test_same_seed_on_cpu_gives_the_same_result(smoke_results):
    _, (first, second, _) = smoke_results
    a, b = schema.load(first[0]), schema.load(second[0])
    assert a["result_key"] != b["result_key"]  # different runs (times differ) ...
    assert [e["sets"] for e in a["evaluations"]] == [e["sets"] for e in b["evaluations"]]  # ... same numbers
    strip = [{k: v for k, v in s.items() if k != "train_time"} for s in a["epoch_stats"]]
    assert strip == [{k: v for k, v in s.items() if k != "train_time"} for s in b["epoch_stats"]]


def test_a_different_seed_changes_the_result():
    if not HAVE_FMNIST:
        pytest.skip("apt-get install dataset-fashion-mnist")
    from nasbench_db.train.data import load_splits

    splits = load_splits("fashion-mnist", None, "nb201", None)
    results = [runner.run_trial("nb201", 1835, "fashion-mnist", epochs=1, seed=seed, limit_batches=1,
                                device="cpu", protocol_overrides={"batch_size": 8}, splits=splits)
               for seed in (0, 1)]
    assert results[0]["epoch_stats"][0]["train_loss"] != results[1]["epoch_stats"][0]["train_loss"]


def test_edited_result_is_refused(smoke_results, tmp_path):
    _, (first, _, _) = smoke_results
    data = json.loads(first[0].read_text())
    data["evaluations"][-1]["sets"]["test"]["acc"] = 99.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(CorruptInput, match="result_key does not match"):
        schema.load(bad)
    result = CliRunner().invoke(cli, ["convert", "results", str(bad)])
    assert result.exit_code == 1 and "result_key" in result.output


def _trained_rows(db_dir):
    import sqlite3

    conn = sqlite3.connect(str(Path(db_dir) / "nasbench101.db"))
    try:
        return conn.execute("SELECT s.device, s.sha256, t.id, t.train_acc, t.valid_acc, t.test_acc, "
                            "t.halfway_test_acc FROM nb101_trial t JOIN nasbench_source s ON s.id = t.source_id "
                            "WHERE s.kind = 'trained' ORDER BY t.id").fetchall()
    finally:
        conn.close()


def test_ingest_creates_the_database_and_is_idempotent(smoke_results, tmp_path):
    base, (first, second, _) = smoke_results
    db_dir = tmp_path / "db"
    for _ in range(2):
        result = CliRunner().invoke(cli, ["convert", "results", str(first[0]), "--db-dir", str(db_dir)])
        assert result.exit_code == 0, result.output
    rows = _trained_rows(db_dir)
    assert len(rows) == 1
    data = schema.load(first[0])
    final = data["evaluations"][-1]["sets"]
    assert rows[0][1] == data["result_key"] and rows[0][0] == data["device"]["name"]
    assert rows[0][3:6] == (final["train"]["acc"], final["valid"]["acc"], final["test"]["acc"])
    assert rows[0][6] == data["evaluations"][1]["sets"]["test"]["acc"]
    # the second run of the same cell and seed is another trial of the same config
    CliRunner().invoke(cli, ["convert", "results", str(second[0]), "--db-dir", str(db_dir)])
    rows = _trained_rows(db_dir)
    assert len(rows) == 2 and rows[1][2] == rows[0][2] + 1
    from nasbench_db.query import query_nb101_trial_stats

    trained = list(query_nb101_trial_stats(TINY_NB101, 2, source="trained", db_dir=db_dir))
    assert len(trained) == 2
    assert list(query_nb101_trial_stats(TINY_NB101, 2, db_dir=db_dir)) == []  # originals only by default


def test_concurrent_ingesters_store_each_result_once(smoke_results, tmp_path):
    from nasbench_db.convert.results import convert_results

    base, (first, second, _) = smoke_results
    results_dir = tmp_path / "many"
    results_dir.mkdir()
    for path in first + second:
        (results_dir / path.name).write_bytes(path.read_bytes())
    db_dir = tmp_path / "db"
    errors = []

    def ingest():
        try:
            convert_results(results_dir, db_dir)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ingest) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(_trained_rows(db_dir)) == 2


def test_reconverting_the_original_file_keeps_trained_rows(smoke_results, tmp_path):
    from nasbench_db.convert.nb101 import convert_nb101
    from nasbench_db.convert.results import convert_results

    _, (first, _, _) = smoke_results
    db_dir = tmp_path / "db"
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    convert_results(first[0], db_dir)
    before = _trained_rows(db_dir)
    convert_nb101(SAMPLE_TFRECORD, db_dir, progress=False)
    after = _trained_rows(db_dir)
    assert len(after) == 1 and [r[:2] + r[3:] for r in after] == [r[:2] + r[3:] for r in before]
    assert convert_results(first[0], db_dir).skipped == 1  # still idempotent after the carry-over


def _nb201_trained(db_dir):
    """Trained NB-201 runs: in tables of their own, never in NNI's nb201trialstats."""
    import sqlite3

    conn = sqlite3.connect(str(Path(db_dir) / "nasbench201.db"))
    try:
        assert conn.execute("SELECT COUNT(*) FROM nb201trialstats t JOIN nasbench_source s ON s.id = t.source_id "
                            "WHERE s.kind <> 'original'").fetchone()[0] == 0
        return conn.execute("SELECT t.id, t.config_id, c.arch_index, c.num_epochs, c.dataset, t.seed, t.valid_acc, "
                            "t.ori_test_acc, t.parameters, "
                            "(SELECT COUNT(*) FROM nb201_trained_epoch e WHERE e.trial_id = t.id) "
                            "FROM nb201_trained_trialstats t JOIN nb201_trained_trialconfig c ON c.id = t.config_id "
                            "JOIN nasbench_source s ON s.id = t.source_id WHERE s.kind = 'trained'").fetchall()
    finally:
        conn.close()


def test_nb201_results_are_ingested_with_nni_split_mapping(smoke_results, tmp_path):
    from nasbench_db.convert.nb201 import TSS
    from nasbench_db.convert.results import convert_results
    from nasbench_db.query import query_nb201_trial_stats

    _, (_, _, nb201_files) = smoke_results
    db_dir = tmp_path / "db"
    for _ in range(2):
        result = CliRunner().invoke(cli, ["convert", "results", str(nb201_files[0]), "--db-dir", str(db_dir)])
        assert result.exit_code == 0, result.output
    data = schema.load(nb201_files[0])
    rows = _nb201_trained(db_dir)
    assert len(rows) == 1
    trial_id, config_id, index, epochs, dataset, seed, valid, ori_test, params, epoch_rows = rows[0]
    assert (index, epochs, dataset, seed, epoch_rows) == (1835, 2, "fashion-mnist", 1, 2)
    assert config_id > TSS.config_id(15624, 200, "imagenet16-120")  # outside the benchmark's config range
    final = data["evaluations"][-1]["sets"]
    assert (valid, ori_test) == (final["x-valid"]["acc"], final["ori-test"]["acc"])
    assert params == data["parameters"] / 1e6
    # a result on a benchmark dataset and budget lands in the benchmark's own config and is queryable
    relabelled = dict(data, dataset="cifar10-valid", epochs=12)
    schema.seal(relabelled)
    path = tmp_path / "relabelled.json"
    path.write_text(json.dumps(relabelled))
    convert_results(path, db_dir)
    found = list(query_nb201_trial_stats(1835, 12, "cifar10-valid", source="trained", db_dir=db_dir))
    assert len(found) == 1 and found[0]["config"]["id"] == TSS.config_id(1835, 12, "cifar10-valid")
    assert found[0]["valid_acc"] == final["x-valid"]["acc"] and found[0]["test_acc"] == final["ori-test"]["acc"]
    assert list(query_nb201_trial_stats(1835, 12, "cifar10-valid", db_dir=db_dir)) == []


def test_reconverting_nats_keeps_trained_nb201_rows(smoke_results, tmp_path):
    from nasbench_db.convert.nb201 import convert_nats_tss
    from nasbench_db.convert.results import convert_results

    _, (_, _, nb201_files) = smoke_results
    db_dir = tmp_path / "db"
    archive = next((DATA / "nats").glob("NATS-tss-*-simple"))
    convert_nats_tss(archive, db_dir, progress=False, jobs=1)
    convert_results(nb201_files[0], db_dir)
    before = _nb201_trained(db_dir)
    convert_nats_tss(archive, db_dir, progress=False, jobs=1)
    after = _nb201_trained(db_dir)
    assert len(after) == 1 and after[0][2:] == before[0][2:]



def test_device_choice_errors_name_the_fix(monkeypatch):
    from nasbench_db.errors import NasbenchDbError

    assert runner.resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(InvalidArgument, match="unknown device 'tpu': expected auto, cpu or cuda"):
        runner.resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(NasbenchDbError, match="no CUDA device .*use --device cpu"):
            runner.resolve_device("cuda")
        result = CliRunner().invoke(cli, ["train", "nb101", "--arch", json.dumps(TINY_NB101), "--device", "cuda",
                                          "--out", "unused", "--dataset", "fashion-mnist"])
        assert result.exit_code == 1 and result.output.startswith("Error: --device cuda: no CUDA device")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert runner.resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(InvalidArgument, match="no such GPU: got index 5, this machine has 2 \\(cuda:0..cuda:1\\)"):
        runner.resolve_device("cuda:5")
    with pytest.raises(InvalidArgument, match="unknown device 'cuda:x'"):
        runner.resolve_device("cuda:x")



@needs_fmnist
@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="torch.compile on CPU needs a C compiler")
def test_compiled_training_computes_what_eager_does(tmp_path):
    """``--compile`` (torch.compile) end to end: the same first-step loss as eager, recorded in the result."""
    losses = {}
    for flag in ([], ["--compile"]):
        out = tmp_path / ("compiled" if flag else "eager")
        result = CliRunner().invoke(cli, ["train", "nb101", "--arch", json.dumps(TINY_NB101), "--seed", "5", "--out",
                                          str(out), "--dataset", "fashion-mnist", "--epochs", "1", "--limit-batches",
                                          "1", "--batch-size", "8", "--device", "cpu", *flag])
        assert result.exit_code == 0, result.output
        (path,) = out.glob("*.json")
        data = schema.load(path)
        assert data["runtime"]["compile"] is bool(flag)
        losses[bool(flag)] = data["epoch_stats"][0]["train_loss"]  # the initial network's loss on the first batch
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)


# ----------------------------------------------------------------------------------------------------------------------
# sweeps

def test_shards_and_slurm_variables(tmp_path):
    assert runner.parse_shard(None, {}) == (0, 1)
    assert runner.parse_shard("2/5", {}) == (2, 5)
    assert runner.parse_shard(None, {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "10"}) == (4, 10)
    assert runner.parse_shard(None, {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "10",
                                     "SLURM_ARRAY_TASK_MIN": "1"}) == (4, 10)
    for bad in ("5/5", "x/2", "1"):
        with pytest.raises(InvalidArgument):
            runner.parse_shard(bad, {})
    items = list(range(10))
    shards = [runner.shard_items(items, k, 3) for k in range(3)]
    assert sorted(sum(shards, [])) == items and shards[1] == [1, 4, 7]
    arch_file = tmp_path / "archs.txt"
    arch_file.write_text("# NB-201 cells\n1835\n\n|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    assert runner.read_arch_file(arch_file) == ["1835", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]


@needs_fmnist
def test_sweep_skips_finished_results(tmp_path):
    arch_file = tmp_path / "archs.txt"
    arch_file.write_text("1835\n1651\n")
    out = tmp_path / "out"
    args = ["train", "nb201", "--arch-file", str(arch_file), "--shard", "1/2", "--out", str(out), "--epochs", "1",
            "--dataset", "fashion-mnist", "--limit-batches", "1", "--batch-size", "4", "--device", "cpu"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert [p.name.split("-e1-")[0] for p in out.glob("*.json")] == ["nb201-01651-fashion-mnist"]
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "trained 0, skipped 1" in again.output


@needs_fmnist
def test_nats_sss_trial_is_trained_and_ingested(tmp_path):
    import sqlite3

    from nasbench_db.convert.results import convert_results

    result = runner.run_trial("nats_sss", "8:8:8:8:8", "fashion-mnist", epochs=1, seed=0, out_dir=tmp_path / "out",
                              device="cpu", limit_batches=1, protocol_overrides={"batch_size": 4})
    assert result["arch_index"] == 0 and result["parameters"] == count_parameters(SizeNetwork("8:8:8:8:8"))
    report = convert_results(tmp_path / "out", tmp_path / "db")
    assert report.ingested == 1
    conn = sqlite3.connect(str(tmp_path / "db" / "nats_sss.db"))
    try:
        rows = conn.execute("SELECT c.arch, c.num_epochs, t.seed, t.result_key FROM nats_sss_trained_trialstats t "
                            "JOIN nats_sss_trained_trialconfig c ON c.id = t.config_id").fetchall()
        assert conn.execute("SELECT COUNT(*) FROM nats_sss_trialstats").fetchone()[0] == 0
    finally:
        conn.close()
    assert rows == [("8:8:8:8:8", 1, 0, result["result_key"])]


# ----------------------------------------------------------------------------------------------------------------------
# the throughput benchmark script runs (its figures are for the README, not asserted)

def test_train_throughput_bench_reports_every_variant():
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "bench" / "train_throughput.py"
    out = subprocess.run([sys.executable, str(script), "--device", "cpu", "--steps", "1", "--warmup", "0",
                          "--batch-size", "4", "--dataset-batches", "2", "--models", "nb201", "--nb201-arch", "1651"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    (row,) = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["model"] == "NB-201 cell 1651" and row["plain_eager_images_per_s"] > 0
    for variant in ("nasbench_db", "nasbench_db --amp bf16"):
        assert row[variant]["images_per_s"] > 0 and row[variant]["speedup"] > 0
