"""The NAS-Bench-NLP search space: recurrent-cell recipes, NNI's flattened arch dict, the canonical key.

This is the one home of NAS-Bench-NLP space knowledge; convert, query and the models import it.

A cell is a *recipe* (the benchmark's own spelling, ``recepie`` in its logs): a JSON object mapping each node name to
``{"op": OP, "input": [names...]}``. Names an input may use: ``x`` (the token embedding), ``h_prev_<i>`` (the cell's
previous hidden states) and the other nodes. ``h_new_0`` ... ``h_new_<k-1>`` are the new hidden states (``h_new_0`` is
the output); other node names are arbitrary (``node_3``, ``f_act``...). Ops (``custom_rnn.py`` of
fmsnew/nas-bench-nlp-release):

================================ ========= ===========================================================
op                               inputs    computes
================================ ========= ===========================================================
``linear``                       1 or more a learned affine map of the concatenated inputs
``activation_tanh|sigm|leaky_relu`` 1      the activation
``elementwise_sum|prod``         2 or more the element-wise sum / product
``blend``                        3         ``a * b + (1 - a) * c``
================================ ========= ===========================================================

NNI stores a recipe flattened (``nni/nas/benchmark/nlp/db_gen.py``): ``{'<node>_op': op, '<node>_input_<i>': name}``
for every node and input position, compared as sorted-key JSON. :func:`flatten` / :func:`unflatten` convert between
the two forms; :func:`canonical_json` is the flat dict as sorted-key JSON without whitespace: the same recipe written
twice (any node or key order, in either form) gives the same text, which is the config key of our tables and the
text NNI's ``JSONField`` stores. Input order is kept: it matters to ``blend`` (and to which weights a ``linear``
applies to which input).

Losses in the logs are mean cross-entropies in nats per token (natural logarithm); perplexity is ``exp(loss)``
(:func:`perplexity`).
"""

from __future__ import annotations

import heapq
import json
import math
import re

from ..errors import OutOfSearchSpace

#: The benchmark's ops and how many inputs each takes: (minimum, maximum or None for no maximum).
OPS = {
    "linear": (1, None),
    "activation_tanh": (1, 1),
    "activation_sigm": (1, 1),
    "activation_leaky_relu": (1, 1),
    "elementwise_sum": (2, None),
    "elementwise_prod": (2, None),
    "blend": (3, 3),
}
#: Datasets of the released logs (the log's ``data`` path, e.g. ``data/ptb``, minus its directory).
DATASETS = ("ptb", "wikitext-2")
#: Epochs every released run was scheduled for.
EPOCHS = 50
#: The status a log records for a run that finished its epochs; others: 'loss is nan!', 'KeyboardInterrupt',
#: 'Exception: ...'.
STATUS_OK = "OK"
#: Largest recipe accepted (nodes; the released ones have at most 24) and longest name.
MAX_NODES = 256
MAX_NAME = 128

INPUT_X = "x"
_HIDDEN_NEW = re.compile(r"h_new_([0-9]+)\Z")


def _is_index(text: str) -> bool:
    return text.isdigit() and text.isascii()


def is_cell_input(name: str) -> bool:
    """True for the names a cell receives: ``x`` and ``h_prev_<i>``."""
    return name == INPUT_X or (name.startswith("h_prev_") and _is_index(name[7:]))


