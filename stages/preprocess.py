"""Stage `preprocess`: scale pixels to [0, 1] and split train / val / test, stratified."""

from __future__ import annotations

import argparse

import numpy as np

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.data.preprocess import SPLITS, describe_splits, scale_to_unit, stratified_split


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True, help="the download stage's arrays (.npz)")
    ap.add_argument("--raw-meta", required=True, help="the download stage's provenance JSON")
    ap.add_argument("--out", required=True, help="splits (.npz): x_/y_ train, val, test")
    ap.add_argument("--meta", required=True, help="JSON: counts per split and class, sha256")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE)
    args = ap.parse_args(argv)

    p = params.load("preprocess", args.params)
    raw = io.read_npz(args.raw, required=("images", "labels"))
    source = io.read_json(args.raw_meta)
    x = scale_to_unit(raw["images"], source["pixel_max"])
    index = stratified_split(raw["labels"], p.val_fraction, p.test_fraction, p.seed)
    arrays = {"image_shape": np.asarray(raw["images"].shape[1:], dtype=np.int64)}
    for split in SPLITS:
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x[index[split]], raw["labels"][index[split]]
    io.atomic_write_npz(args.out, **arrays)
    io.atomic_write_json(args.meta, describe_splits(arrays, io.sha256_arrays(arrays)))
    print("preprocess: " + ", ".join(f"{s} {len(index[s])}" for s in SPLITS))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
