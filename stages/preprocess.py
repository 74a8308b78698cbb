"""Stage `preprocess`: scale to [0, 1], split (stratified), subsample, binarise."""

from __future__ import annotations

import argparse

import numpy as np

from latentlab import io, params
from latentlab.cli import run_stage
from latentlab.data import preprocess as prep


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
    labels = raw["labels"]
    if "is_test" in raw:  # an official test split: kept as the test set
        index = prep.official_split(labels, raw["is_test"], p.val_fraction, p.seed)
    else:
        index = prep.stratified_split(labels, p.val_fraction, p.test_fraction, p.seed)
    index = prep.cap_splits(index, labels, {"train": p.max_train, "val": p.max_val,
                                            "test": p.max_test}, p.seed)
    prep.check_splits(index, labels, bool(source.get("has_labels", True)))
    x = prep.scale_to_unit(raw["images"], source["pixel_max"])
    arrays = prep.binarize_splits({s: x[index[s]] for s in prep.SPLITS}, p.binarize,
                                  p.binarize_threshold, p.seed)
    arrays["image_shape"] = np.asarray(raw["images"].shape[1:], dtype=np.int64)
    arrays["binarize"] = np.asarray(p.binarize)
    arrays["has_labels"] = np.asarray(bool(source.get("has_labels", True)))
    for split in prep.SPLITS:
        arrays[f"y_{split}"] = labels[index[split]]
    extra = {"binarize": p.binarize, "has_labels": bool(arrays["has_labels"]),
             "test_split": "official" if "is_test" in raw else "stratified",
             "caps": {"train": p.max_train, "val": p.max_val, "test": p.max_test}}
    if p.binarize == "static":
        extra["binarize_threshold"] = p.binarize_threshold
    io.atomic_write_npz(args.out, **arrays)
    io.atomic_write_json(args.meta, prep.describe_splits(arrays, io.sha256_arrays(arrays),
                                                         **extra))
    print("preprocess: " + ", ".join(f"{s} {len(index[s])}" for s in prep.SPLITS)
          + f"; binarize {p.binarize}; test split {extra['test_split']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
