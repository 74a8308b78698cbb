"""The data-set registry: materialise a raw data set as arrays plus provenance.

Each loader returns a :class:`RawDataset`: images as an integer or float array
of shape ``(n, height, width)``, integer labels of shape ``(n,)``, the maximum
possible pixel value (used to scale to [0, 1]) and a description of where it
came from. The ``digits`` set ships inside scikit-learn, so the default
pipeline needs no network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from latentlab.errors import UnknownDatasetError  # re-exported for callers


@dataclass(frozen=True)
class RawDataset:
    name: str
    images: np.ndarray  # (n, height, width)
    labels: np.ndarray  # (n,) int64
    pixel_max: float  # the largest value a pixel can take in ``images``
    source: dict = field(default_factory=dict)


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


REGISTRY: dict[str, Callable[[], RawDataset]] = {"digits": load_digits_dataset}


def load_raw(name: str) -> RawDataset:
    """Load a registered data set by name."""
    try:
        loader = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise UnknownDatasetError(f"data.name: unknown data set {name!r}; known: {known}") from None
    return loader()


def describe(raw: RawDataset, sha256: str) -> dict:
    """The provenance JSON written beside the raw arrays (no timestamps: it is a DVC output)."""
    return {
        "name": raw.name,
        "n_examples": int(len(raw.labels)),
        "image_shape": list(raw.images.shape[1:]),
        "n_classes": int(len(set(raw.labels.tolist()))),
        "pixel_max": float(raw.pixel_max),
        "dtype": str(raw.images.dtype),
        "sha256": sha256,
        **raw.source,
    }
