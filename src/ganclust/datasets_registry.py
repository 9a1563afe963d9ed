"""The registry of named datasets: sources, splits and pinned checksums for every file.

Checksum provenance (each :class:`RemoteFile` also names its source in
``checksum_source``):

* MNIST, Fashion-MNIST, KMNIST, CIFAR-10 (binary version): TensorFlow Datasets'
  ``tensorflow_datasets/url_checksums/{mnist,fashion_mnist,kmnist,cifar10}.txt`` in
  github.com/tensorflow/datasets, which list URL, size in bytes and sha256 per file.
* Pendigits: ``pendigits.tra``'s sha256 from JackDunnNZ/UCIData.jl
  (``src/data/classification/pen-based-recognition-handwritten-digits.jl``, a DataDeps pin of
  the same UCI URL); sizes and both hashes from a public course packet's provenance table
  for the files in UCI's static zip, which agrees with UCIData.jl on ``pendigits.tra``.
* USPS (ESL ``zip.train.gz`` / ``zip.test.gz``): no published sha256 or size was found, so
  they are pinned as ``None`` and are only used with ``verify=False``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._download import RemoteFile

__all__ = ["DATASETS", "DatasetInfo"]


@dataclass
class DatasetInfo:
    """Registry entry for a named dataset.

    Parameters
    ----------
    name : str
        Registry key, also the cache and mirror sub-folder.
    description : str
        One line for listings.
    source : str
        Home page of the canonical source.
    sample_shape : tuple of int
        Shape of one sample in ``X``.
    splits : dict of str to int
        Predefined splits and their sizes; ``"all"`` is always present.
    files : dict of str to RemoteFile
        Downloadable files by role (empty for bundled data).
    split_files : dict of str to tuple of str
        For ``"train"`` / ``"test"``, the roles in ``files`` that split needs.
    """

    name: str
    description: str
    source: str
    sample_shape: tuple[int, ...]
    splits: dict[str, int]
    files: dict[str, RemoteFile] = field(default_factory=dict)
    split_files: dict[str, tuple[str, ...]] = field(default_factory=dict)


_TFDS = "tensorflow/datasets tensorflow_datasets/url_checksums/{}.txt"


def _idx_files(base: str, tfds: str, pins: dict[str, tuple[int, str]]) -> dict[str, RemoteFile]:
    """RemoteFiles for the four MNIST-style idx files under ``base`` (a URL ending in /)."""
    names = {
        "train_images": "train-images-idx3-ubyte.gz",
        "train_labels": "train-labels-idx1-ubyte.gz",
        "test_images": "t10k-images-idx3-ubyte.gz",
        "test_labels": "t10k-labels-idx1-ubyte.gz",
    }
    return {
        role: RemoteFile(fn, (base + fn,), pins[role][1], pins[role][0], _TFDS.format(tfds))
        for role, fn in names.items()
    }


_IDX_SPLITS = {"train": ("train_images", "train_labels"), "test": ("test_images", "test_labels")}

# Provenance of every pin below: see the module docstring.
_MNIST_PINS = {
    "train_images": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
_FASHION_PINS = {
    "train_images": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train_labels": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "test_images": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "test_labels": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}
_KMNIST_PINS = {
    "train_images": (18165135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
    "train_labels": (29497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
    "test_images": (3041136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
    "test_labels": (5120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
}
_MNIST = _idx_files("https://storage.googleapis.com/cvdf-datasets/mnist/", "mnist", _MNIST_PINS)
for _f in _MNIST.values():  # the original site, tried second: it is often unreachable
    _f.urls += (f"http://yann.lecun.com/exdb/mnist/{_f.filename}",)
del _f
_UCI = "https://archive.ics.uci.edu/ml/machine-learning-databases/pendigits/"
_PEN_SRC = "JackDunnNZ/UCIData.jl and a course packet's provenance table (module docstring)"
_ESL = "https://web.stanford.edu/~hastie/ElemStatLearn/datasets/"
_ESL_SRC = "none found: no published sha256/size for the ESL files"
_CIFAR = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"

# fmt: off
DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "UCI optical digits, 8x8 (bundled with scikit-learn)",
        "https://archive.ics.uci.edu/dataset/80", (8, 8), {"all": 1797},
    ),
    "mnist": DatasetInfo(
        "mnist", "MNIST handwritten digits", "http://yann.lecun.com/exdb/mnist/",
        (28, 28), {"train": 60000, "test": 10000, "all": 70000}, _MNIST, _IDX_SPLITS,
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist", "Zalando Fashion-MNIST", "https://github.com/zalandoresearch/fashion-mnist",
        (28, 28), {"train": 60000, "test": 10000, "all": 70000},
        _idx_files("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                   "fashion_mnist", _FASHION_PINS),
        _IDX_SPLITS,
    ),
    "kmnist": DatasetInfo(
        "kmnist", "Kuzushiji-MNIST (10 classes)", "http://codh.rois.ac.jp/kmnist/",
        (28, 28), {"train": 60000, "test": 10000, "all": 70000},
        _idx_files("http://codh.rois.ac.jp/kmnist/dataset/kmnist/", "kmnist", _KMNIST_PINS),
        _IDX_SPLITS,
    ),
    "usps": DatasetInfo(
        "usps", "USPS zip-code digits, 16x16 (ESL version)",
        "https://hastie.su.domains/ElemStatLearn/data.html",
        (16, 16), {"train": 7291, "test": 2007, "all": 9298},
        {
            "train": RemoteFile("zip.train.gz", (_ESL + "zip.train.gz",), None, None, _ESL_SRC),
            "test": RemoteFile("zip.test.gz", (_ESL + "zip.test.gz",), None, None, _ESL_SRC),
        },
        {"train": ("train",), "test": ("test",)},
    ),
    "pendigits": DatasetInfo(
        "pendigits", "UCI pen-based digits, 16 features (0..100)",
        "https://archive.ics.uci.edu/dataset/81", (16,),
        {"train": 7494, "test": 3498, "all": 10992},
        {
            "train": RemoteFile(
                "pendigits.tra", (_UCI + "pendigits.tra",),
                "e2b9eb9f0d0467e2b64a4816a3420edf2b8043447576f4b84337aba44a9f97d3",
                502098, _PEN_SRC,
            ),
            "test": RemoteFile(
                "pendigits.tes", (_UCI + "pendigits.tes",),
                "8bd03229c5c5291fefe43e45465dd948d2645bf23328b9d993e0b777666b2015",
                234366, _PEN_SRC,
            ),
        },
        {"train": ("train",), "test": ("test",)},
    ),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10 colour images (binary version)",
        "https://www.cs.toronto.edu/~kriz/cifar.html",
        (3, 32, 32), {"train": 50000, "test": 10000, "all": 60000},
        {
            "archive": RemoteFile(
                "cifar-10-binary.tar.gz", (_CIFAR,),
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", 170052171,
                _TFDS.format("cifar10"),
            )
        },
        {"train": ("archive",), "test": ("archive",)},
    ),
}
# fmt: on
