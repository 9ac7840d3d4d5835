"""``TopologyStructure`` and ``topology_str2structure`` of NATS-Bench (``nats_bench.genotype_utils``).

A structure is a cell genotype: nodes 1..N, each a tuple of ``(op, source node)`` inputs. The string form, the
isomorphism key (``to_unique_str``) and the path test (``check_valid``) come from :mod:`nasbench_db.spaces.nb201`,
the one home of that knowledge; this module keeps the original's class, method names and exception types
(``AssertionError`` for a malformed genotype, as the original's asserts).
"""

from __future__ import annotations

from copy import deepcopy
from itertools import product

from ...errors import OutOfSearchSpace
from ...spaces import nb201 as _space

__all__ = ["TopologyStructure", "topology_str2structure"]


def topology_str2structure(xstr):
    """The :class:`TopologyStructure` of an arch string such as ``'|nor_conv_3x3~0|+|none~0|...|'``."""
    return TopologyStructure.str2structure(xstr)


def _parse(xstr):
    if not isinstance(xstr, str):
        raise AssertionError(f"must take string (not {type(xstr)}) as input")
    try:
        return _space.parse_genotype(xstr)
    except OutOfSearchSpace as exc:
        if "expected 'op~source'" in str(exc):
            raise AssertionError(str(exc)) from None
        raise


class TopologyStructure:
    """A cell topology (the original's class): ``nodes[i]`` is node i+1's tuple of ``(op, source)`` inputs."""

    def __init__(self, genotype):
        if not isinstance(genotype, (list, tuple)):
            raise AssertionError(f"invalid class of genotype : {type(genotype)}")
        self.node_num = len(genotype) + 1
        self.nodes = []
        self.node_N = []
        for idx, node_info in enumerate(genotype):
            if not isinstance(node_info, (list, tuple)):
                raise AssertionError(f"invalid class of node_info : {type(node_info)}")
            if len(node_info) < 1:
                raise AssertionError(f"invalid length : {len(node_info)}")
            for node_in in node_info:
                if not isinstance(node_in, (list, tuple)):
                    raise AssertionError(f"invalid class of in-node : {type(node_in)}")
                if not (len(node_in) == 2 and node_in[1] <= idx):
                    raise AssertionError(f"invalid in-node : {node_in} (node {idx + 1} takes nodes 0..{idx})")
            self.node_N.append(len(node_info))
            self.nodes.append(tuple(deepcopy(node_info)))

    def tolist(self, remove_str):
        """``(genotype list, True)`` with each node's inputs sorted by (source, op) and ``remove_str`` ops dropped;
        ``(None, False)`` when a node is left without inputs."""
        genotypes = []
        for node_info in self.nodes:
            node_info = sorted(node_info, key=lambda x: (x[1], x[0]))
            node_info = tuple(x for x in node_info if x[0] != remove_str)
            if len(node_info) == 0:
                return None, False
            genotypes.append(node_info)
        return genotypes, True

    def node(self, index):
        if not 0 < index <= len(self):
            raise AssertionError(f"invalid index={index} < {len(self)}")
        return self.nodes[index]

    def tostr(self):
        """The arch string ``|op~0|+|op~0|op~1|+...``."""
        return _space.genotype_str(self.nodes)

    def check_valid(self):
        """True when some path from the input to the last node avoids ``none``."""
        return _space.nodes_have_path(self.nodes)

    def to_unique_str(self, consider_zero=False):
        """The isomorphism key (``consider_zero=True``: 6,466 classes over the 15,625 NATS topologies)."""
        return _space.nodes_unique_str(self.nodes, consider_zero)

    def check_valid_op(self, op_names):
        """True when every op is one of ``op_names``."""
        return all(edge[0] in op_names for node_info in self.nodes for edge in node_info)

    def __repr__(self):
        return f"{type(self).__name__}({self.node_num} nodes with {self.tostr()})"

    def __len__(self):
        return len(self.nodes) + 1

    def __getitem__(self, index):
        return self.nodes[index]

    @staticmethod
    def str2structure(xstr):
        if isinstance(xstr, TopologyStructure):
            return xstr
        return TopologyStructure(list(_parse(xstr)))

    @staticmethod
    def str2fullstructure(xstr, default_name="none"):
        """Like :meth:`str2structure`, adding a ``default_name`` edge from every earlier node a node lacks, inputs
        sorted by (source, op)."""
        genotypes = []
        for i, node in enumerate(_parse(xstr)):
            inputs = list(node)
            present = {source for _, source in inputs}
            inputs += [(default_name, j) for j in range(i) if j not in present]
            genotypes.append(tuple(sorted(inputs, key=lambda x: (x[1], x[0]))))
        return TopologyStructure(genotypes)

    @staticmethod
    def gen_all(search_space, num, return_ori):
        """Every cell of ``num`` nodes whose edges carry ops of ``search_space`` (genotype lists with
        ``return_ori``, else structures). The installed original names a helper it does not define here; this is
        AutoDL-Projects' meaning: each node j takes one edge from every earlier node."""
        if not isinstance(search_space, (list, tuple)):
            raise AssertionError(f"invalid class of search-space : {type(search_space)}")
        if num < 2:
            raise AssertionError(f"There should be at least two nodes in a neural cell instead of {num}")
        all_archs = [[]]
        for inode in range(1, num):
            nodes = [tuple((op, source) for source, op in enumerate(ops))
                     for ops in product(search_space, repeat=inode)]
            all_archs = [arch + [node] for arch in all_archs for node in nodes]
        if return_ori:
            return all_archs
        return [TopologyStructure(x) for x in all_archs]
