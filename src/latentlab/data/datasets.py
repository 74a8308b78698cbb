"""The data-set registry: materialise a raw data set as arrays plus provenance.

``data.name`` selects one of

* ``digits``: scikit-learn's bundled 8x8 digits (offline; the default);
* ``mnist``, ``fashion_mnist``, ``kmnist``: torchvision's MNIST-family sets,
  fetched and checked by :mod:`latentlab.data.sources` (torchvision's files,
  layout and published MD5 checksums) and decoded by the torchvision class;
* ``custom``: the user's ``.npz`` or IDX folder (:mod:`latentlab.data.custom`).

Each loader returns a :class:`RawDataset`: images ``(n, height, width)``,
integer labels ``(n,)`` (``-1`` everywhere when the set has none), the largest
possible pixel value (used to scale to [0, 1]), which rows form an official
test split, and a description of where it all came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.data import registry, sources
from latentlab.errors import UnknownDatasetError  # re-exported for callers


@dataclass(frozen=True)
class RawDataset:
    name: str
    images: np.ndarray  # (n, height, width)
    labels: np.ndarray  # (n,) int64; NO_LABEL (-1) everywhere when has_labels is False
    pixel_max: float  # the largest value a pixel can take in ``images``
    source: dict = field(default_factory=dict)
    is_test: np.ndarray | None = None  # (n,) bool: the official test split, if the set has one
    has_labels: bool = True

    def arrays(self) -> dict[str, np.ndarray]:
        """What the download stage writes: ``images``, ``labels`` and maybe ``is_test``."""
        out = {"images": self.images, "labels": self.labels}
        if self.is_test is not None:
            out["is_test"] = self.is_test
        return out


def load_digits_dataset() -> RawDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, 17 grey levels 0..16)."""
    import sklearn
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = bunch.images.astype(np.uint8)  # values are integers 0..16 stored as float64
    labels = bunch.target.astype(np.int64)
    return RawDataset(
        name="digits",
        images=images,
        labels=labels,
        pixel_max=16.0,
        source={
            "origin": "sklearn.datasets.load_digits (UCI ML hand-written digits, bundled copy)",
            "sklearn_version": sklearn.__version__,
        },
    )


def decode_image_set(spec: registry.ImageSet, root: str | Path) -> tuple[np.ndarray, ...]:
    """Images, labels and the official-test mask of a fetched set, in that order.

    Every file is first checked by :mod:`latentlab.data.idx` (a one-line error
    for a truncated or foreign file), then the arrays are taken from the
    torchvision class where the set has one, so the layout is torchvision's.
    """
    from latentlab.data.idx import check_images, check_labels, read_idx

    folder = sources.raw_dir(spec, root)
    parts = {}
    for split, (images_file, labels_file) in (("train", spec.train), ("test", spec.test)):
        images_path = folder / sources.plain_name(images_file)
        labels_path = folder / sources.plain_name(labels_file)
        images = check_images(read_idx(images_path), str(images_path))
        labels = check_labels(read_idx(labels_path), str(labels_path), len(images))
        parts[split] = images, labels
    if spec.torchvision_class is not None:
        import torchvision.datasets

        cls = getattr(torchvision.datasets, spec.torchvision_class)
        for split in ("train", "test"):
            ds = cls(root=str(root), train=split == "train", download=False)
            parts[split] = ds.data.numpy(), ds.targets.numpy().astype(np.int64)
    images = np.concatenate([parts["train"][0], parts["test"][0]])
    labels = np.concatenate([parts["train"][1], parts["test"][1]])
    is_test = np.zeros(len(images), dtype=bool)
    is_test[len(parts["train"][0]):] = True
    return images, labels, is_test


def load_image_set(spec: registry.ImageSet, download_dir: str | Path, *, mirror: str | None,
                   local_dir: str | None) -> RawDataset:
    """Fetch (or reuse) and decode a registered MNIST-family set."""
    records = sources.fetch(spec, download_dir, mirror=mirror, local_dir=local_dir)
    images, labels, is_test = decode_image_set(spec, download_dir)
    if local_dir is not None:
        origin = f"data.local_dir {local_dir}"
    else:
        origin = "mirror " + (mirror or " | ".join(spec.mirrors))
    source = {
        "origin": f"{spec.folder} files ({origin})",
        "files": {r.file: r.as_dict() for r in records},
        "classes": list(spec.classes),
        "n_train": int((~is_test).sum()),
        "n_test": int(is_test.sum()),
        "layout": f"torchvision.datasets.{spec.torchvision_class or spec.folder}: "
                  f"<root>/{spec.folder}/raw/",
    }
    if spec.torchvision_class is not None:
        import torchvision

        source["torchvision_version"] = torchvision.__version__
    return RawDataset(name=spec.name, images=images, labels=labels, pixel_max=255.0, source=source,
                      is_test=is_test)


def load_custom_dataset(path: str, files: dict[str, str | None]) -> RawDataset:
    from latentlab.data.custom import load_custom

    loaded = load_custom(path, files)
    is_test = loaded["is_test"]
    source = {"origin": f"custom {path}",
              "files": {name: {"sha256": sha, "verified": "recorded only (no published "
                               "checksum)"} for name, sha in loaded["sha256_files"].items()},
              "n_test": int(is_test.sum()) if is_test is not None else 0}
    return RawDataset(name="custom", images=loaded["images"], labels=loaded["labels"],
                      pixel_max=loaded["pixel_max"], source=source, is_test=is_test,
                      has_labels=loaded["has_labels"])


def resolve_download_dir(path: str | Path) -> Path:
    """A relative download folder is taken from ``DVC_ROOT`` when DVC sets it.

    ``dvc exp run --queue`` runs each experiment in a temporary copy whose
    ``DVC_ROOT`` is the main repository, so every experiment shares one folder
    of downloads and nothing is fetched twice.
    """
    path = Path(path)
    root = os.environ.get("DVC_ROOT")
    return Path(root) / path if root and not path.is_absolute() else path


def load_raw(p, download_dir: str | Path = "data/downloads") -> RawDataset:
    """Load the data set that ``p`` (:class:`~latentlab.params.DataParams`) selects.

    Parameters
    ----------
    p : DataParams
    download_dir : where the MNIST-family files are kept (torchvision's root layout)
    """
    if p.name == "digits":
        return load_digits_dataset()
    if p.name == "custom":
        return load_custom_dataset(p.custom.path, p.custom.files())
    try:
        spec = registry.image_set(p.name)
    except KeyError:
        known = ", ".join(("digits", *registry.image_set_names(), "custom"))
        raise UnknownDatasetError(f"data.name: unknown data set {p.name!r}; known: "
                                  f"{known}") from None
    return load_image_set(spec, resolve_download_dir(download_dir), mirror=p.mirror,
                          local_dir=p.local_dir)


def describe(raw: RawDataset, sha256: str) -> dict:
    """The provenance JSON written beside the raw arrays (no timestamps: it is a DVC output)."""
    labels = raw.labels[raw.labels >= 0]
    return {
        "name": raw.name,
        "n_examples": int(len(raw.labels)),
        "image_shape": list(raw.images.shape[1:]),
        "n_classes": int(len(set(labels.tolist()))),
        "has_labels": bool(raw.has_labels),
        "official_test_split": raw.is_test is not None,
        "pixel_max": float(raw.pixel_max),
        "dtype": str(raw.images.dtype),
        "sha256": sha256,
        **raw.source,
    }
