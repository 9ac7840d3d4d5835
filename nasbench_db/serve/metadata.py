"""Datasette metadata generated from the peewee models: table and column descriptions, labels, facets.

The models' docstrings are the one source of truth for what a column means and its unit. Each documents its fields
in an RST-style table (``field`` / ``meaning (unit)`` between ``====`` rules); models that reuse another model's
fields say so (``fields as :class:`Nb201TrialStats```) and take that model's descriptions; NNI's NB-101 views describe
their columns in prose (``train_acc/valid_acc/test_acc`` (percent)), which is read too. A table's description is the
first paragraph of its model's docstring.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from functools import lru_cache

import peewee

from .. import models as _models

#: Columns offered as facets wherever a table has them (dataset, epoch budget, source first: the issue's three).
FACET_COLUMNS = ("dataset", "num_epochs", "source_id", "kind", "device_kind", "proxy", "seed", "num_vertices",
                 "proposer", "generator", "model_family", "status", "metric", "device")
#: Facets left out of tables this large (rows): a facet there would run into Datasette's facet time limit on every
#: page view of the full benchmark.
FACET_ROW_LIMIT_TABLES = ("nb201_epoch", "nats_sss_epoch", "nb201_trained_epoch", "nats_sss_trained_epoch",
                          "nlp_epoch", "ndsintermediatestats", "nb101_trial", "nb201intermediatestats",
                          "nats_sss_intermediatestats", "nb101intermediatestats", "nlpintermediatestats")
#: SQLite's own bookkeeping: hidden from the table lists.
HIDDEN_TABLES = ("sqlite_stat1", "sqlite_stat4", "sqlite_sequence")

_RULE = re.compile(r"^\s*(=+)(\s+=+)+\s*$")
_ROLE = re.compile(r":(?:class|func|data|mod|attr|meth):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_AS_CLASS = re.compile(r"as :class:`~?(\w+)`|those\s+of :class:`~?(\w+)`")
_NAMES = r"``\w+``(?:(?:,\s*|\s+and\s+)``\w+``)*"
_NAMES_AS = re.compile(rf"({_NAMES})\s+as\s+:class:`~?(\w+)`")
_NAMES_COLON = re.compile(rf"({_NAMES}):\s+")
_NAME_PAREN = re.compile(r"``([\w/]+)``\s*\(")


def plain(text: str) -> str:
    """Docstring text without RST markup: ``x`` -> x, :class:`Model` -> Model, joined lines."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = _LITERAL.sub(r"\1", text)
    return " ".join(text.split())


def _docstring(model) -> str:
    return inspect.cleandoc(model.__doc__ or "") if "__doc__" in vars(model) else ""


def _first_paragraph(doc: str) -> str:
    return plain(doc.split("\n\n", 1)[0]) if doc else ""


def _field_order(model) -> list[str]:
    return [f.name for f in model._meta.sorted_fields] + [f.column_name for f in model._meta.sorted_fields]


def _expand(names_cell: str, model) -> list[str]:
    """Field names of a table row's first cell: ``a, b,``, ``a ..`` + ``b`` (a range in field order)."""
    tokens = [t for t in re.split(r"[\s,]+", names_cell) if t]
    order = [f.name for f in model._meta.sorted_fields]
    names: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == ".." and names and i + 1 < len(tokens) and names[-1] in order and tokens[i + 1] in order:
            start, end = order.index(names[-1]), order.index(tokens[i + 1])
            names.extend(order[start + 1:end + 1])
            i += 2
            continue
        if token.endswith("..") and token[:-2]:
            tokens[i:i + 1] = [token[:-2], ".."]
            continue
        if token != "..":
            names.append(token)
        i += 1
    return names


def _table_rows(doc: str):
    """``(names cell, meaning)`` of each row of every field table in ``doc``."""
    lines = doc.splitlines()
    rules = [i for i, line in enumerate(lines) if _RULE.match(line)]
    # A table is three rules: top, below the header, bottom.
    for top, below, bottom in zip(rules[0::3], rules[1::3], rules[2::3]):
        width = len(_RULE.match(lines[top]).group(1)) + (len(lines[top]) - len(lines[top].lstrip()))
        row_names, row_text = None, []
        for line in lines[below + 1:bottom]:
            names, text = line[:width].strip(), line[width:].strip()
            if not names and not text:
                continue
            pending = " ".join(row_text)
            continues = row_names is not None and (
                not names  # the meaning goes on
                or not text  # more field names of the same row
                or row_names.rstrip().endswith((",", ".."))
                or pending.count("(") > pending.count(")"))  # a parenthesis left open: the sentence goes on
            if continues:
                if names:
                    row_names += " " + names
                if text:
                    row_text.append(text)
                continue
            if row_names is not None:
                yield row_names, " ".join(row_text)
            row_names, row_text = names, [text] if text else []
        if row_names is not None:
            yield row_names, " ".join(row_text)


def _until_clause_end(text: str, start: int, closing: str = "") -> str:
    """Text from ``start`` to the end of its clause: ``;`` or a sentence's end at parenthesis depth 0 (or the
    ``closing`` parenthesis of an enclosing group)."""
    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0 and closing:
                return text[start:i]
            depth -= 1
        elif depth == 0 and not closing and (char == ";" or (char == "." and text[i + 1:i + 2] in (" ", "\n", ""))):
            return text[start:i]
    return text[start:]


def _names(group: str) -> list[str]:
    return re.findall(r"``(\w+)``", group)


