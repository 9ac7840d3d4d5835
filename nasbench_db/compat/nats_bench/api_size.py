"""``NATSsize``: NATS-Bench's size search space (32,768 channel configurations) over the nasbench_db database
(``nats_bench.api_size``)."""

from __future__ import annotations

from typing import Text

from ._store import SIZE
from .api_topology import summary_lines
from .api_utils import NASBenchMetaAPI, _time_comment, time_string

ALL_BASE_NAMES = ["NATS-sss-v1_0-50262"]
__all__ = ["NATSsize", "print_information", "ALL_BASE_NAMES"]


def size_sets(dataset) -> list:
    """The evaluation sets the size-space summary shows (cifar10-valid: its test set is ori-test)."""
    if dataset == "cifar10":
        return [("test ", "ori-test")]
    return [("valid", "x-valid"), ("test", "ori-test" if dataset == "cifar10-valid" else "x-test")]


def print_information(information, extra_info=None, show=False):
    """The text summary lines of a size-space ArchResults (printed too with ``show``)."""
    return summary_lines(information, extra_info, show, size_sets)


class NATSsize(NASBenchMetaAPI):
    """NATS-Bench's size-space API (the original's ``NATSsize``), answered from nasbench_db's database.

    ``file_path_or_dict``: ``NATS-sss-v1_0-50262-simple`` or ``NATS-sss-v1_0-50262.pickle.pbz2`` (converted once into
    ``NASBENCHMARK_DIR``), or None for the installed ``nats_sss.db``. hp: '01', '12' or '90'.
    """

    _space = SIZE
    _all_base_names = ALL_BASE_NAMES
    _guard_none_times = False  # the original divides without checking for None here

    def __init__(self, file_path_or_dict=None, fast_mode: bool = False, verbose: bool = True, *,
                 source="original", db_dir=None):
        self._search_space_name = "size"
        self._full_train_epochs = 90
        self._open(file_path_or_dict, fast_mode, verbose, source, db_dir)

    @property
    def is_size(self):
        return True

    @property
    def is_topology(self):
        return False

    @property
    def full_epochs_in_paper(self):
        return 90

    def query_info_str_by_arch(self, arch, hp: Text = "12"):
        """The text summary of ``arch`` (index or 'C1:C2:C3:C4:C5') trained with ``hp`` ('01', '12' or '90')."""
        if self.verbose:
            print(f"{time_string()} Call query_info_str_by_arch with arch={arch} and hp={hp}")
        return self._query_info_str_by_arch(arch, hp, print_information)

    def _comment_text(self, dataset, hp):
        return _time_comment(dataset, hp)

    def show(self, index: int = -1) -> None:
        """Print the text summary of the ``index``-th architecture (all evaluated ones for a negative index)."""
        self._show(index, print_information)
