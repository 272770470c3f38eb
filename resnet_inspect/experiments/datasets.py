"""Image data for the experiments, held in memory as uint8 N×C×H×W tensors with int64 labels:

* `digits`: scikit-learn's bundled handwritten digits (1,797 8×8 images, 10 classes; on every
  machine, offline), upsampled to 16×16 and repeated to 3 channels; every fifth image is the
  test set (360), the rest the training set (1,437).
* a CIFAR-10 directory: the python batches as the official archive unpacks them
  (data_batch_1 … data_batch_5, test_batch); `cifar10` names the cache directory, which
  `download=True` fills (the only thing that is ever downloaded, and only when asked).
* an ImageFolder directory: `train/CLASS/*.png` and `val/` or `test/` beside it, or
  `CLASS/*.png` alone (every fifth image of each class is then the test set); images are
  resized to `image_size` squared.
* `synthetic`: random images and labels from the seed, for tests.

Reading never runs code from a file: the CIFAR batches are unpickled by a restricted
unpickler that builds only dicts, lists, strings, numbers and numpy arrays. A missing,
truncated or corrupt file is a DataError naming it.

Batches (`batches`): an epoch's order and augmentation come from (seed, epoch) alone, so any
epoch can be made again exactly: after a resume, and on every rank of a distributed run. The
augmentation is the ResNet paper's CIFAR recipe: pad by `pad` pixels (zeros), take a random
crop of the image's size, flip horizontally with probability 1/2 (`flip`), then normalise
each channel by the training set's mean and standard deviation.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from resnet_inspect.errors import DataError

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = "test_batch"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".tif", ".tiff")
SOURCES = ("digits", "cifar10", "synthetic", "DIR")


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "resnet-inspect"


@dataclass
class Dataset:
    """A training and a test split in memory, and how a batch is augmented."""

    name: str
    train_images: torch.Tensor  # uint8 N×C×H×W
    train_labels: torch.Tensor  # int64 N
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: int
    pad: int  # pixels of zero padding before the random crop (0: no crop)
    flip: bool  # random horizontal flips
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.mean:
            pixels = self.train_images.float().div_(255)
            self.mean = tuple(pixels.mean(dim=(0, 2, 3)).tolist())
            self.std = tuple(pixels.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())

    @property
    def input_shape(self) -> tuple[int, int, int]:
        _, channels, height, width = self.train_images.shape
        return int(channels), int(height), int(width)

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float32, each channel standardised by the training set's figures."""
        mean = torch.tensor(self.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.std).view(1, -1, 1, 1)
        return (images.float().div_(255) - mean) / std

    def describe(self) -> str:
        return (
            f"{self.name}: {len(self.train_labels):,} training and {len(self.test_labels):,} "
            f"test images, {'×'.join(map(str, self.input_shape))}, {self.classes} classes"
        )


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The random stream of one epoch's order and augmentation: from (seed, epoch) alone."""
    digest = hashlib.sha256(f"resnet-inspect data {seed} {epoch}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


def augment(images: torch.Tensor, pad: int, flip: bool, generator: torch.Generator) -> torch.Tensor:
    """The paper's augmentation on a uint8 batch: zero-pad, random crop of the original size,
    random horizontal flip, every draw from `generator`."""
    count, _, height, width = images.shape
    if pad:
        padded = torch.nn.functional.pad(images, (pad, pad, pad, pad))
        tops = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        lefts = torch.randint(0, 2 * pad + 1, (count,), generator=generator)
        rows = tops.view(-1, 1) + torch.arange(height).view(1, -1)  # N×H
        cols = lefts.view(-1, 1) + torch.arange(width).view(1, -1)  # N×W
        index = torch.arange(count).view(-1, 1, 1)
        images = padded.permute(0, 2, 3, 1)[index, rows.view(count, -1, 1), cols.view(count, 1, -1)]
        images = images.permute(0, 3, 1, 2).contiguous()
    if flip:
        flips = torch.rand(count, generator=generator) < 0.5
        images = torch.where(flips.view(-1, 1, 1, 1), images.flip(3), images)
    return images


def batches(
    data: Dataset, batch_size: int, seed: int, epoch: int, augmented: bool = True
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of training batches (the last one smaller where the set does not divide),
    normalised, in the order and with the augmentation of (seed, epoch)."""
    generator = epoch_generator(seed, epoch)
    order = torch.randperm(len(data.train_labels), generator=generator)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        images = data.train_images[index]
        if augmented:
            images = augment(images, data.pad, data.flip, generator)
        yield data.normalise(images), data.train_labels[index]


def steps_per_epoch(data: Dataset, batch_size: int) -> int:
    return -(-len(data.train_labels) // batch_size)


def test_batches(data: Dataset, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for start in range(0, len(data.test_labels), batch_size):
        stop = start + batch_size
        yield data.normalise(data.test_images[start:stop]), data.test_labels[start:stop]


# --- the sources ----------------------------------------------------------------------------


def load_data(
    source: str,
    *,
    image_size: int | None = None,
    download: bool = False,
    seed: int = 0,
    input_shape: tuple[int, ...] | None = None,
) -> Dataset:
    """The Dataset `source` names: digits, synthetic, cifar10 (the cache directory), or a
    CIFAR-10 or ImageFolder directory. `image_size` resizes an ImageFolder's images (default
    32) and sizes synthetic ones (default: `input_shape`'s)."""
    if source == "digits":
        return digits()
    if source == "synthetic":
        shape = tuple(input_shape or (3, 32, 32))
        if image_size:
            shape = (shape[0], image_size, image_size)
        return synthetic(shape, seed=seed)
    if source == "cifar10":
        directory = cache_dir() / "cifar-10-batches-py"
        if not (directory / CIFAR10_TEST).exists():
            if not download:
                raise DataError(
                    f"--data cifar10: no CIFAR-10 in {directory}; add --download to fetch it "
                    f"(163 MiB) or give the directory the archive unpacks to"
                )
            download_cifar10(directory.parent)
        return cifar10(directory)
    path = Path(source)
    if not path.exists():
        raise DataError(
            f"--data {source}: no such file or directory; use digits, cifar10, synthetic or a "
            "CIFAR-10 or ImageFolder directory"
        )
    if not path.is_dir():
        raise DataError(f"--data {source}: not a directory")
    if (path / CIFAR10_TEST).exists() or (path / CIFAR10_TRAIN[0]).exists():
        return cifar10(path)
    if (path / "cifar-10-batches-py").is_dir():
        return cifar10(path / "cifar-10-batches-py")
    return image_folder(path, image_size or 32)


def digits() -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError(
            "--data digits needs scikit-learn: pip install 'resnet-inspect[experiments]'"
        ) from None
    bunch = load_digits()
    images = torch.tensor(bunch.images, dtype=torch.float32)  # N×8×8, values 0..16
    images = torch.nn.functional.interpolate(
        images.unsqueeze(1), size=(16, 16), mode="bilinear", align_corners=False
    )
    images = (images * (255 / 16)).round().clamp(0, 255).to(torch.uint8).repeat(1, 3, 1, 1)
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    test = torch.arange(len(labels)) % 5 == 0
    return Dataset(
        "digits",
        images[~test],
        labels[~test],
        images[test],
        labels[test],
        classes=10,
        pad=2,
        flip=False,  # a mirrored digit is another shape
    )


def synthetic(
    shape: tuple[int, ...], seed: int = 0, train: int = 256, test: int = 64, classes: int = 10
) -> Dataset:
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (train + test, *shape), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, classes, (train + test,), generator=generator)
    return Dataset(
        "synthetic",
        images[:train],
        labels[:train],
        images[train:],
        labels[train:],
        classes=classes,
        pad=max(1, shape[-1] // 8),
        flip=True,
    )


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds dicts, lists, strings, numbers and numpy arrays; any other global is refused,
    so a file cannot run code."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np

    try:
        with open(path, "rb") as handle:
            batch = _RestrictedUnpickler(handle, encoding="bytes").load()
    except FileNotFoundError:
        raise DataError(
            f"{path}: missing (a CIFAR-10 directory has {', '.join(CIFAR10_TRAIN)} "
            f"and {CIFAR10_TEST})"
        ) from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(
            f"{path}: not a CIFAR-10 python batch (truncated or corrupt: {err})"
        ) from None
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: not a CIFAR-10 python batch (no dictionary inside)")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if not isinstance(data, np.ndarray) or labels is None:
        raise DataError(f"{path}: not a CIFAR-10 python batch (no data and labels)")
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != data.shape[0]:
        raise DataError(
            f"{path}: a CIFAR-10 batch holds N×3072 bytes and N labels; this one has data "
            f"{'×'.join(map(str, data.shape))} and {len(labels)} labels (truncated?)"
        )
    images = torch.from_numpy(np.ascontiguousarray(data, dtype=np.uint8)).view(-1, 3, 32, 32)
    targets = torch.tensor([int(label) for label in labels], dtype=torch.int64)
    if len(targets) and (targets.min() < 0 or targets.max() > 9):
        raise DataError(f"{path}: labels outside 0-9 (corrupt)")
    return images, targets


def cifar10(directory: Path) -> Dataset:
    parts = [_cifar_batch(directory / name) for name in CIFAR10_TRAIN]
    test_images, test_labels = _cifar_batch(directory / CIFAR10_TEST)
    return Dataset(
        "cifar10",
        torch.cat([images for images, _ in parts]),
        torch.cat([labels for _, labels in parts]),
        test_images,
        test_labels,
        classes=10,
        pad=4,
        flip=True,
    )


def download_cifar10(root: Path) -> None:
    """Fetch the CIFAR-10 python archive, check its MD5 and unpack it into `root` (only the
    archive's own files, no links). A DataError in one line when offline or corrupt."""
    root.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(CIFAR10_URL, timeout=30) as response:
            payload = response.read()
    except OSError as err:
        reason = getattr(err, "reason", None) or err
        raise DataError(f"--download: cannot fetch {CIFAR10_URL} ({reason}); offline?") from None
    if hashlib.md5(payload).hexdigest() != CIFAR10_MD5:  # noqa: S324 - the archive's published sum
        raise DataError(f"--download: {CIFAR10_URL} did not match its published MD5 (corrupt)")
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        archive.extractall(root, filter="data")


def image_folder(directory: Path, size: int) -> Dataset:
    """An ImageFolder directory: train/ and val/ (or test/) of class folders, or class folders
    alone (every fifth image of each class, in name order, is then the test set)."""
    train_dir = directory / "train"
    test_dir = next((directory / n for n in ("val", "test") if (directory / n).is_dir()), None)
    if train_dir.is_dir() and test_dir is not None:
        classes = sorted(p.name for p in train_dir.iterdir() if p.is_dir())
        train = _images(train_dir, classes)
        test = _images(test_dir, classes)
    else:
        classes = sorted(p.name for p in directory.iterdir() if p.is_dir())
        every = _images(directory, classes)
        train = [item for i, item in enumerate(every) if i % 5]
        test = [item for i, item in enumerate(every) if not i % 5]
    if not classes:
        raise DataError(
            f"--data {directory}: neither a CIFAR-10 directory nor an ImageFolder (no class "
            "folders, and no train/ and val/)"
        )
    if not train or not test:
        raise DataError(f"--data {directory}: no images found in the class folders")
    train_images, train_labels = _read_images(train, size)
    test_images, test_labels = _read_images(test, size)
    return Dataset(
        directory.name or str(directory),
        train_images,
        train_labels,
        test_images,
        test_labels,
        classes=len(classes),
        pad=max(1, size // 8),
        flip=True,
    )


def _images(directory: Path, classes: list[str]) -> list[tuple[Path, int]]:
    found = []
    for label, name in enumerate(classes):
        folder = directory / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
                found.append((path, label))
    return found


def _read_images(items: list[tuple[Path, int]], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    import numpy as np

    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise DataError(
            "an ImageFolder needs Pillow: pip install 'resnet-inspect[experiments]'"
        ) from None
    images = torch.empty((len(items), 3, size, size), dtype=torch.uint8)
    for index, (path, _) in enumerate(items):
        try:
            with Image.open(path) as image:
                picture = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable image (truncated or corrupt: {err})") from None
        images[index] = torch.from_numpy(np.asarray(picture, dtype=np.uint8).copy()).permute(
            2, 0, 1
        )
    return images, torch.tensor([label for _, label in items], dtype=torch.int64)


__all__ = [
    "Dataset",
    "augment",
    "batches",
    "cache_dir",
    "epoch_generator",
    "load_data",
    "steps_per_epoch",
    "test_batches",
]
