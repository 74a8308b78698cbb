"""``python -m latentlab.report.changes``: what changed since the last commit, in Markdown.

The params, data set and code against HEAD, then only the metrics that moved beyond their
noise (the wording: :mod:`latentlab.report.sections_changes`; what is compared:
:mod:`latentlab.report.changes_inputs`). Printed to the terminal and written to
``reports/changes.md`` (atomically; git-ignored, not a DVC output: it depends on HEAD,
which no DVC output may). ``make changes`` runs it, and ``make repro`` does after
``dvc repro`` succeeds, logging the file to the pipeline's parent MLflow run
(``report/changes.md``). A missing or unreadable input is one line on stderr and a
non-zero exit (:func:`latentlab.cli.run_stage`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Iterable

from latentlab.cli import run_stage
from latentlab.errors import DataFileError
from latentlab.io import atomic_write_text
from latentlab.report.changes_inputs import load_changes
from latentlab.report.sections_changes import changes_blocks

TITLE = "What changed since the last commit"
DEFAULT_OUT = Path("reports/changes.md")  # under --root


def _cell(text: object) -> str:
    """A Markdown table cell: its pipes escaped."""
    return str(text).replace("|", "\\|")


def markdown(blocks: Iterable[dict]) -> str:
    """Plain Markdown of paragraph, list and table blocks, under a title."""
    lines = [f"# {TITLE}"]
    for block in blocks:
        lines.append("")
        kind = block["kind"]
        if kind == "p":
            lines.append(block["text"])
        elif kind == "list":
            lines += [f"- {item}" for item in block["items"]]
        elif kind == "table":
            table = block["table"]
            if block.get("summary"):
                lines += [f"{block['summary']}:", ""]
            lines.append("| " + " | ".join(_cell(h) for h in
                                           [table["row_header"], *table["columns"]]) + " |")
            lines.append("|:--|" + "--:|" * len(table["columns"]))
            lines += ["| " + " | ".join([_cell(row["label"]),
                                         *(_cell(c["text"]) for c in row["cells"])]) + " |"
                      for row in table["rows"]]
        else:
            raise ValueError(f"no Markdown for a {kind!r} block")
    return "\n".join(lines) + "\n"


def write_changes(root: str | Path = ".", out: str | Path | None = None) -> str:
    """Compare the workspace under ``root`` with HEAD, write the text to ``out`` (default
    ``root/reports/changes.md``) atomically, and return it.

    Raises
    ------
    LatentlabError
        An input is missing or unreadable, or ``out`` cannot be written (one line).
    """
    root = Path(root)
    out = root / DEFAULT_OUT if out is None else Path(out)
    text = markdown(changes_blocks(load_changes(root)))
    try:
        atomic_write_text(out, text)
    except OSError as exc:
        raise DataFileError(f"{out}: cannot write ({exc.strerror or exc})") from None
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=Path("."),
                    help="the repository root (default: the current directory)")
    ap.add_argument("--out", type=Path, default=None,
                    help=f"where to write the Markdown (default: ROOT/{DEFAULT_OUT})")
    args = ap.parse_args(argv)
    print(write_changes(args.root, args.out), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
