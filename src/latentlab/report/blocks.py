"""The blocks a section is made of, and the figures they point to.

A section returns a list of blocks, plain dicts that the templates render: a
paragraph (:func:`para`), a bulleted list (:func:`bullets`), a figure (:func:`figure`, which holds a
:class:`FigureRef`), a table (:func:`table_block`, its columns described by
:class:`Column`, or :func:`table` from cells made by :func:`cell`), a key-value list
or a code listing. These shared types live
here, apart from :mod:`latentlab.report.build`, which draws the figures and
renders the pages: the section modules import this module and never the builder,
so the report's imports run one way, from the builder down to the sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from latentlab.report.words import DASH, best_keys, fmt


@dataclass(frozen=True)
class FigureRef:
    """A rendered figure: relative file path for Markdown, data URI for HTML."""

    name: str
    file: str
    data_uri: str
    caption: str


def para(text: str) -> dict:
    """A paragraph block; ```key``` spans become <code> in HTML."""
    return {"kind": "p", "text": text}


def bullets(items: Sequence[str]) -> dict:
    """A bulleted list block, one paragraph-like text per item (```key``` as in :func:`para`)."""
    return {"kind": "list", "items": list(items)}


def figure(ref: FigureRef) -> dict:
    return {"kind": "figure", "ref": ref}


@dataclass(frozen=True)
class Column:
    """A table column; ``better`` is "max", "min" or None (not ranked)."""

    key: str
    header: str
    better: str | None
    digits: int = 4


def table_block(table_id: str, row_header: str, labels: Sequence[str],
                columns: Sequence[Column], values: Mapping[str, Mapping[str, float | None]],
                as_text=None) -> dict:
    """A table block: one row per label, the best of each ranked column marked.

    Parameters
    ----------
    table_id : str
        The HTML id of the table (``comparison-table``).
    row_header : str
        Header of the label column ("method", "model", ...).
    labels : sequence of str
        Row labels, in order.
    columns : sequence of Column
    values : mapping of column key -> (label -> value or None)
    as_text : callable (Column, value) -> str, optional
        Formats a present value; :func:`fmt` with the column's digits by default.
    """
    as_text = as_text or (lambda col, v: fmt(v, col.digits))
    cells: dict[str, list[dict]] = {label: [] for label in labels}
    for col in columns:
        best = best_keys(values[col.key], col.better) if col.better else set()
        for label in labels:
            v = values[col.key].get(label)
            cells[label].append(cell(DASH if v is None else as_text(col, v), label in best))
    return table(table_id, row_header, [c.header for c in columns],
                 [(label, cells[label]) for label in labels])


def cell(text: str, best: bool = False) -> dict:
    """A table cell; ``best`` renders it in bold (and highlighted in HTML)."""
    return {"text": text, "best": best}


def table(table_id: str, row_header: str, headers: Sequence[str],
          rows: Sequence[tuple[str, list[dict]]]) -> dict:
    """A table block from its rows, each (label, cells made by :func:`cell`)."""
    return {"kind": "table", "table": {
        "id": table_id, "row_header": row_header, "columns": list(headers),
        "rows": [{"label": label, "cells": cells} for label, cells in rows]}}
