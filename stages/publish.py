"""Stage `publish`: copy the rendered report (outputs/report/) to reports/, which git tracks.

Why: see :mod:`latentlab.report.publish` (the report stage's own outputs are DVC-cached so
that DVC can restore it from its run-cache; this copy is what git and readers see).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from latentlab import params
from latentlab.cli import run_stage
from latentlab.report.publish import publish


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--from", dest="source", required=True, type=Path,
                    help="the report stage's output folder (outputs/report)")
    ap.add_argument("--to", dest="target", required=True, type=Path, help="reports/")
    ap.add_argument("names", nargs="+", help="files and folders to copy (report.html ...)")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE, type=Path)
    args = ap.parse_args(argv)
    params.check_names(args.params)  # it reads no params, yet refuses a typo, as every stage
    written = publish(args.source, args.target, args.names)
    print(f"publish: {', '.join(str(path) for path in written)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
