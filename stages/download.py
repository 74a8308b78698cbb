"""Stage `download`: materialise the raw data set as arrays plus a provenance JSON."""

from __future__ import annotations

import argparse

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.data import datasets


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="arrays (.npz): images, labels, is_test")
    ap.add_argument("--meta", required=True, help="provenance JSON: source, checksums, counts")
    ap.add_argument("--download-dir", required=True, help="where downloaded files are kept "
                    "(torchvision's layout: <dir>/MNIST/raw/...); reused, never fetched twice")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    p = params.load("data", args.params)
    raw = datasets.load_raw(p, args.download_dir)
    arrays = raw.arrays()
    io.atomic_write_npz(args.out, **arrays)
    io.atomic_write_json(args.meta, datasets.describe(raw, io.sha256_arrays(arrays)))
    labels = "labelled" if raw.has_labels else "no labels"
    print(f"download: {p.name}: {len(raw.labels)} images of {raw.images.shape[1:]} ({labels})")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