def _prose(doc: str) -> dict:
    """Descriptions written in prose: ``a``, ``b``: text; ``name`` (unit); ``a/b/c`` (unit)."""
    out: dict = {}
    for match in _NAMES_COLON.finditer(doc):
        text = plain(_until_clause_end(doc, match.end()))
        for name in _names(match.group(1)):
            out.setdefault(name, text)
    for match in _NAME_PAREN.finditer(doc):
        text = plain(_until_clause_end(doc, match.end(), closing=")"))
        for name in match.group(1).split("/"):
            out.setdefault(name, text)
    return {name: text for name, text in out.items() if text}


@lru_cache(maxsize=None)
def column_descriptions(model) -> dict:
    """``{column name: description}`` of ``model``'s columns, from its docstring and the models it refers to."""
    doc = _docstring(model)
    by_name = {f.name: f.column_name for f in model._meta.sorted_fields}
    found: dict = {}
    previous = None
    for names_cell, text in _table_rows(doc):
        names = _expand(names_cell, model)
        if text.lower().startswith("same ") and previous is not None:
            # "same on the validation set": the row above says what and in which unit
            text = f"{text} (as {previous[0]}: {previous[1]})"
        for name in names:
            if text:
                found.setdefault(name, plain(text))
        if names and text and not text.lower().startswith("same "):
            previous = (names[0], plain(text))
    if not found:
        found = _prose(doc)
    flat = " ".join(doc.split())
    for match in _NAMES_AS.finditer(flat):  # ``a``, ``b`` as :class:`Other`
        other = getattr(_models, match.group(2), None)
        if other is not None and other is not model:
            inherited = column_descriptions(other)
            for name in _names(match.group(1)):
                column = by_name.get(name, name)
                if column in inherited:
                    found.setdefault(name, inherited[column])
    out = {by_name.get(name, name): text for name, text in found.items()}
    for match in _AS_CLASS.finditer(flat):  # fields as :class:`Other`
        other = getattr(_models, next(g for g in match.groups() if g), None)
        if other is not None and other is not model:
            for column, text in column_descriptions(other).items():
                out.setdefault(column, text)
    for base in model.__mro__[1:]:  # a subclass keeps its base's meanings
        if isinstance(base, type) and issubclass(base, peewee.Model) and base is not peewee.Model:
            for column, text in column_descriptions(base).items():
                out.setdefault(column, text)
    return out  # may also describe view columns the model does not map (``repeat`` of NNI's NB-101 stats view)


def _fallbacks(model, known: dict) -> dict:
    """Descriptions of columns the model's docstring leaves out: the key, foreign keys, and a column of the same name
    documented by another model of the same database (``hash``, ``num_epochs`` of NNI's NB-101 config view)."""
    out: dict = {}
    for field in model._meta.sorted_fields:
        column = field.column_name
        if isinstance(field, peewee.ForeignKeyField):
            out[column] = f"key of {field.rel_model._meta.table_name}"
            continue
        if field.primary_key or column == "id":
            out[column] = "integer key"
            continue
        for other in known.values():
            if other is not model:
                text = column_descriptions(other).get(column)
                if text:
                    out[column] = text
                    break
    return out


def table_description(model) -> str:
    return _first_paragraph(_docstring(model))


def models_of(benchmark: str) -> dict:
    """``{table or view name: model}`` of the models bound to ``benchmark``'s database (first definition wins:
    ``Source`` before the per-benchmark copies of the provenance table)."""
    proxy = _models.DATABASES[benchmark]
    out: dict = {}
    for value in vars(_models).values():
        if not (isinstance(value, type) and issubclass(value, peewee.Model)) or value.__name__.startswith("_"):
            continue
        meta = value._meta
        if meta.database is not proxy and not (value is _models.Source or issubclass(value, _models.Source)):
            continue
        out.setdefault(meta.table_name, value)
    return out


def _view_documented_by(name: str, known: dict):
    """``(model, paragraph)`` of the model whose docstring documents view ``name`` (a view without a model of its
    own, e.g. ``hw_nb201_device`` in :class:`HwNb201Metric`), or None."""
    for model in known.values():
        for paragraph in _docstring(model).split("\n\n"):
            if f"view ``{name}``" in paragraph:
                return model, paragraph
    return None


def table_metadata(benchmark: str, tables: dict) -> dict:
    """Datasette ``tables`` metadata for the tables and views present (``{name: set of columns}``)."""
    known = models_of(benchmark)
    out: dict = {}
    for name, columns in sorted(tables.items()):
        if name in HIDDEN_TABLES:
            out[name] = {"hidden": True}
            continue
        model = known.get(name)
        entry: dict = {}
        if model is not None:
            description = table_description(model)
            if description:
                entry["description"] = description
            descriptions = {**_fallbacks(model, known), **column_descriptions(model)}
            described = {c: t for c, t in descriptions.items() if c in columns}
            if described:
                entry["columns"] = described
        elif _view_documented_by(name, known) is not None:
            owner, paragraph = _view_documented_by(name, known)
            entry["description"] = plain(paragraph)
            descriptions = {**_fallbacks(owner, known), **column_descriptions(owner), **_prose(paragraph)}
            entry["columns"] = {c: t for c, t in descriptions.items() if c in columns}
        if name not in FACET_ROW_LIMIT_TABLES:
            facets = [column for column in FACET_COLUMNS if column in columns]
            if facets:
                entry["facets"] = facets
        if name == "nasbench_source":
            entry["label_column"] = "file_name"
        if entry:
            out[name] = entry
    return out


def wrap(text: str, width: int = 100) -> str:
    return textwrap.fill(text, width)