def _check_name(name, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise OutOfSearchSpace(f"{what} must be a non-empty string: got {name!r}")
    if len(name) > MAX_NAME:
        raise OutOfSearchSpace(f"{what} is longer than {MAX_NAME} characters: {name[:40]!r}...")
    return name


def check_recipe(recipe, ordered: bool = False) -> dict:
    """Validate a recipe (nested form) and return it as ``{node: {'op': op, 'input': [names]}}`` (a new dict; with
    ``ordered``, nodes in dependency order, ties by name).

    Raises :class:`OutOfSearchSpace` (a ValueError) naming the node and the problem: an unknown op, a wrong number of
    inputs, an input that names no node, a node named like a cell input, no ``h_new_0``, or a cycle.
    """
    if not isinstance(recipe, dict) or not recipe:
        raise OutOfSearchSpace(f"a recipe is a non-empty object {{node: {{'op': ..., 'input': [...]}}}}: got "
                               f"{type(recipe).__name__}")
    if len(recipe) > MAX_NODES:
        raise OutOfSearchSpace(f"too many nodes: got {len(recipe)}, max {MAX_NODES}")
    clean = {}
    for node, spec in recipe.items():
        _check_name(node, "a node name")
        if is_cell_input(node):
            raise OutOfSearchSpace(f"node {node!r} is named like a cell input (x, h_prev_<i>)")
        if not isinstance(spec, dict) or len(spec) != 2 or "op" not in spec or "input" not in spec:
            keys = sorted(map(str, spec)) if isinstance(spec, dict) else type(spec).__name__
            raise OutOfSearchSpace(f"node {node!r} must be {{'op': ..., 'input': [...]}}: got {keys}")
        op, inputs = spec["op"], spec["input"]
        if not isinstance(op, str) or op not in OPS:
            raise OutOfSearchSpace(f"node {node!r}: unknown op {op!r:.80} (ops: {', '.join(OPS)})")
        if not isinstance(inputs, list) or not all(isinstance(i, str) and i for i in inputs):
            raise OutOfSearchSpace(f"node {node!r}: 'input' must be a list of node names: got {inputs!r}")
        low, high = OPS[op]
        if len(inputs) < low or (high is not None and len(inputs) > high):
            wanted = str(low) if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            raise OutOfSearchSpace(f"node {node!r}: {op} takes {wanted} inputs, got {len(inputs)}")
        clean[node] = {"op": op, "input": list(inputs)}
    for node, spec in clean.items():
        for name in spec["input"]:
            if name not in clean and not is_cell_input(name):
                raise OutOfSearchSpace(f"node {node!r}: input {name!r} is neither a node, x nor h_prev_<i>")
    if "h_new_0" not in clean:
        raise OutOfSearchSpace("the recipe has no 'h_new_0' node (the cell's output)")
    order = _topological_order(clean)
    return {node: clean[node] for node in order} if ordered else clean


def _topological_order(recipe: dict) -> list:
    """Nodes in dependency order, ties by name; raises OutOfSearchSpace on a cycle."""
    pending = {node: {i for i in spec["input"] if i in recipe} for node, spec in recipe.items()}
    users: dict = {}
    for node, needs in pending.items():
        for need in needs:
            users.setdefault(need, []).append(node)
    ready = [node for node, needs in pending.items() if not needs]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for user in users.get(node, ()):
            needs = pending[user]
            needs.discard(node)
            if not needs:
                heapq.heappush(ready, user)
    if len(order) != len(recipe):
        stuck = sorted(node for node, needs in pending.items() if needs)
        raise OutOfSearchSpace(f"the recipe has a cycle through {', '.join(map(repr, stuck[:5]))}")
    return order


def flatten(recipe) -> dict:
    """Recipe (nested dict, validated) -> NNI's flat dict ``{'<node>_op': op, '<node>_input_<i>': name}``."""
    return _flat(check_recipe(recipe))


def _flat(recipe: dict) -> dict:
    flat = {}
    for node, spec in recipe.items():
        flat[f"{node}_op"] = spec["op"]
        for position, name in enumerate(spec["input"]):
            flat[f"{node}_input_{position}"] = name
    return flat


def unflatten(flat) -> dict:
    """NNI's flat dict -> the recipe (nested dict, nodes in dependency order); validated.

    Every node needs ``<node>_op`` and inputs ``<node>_input_0`` .. ``_input_<k-1>`` without gaps. A key is read from
    its end (``..._op``, ``..._input_<i>``), so node names may themselves contain ``_op`` or ``_input_``.
    """
    if not isinstance(flat, dict) or not flat:
        raise OutOfSearchSpace(f"an NLP arch is a non-empty dict {{'<node>_op': op, '<node>_input_<i>': name}}: "
                               f"got {type(flat).__name__}")
    ops: dict = {}
    inputs: dict = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise OutOfSearchSpace(f"arch keys must be strings: got {key!r}")
        node, marker, position = key.rpartition("_input_")
        if marker and node and _is_index(position):
            if len(position) > 1 and position.startswith("0"):
                raise OutOfSearchSpace(f"arch key {key!r}: input positions are written without leading zeros")
            inputs.setdefault(node, {})[int(position)] = value
        elif key.endswith("_op") and len(key) > 3:
            ops[key[:-3]] = value
        else:
            raise OutOfSearchSpace(f"unexpected arch key {key!r}: keys are '<node>_op' and '<node>_input_<i>'")
    recipe = {}
    for node in ops:
        given = inputs.pop(node, {})
        if sorted(given) != list(range(len(given))):
            raise OutOfSearchSpace(f"node {node!r}: input positions must be 0..{len(given) - 1} without gaps: "
                                   f"got {sorted(given)}")
        recipe[node] = {"op": ops[node], "input": [given[i] for i in range(len(given))]}
    if inputs:
        node = sorted(inputs)[0]
        raise OutOfSearchSpace(f"node {node!r} has inputs but no '{node}_op'")
    return check_recipe(recipe, ordered=True)


def parse_arch(arch) -> dict:
    """Any accepted form of a cell -> NNI's flat dict (validated).

    Accepted: NNI's flat dict, the recipe as a dict (``{node: {'op', 'input'}}``) or as JSON text (the logs'
    ``recepie`` string). Raises :class:`OutOfSearchSpace` (a ValueError) naming the problem.
    """
    if isinstance(arch, (str, bytes)):
        try:
            arch = json.loads(arch)
        except ValueError as exc:
            raise OutOfSearchSpace(f"an NLP arch given as text must be the recipe's JSON: {exc}") from None
    if isinstance(arch, dict) and arch and all(isinstance(v, dict) for v in arch.values()):
        return flatten(arch)
    unflatten(arch)  # validates every key and value: a valid flat dict is its own flattening
    return dict(arch)


def canonical_json(arch) -> str:
    """The config key: NNI's flat dict as sorted-key JSON without whitespace (what NNI's ``JSONField`` stores)."""
    return json.dumps(parse_arch(arch), sort_keys=True, separators=(",", ":"))


def flat_json(flat: dict) -> str:
    """Sorted-key JSON without whitespace of an already validated flat dict (no re-validation)."""
    return json.dumps(flat, sort_keys=True, separators=(",", ":"))


def recipe_json(arch) -> str:
    """The recipe as the logs spell it (``json.dumps`` of the nested dict, nodes in dependency order)."""
    return json.dumps(unflatten(parse_arch(arch)))


def hidden_size(arch) -> int:
    """How many hidden states the cell carries (``h_new_0`` .. ``h_new_<k-1>``), as ``custom_rnn.py`` counts them."""
    recipe = unflatten(parse_arch(arch))
    count = 0
    for node in recipe:
        match = _HIDDEN_NEW.match(node)
        if match:
            count = max(count, int(match.group(1)) + 1)
    return count


def dataset_of(data_path) -> str:
    """The dataset of a log's ``data`` argument (``data/ptb`` -> ``ptb``; NNI takes ``data[5:]``), lower-case."""
    if not isinstance(data_path, str) or not data_path.strip("/"):
        raise OutOfSearchSpace(f"the log's 'data' must be the dataset path, e.g. 'data/ptb': got {data_path!r}")
    return data_path.rstrip("/").rsplit("/", 1)[-1].lower()


def perplexity(loss):
    """``exp(loss)`` of a loss in nats per token (None stays None; an overflow is ``inf``)."""
    if loss is None:
        return None
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf
