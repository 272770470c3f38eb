"""The experiments' data: files made here in the formats the sources read (CIFAR-10's python
batches, an ImageFolder), the augmentation against slicing by hand, and every broken input a
one-line error naming the file, with nothing run from a file."""

from __future__ import annotations

import os
import pickle
import subprocess

import numpy as np
import pytest
import torch

from conftest import tool
from resnet_inspect.errors import DataError
from resnet_inspect.experiments import datasets as data


def write_cifar(directory, count=20, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for name in [*data.CIFAR10_TRAIN, data.CIFAR10_TEST]:
        batch = {
            b"batch_label": b"made by the test",
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, count)],
        }
        with open(directory / name, "wb") as out:
            pickle.dump(batch, out, protocol=2)
    return directory


def test_cifar10_batches_are_read_as_the_archive_lays_them_out(tmp_path):
    directory = write_cifar(tmp_path / "cifar-10-batches-py")
    with open(directory / "data_batch_2", "rb") as handle:
        raw = pickle.load(handle, encoding="bytes")  # noqa: S301 - the test's own file
    dataset = data.load_data(str(tmp_path))  # the directory above it works too
    assert dataset.input_shape == (3, 32, 32) and dataset.classes == 10
    assert len(dataset.train_labels) == 100 and len(dataset.test_labels) == 20
    # image 3 of batch 2: 1,024 red, then green, then blue bytes, rows of 32
    image = torch.from_numpy(raw[b"data"][3].reshape(3, 32, 32))
    assert torch.equal(dataset.train_images[20 + 3], image)
    assert int(dataset.train_labels[23]) == raw[b"labels"][3]
    assert (dataset.pad, dataset.flip) == (4, True)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.write_bytes(path.read_bytes()[:700]), "truncated or corrupt"),
        (lambda path: path.unlink(), "missing"),
        (lambda path: path.write_bytes(b"not a pickle at all"), "truncated or corrupt"),
    ],
)
def test_a_broken_cifar_file_is_one_line_naming_it(tmp_path, damage, message):
    directory = write_cifar(tmp_path / "c")
    damage(directory / "data_batch_4")
    with pytest.raises(DataError, match=message) as error:
        data.load_data(str(directory))
    lines = str(error.value).splitlines()
    assert len(lines) == 1 and str(directory / "data_batch_4") in lines[0]


def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    directory = write_cifar(tmp_path / "c")
    with open(directory / "test_batch", "wb") as out:
        pickle.dump({b"data": Payload(), b"labels": []}, out, protocol=2)
    with pytest.raises(DataError, match="refused to load"):
        data.load_data(str(directory))
    assert not marker.exists()


def test_an_image_folder_with_train_and_val(tmp_path):
    from PIL import Image

    for split, count in (("train", 3), ("val", 2)):
        for label, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
            folder = tmp_path / split / label
            folder.mkdir(parents=True)
            for index in range(count):
                Image.new("RGB", (20, 10), colour).save(folder / f"{index}.png")
    dataset = data.load_data(str(tmp_path), image_size=12)
    assert dataset.classes == 2 and dataset.input_shape == (3, 12, 12)
    assert dataset.train_labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert dataset.test_labels.tolist() == [0, 0, 1, 1]
    assert dataset.train_images[0, 0].eq(255).all() and dataset.train_images[0, 2].eq(0).all()
    assert dataset.train_images[3, 2].eq(255).all()  # a dog is blue


def test_a_corrupt_image_is_one_line_naming_it(tmp_path):
    from PIL import Image

    folder = tmp_path / "a"
    folder.mkdir()
    for index in range(5):
        Image.new("RGB", (8, 8)).save(folder / f"{index}.png")
    (folder / "3.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match="3.png: not a readable image") as error:
        data.load_data(str(tmp_path))
    assert len(str(error.value).splitlines()) == 1


def test_digits_are_scikit_learns_upsampled_with_a_fixed_split():
    from sklearn.datasets import load_digits

    dataset = data.load_data("digits")
    bunch = load_digits()
    assert len(dataset.train_labels) + len(dataset.test_labels) == len(bunch.target) == 1797
    assert dataset.test_labels.tolist() == bunch.target[::5].tolist()
    assert dataset.input_shape == (3, 16, 16) and dataset.flip is False
    # a blank 8x8 pixel stays blank after upsampling; ink stays ink
    first = dataset.test_images[0, 0].float()
    assert first.max() > 200 and first.min() == 0


def test_the_crop_and_flip_are_the_papers_drawn_from_the_epoch():
    images = torch.arange(4 * 3 * 6 * 6, dtype=torch.int64).remainder(251).to(torch.uint8)
    images = images.view(4, 3, 6, 6)
    out = data.augment(images, 2, True, data.epoch_generator(7, 3))
    generator = data.epoch_generator(7, 3)  # the same draws, in the same order, by hand
    tops = torch.randint(0, 5, (4,), generator=generator)
    lefts = torch.randint(0, 5, (4,), generator=generator)
    flips = torch.rand(4, generator=generator) < 0.5
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    for i in range(4):
        crop = padded[i, :, tops[i] : tops[i] + 6, lefts[i] : lefts[i] + 6]
        assert torch.equal(out[i], crop.flip(2) if flips[i] else crop)


def test_an_epochs_order_comes_from_the_seed_and_the_epoch_alone():
    dataset = data.synthetic((3, 8, 8), train=64, test=8)

    def order(seed, epoch):
        return torch.cat([labels for _, labels in data.batches(dataset, 16, seed, epoch)])

    assert torch.equal(order(0, 2), order(0, 2))
    assert not torch.equal(order(0, 2), order(0, 3))
    assert sorted(order(1, 5).tolist()) == sorted(dataset.train_labels.tolist())


def test_cifar10_is_not_downloaded_unless_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError, match="add --download"):
        data.load_data("cifar10")


def test_download_offline_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(data, "CIFAR10_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataError, match="cannot fetch .*offline") as error:
        data.load_data("cifar10", download=True)
    assert len(str(error.value).splitlines()) == 1


@pytest.mark.subprocess
def test_the_command_says_a_missing_data_source_in_one_line(tmp_path):
    done = subprocess.run(
        [
            tool("resnet-inspect"),
            "train",
            "cifar_resnet20",
            "--data",
            str(tmp_path / "nope"),
            "-o",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
