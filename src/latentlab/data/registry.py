"""Which image sets exist: torchvision's MNIST family, and any a test registers.

Each entry takes its file names, published MD5 checksums (``resources``),
default mirrors (``mirrors``), class names and file layout
(``<root>/<ClassName>/raw/<file>``) from the torchvision dataset class, so
``torchvision.datasets.MNIST(root)`` reads what :mod:`latentlab.data.sources`
puts in place and vice versa. :func:`register_image_set` adds a set through the
same registry (the tests register small files with their own checksums).

Apart from fetching, so that validating ``data.name`` (:mod:`latentlab.params`)
needs only this module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageSet:
    """One data set in torchvision's MNIST layout.

    Attributes
    ----------
    name : the ``data.name`` that selects it
    folder : the folder under the download root (torchvision's class name)
    mirrors : base URLs, each ending in ``/``, tried in order
    resources : ``(file name, published MD5)`` of every file, gzipped names
    train, test : ``(images file, labels file)`` of each official split, gzipped names
    classes : the class names, in label order
    torchvision_class : the ``torchvision.datasets`` class that loads the files, or None
    """

    name: str
    folder: str
    mirrors: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]
    train: tuple[str, str]
    test: tuple[str, str]
    classes: tuple[str, ...]
    torchvision_class: str | None = None

    @property
    def file_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.resources)


# data.name -> torchvision.datasets class name (the folder, too)
TORCHVISION_SETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}
MNIST_TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
MNIST_TEST = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

_REGISTERED: dict[str, ImageSet] = {}


def from_torchvision(name: str, class_name: str) -> ImageSet:
    """The entry of a torchvision MNIST-family class: its mirrors, resources and classes."""
    import torchvision.datasets  # local: ~3-10 s to import, only the image sets pay for it

    cls = getattr(torchvision.datasets, class_name)
    return ImageSet(name=name, folder=cls.__name__, mirrors=tuple(cls.mirrors),
                    resources=tuple((f, md5) for f, md5 in cls.resources), train=MNIST_TRAIN,
                    test=MNIST_TEST, classes=tuple(cls.classes), torchvision_class=class_name)


def register_image_set(spec: ImageSet) -> None:
    """Add (or replace) a set in the registry; :func:`image_set` then returns it."""
    names = spec.file_names
    if not set(spec.train + spec.test) <= set(names):
        raise ValueError(f"{spec.name}: train/test files must be among its resources {names}")
    _REGISTERED[spec.name] = spec


def unregister_image_set(name: str) -> None:
    _REGISTERED.pop(name, None)


def image_set_names() -> tuple[str, ...]:
    return tuple(TORCHVISION_SETS) + tuple(n for n in _REGISTERED if n not in TORCHVISION_SETS)


def image_set(name: str) -> ImageSet:
    """The registered set called ``name`` (torchvision's values for the real sets)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in TORCHVISION_SETS:
        return from_torchvision(name, TORCHVISION_SETS[name])
    raise KeyError(name)
