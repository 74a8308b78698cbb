"""The IDX reader and writer: round trips, and one clear error per way a file can be wrong."""

import gzip

import numpy as np
import pytest

from latentlab.data.idx import (
    IdxFormatError, check_images, check_labels, encode_idx, parse_idx, read_idx,
)


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
def test_round_trip_every_idx_type(dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    back = parse_idx(encode_idx(array), "x")
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_known_bytes_of_a_label_file():
    # MNIST labels: magic 0x00000801, count, then one byte per label
    data = bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1])
    np.testing.assert_array_equal(parse_idx(data, "labels"), [7, 2, 1])
    assert encode_idx(np.array([7, 2, 1], dtype=np.uint8)) == data


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    path = tmp_path / "no-suffix"
    path.write_bytes(gzip.compress(encode_idx(images)))
    np.testing.assert_array_equal(read_idx(path), images)


BROKEN = [
    (b"\x00\x00", "shorter than the 4-byte magic"),
    (b"PK\x03\x04rest", "magic number 504b0304"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "unknown type code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 2]), "truncated IDX header"),
    (encode_idx(np.zeros((4, 2, 2), np.uint8))[:-5], "truncated IDX file"),
    (encode_idx(np.zeros((4,), np.uint8)) + b"\x00", "1 bytes after"),
    (gzip.compress(encode_idx(np.zeros((50, 5), np.uint8)))[:-12], "corrupt or truncated gzip"),
]


@pytest.mark.parametrize("data,message", BROKEN, ids=[b[1] for b in BROKEN])
def test_broken_files_name_the_file_and_the_problem(data, message):
    with pytest.raises(IdxFormatError) as info:
        parse_idx(data, "some-file-idx3-ubyte")
    text = str(info.value)
    assert text.startswith("some-file-idx3-ubyte: ") and message in text and "\n" not in text


def test_truncated_file_says_how_much_is_missing():
    data = encode_idx(np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(IdxFormatError, match=r"shape \(10, 28, 28\), 7840 data bytes; the file "
                                             r"has 7000"):
        parse_idx(data[:16 + 7000], "f")


def test_images_and_labels_are_checked_for_what_they_are():
    images = np.zeros((3, 2, 2), np.uint8)
    assert check_images(images, "f") is images
    with pytest.raises(IdxFormatError, match="expected images"):
        check_images(np.zeros((3, 4), np.uint8), "f")
    with pytest.raises(IdxFormatError, match="expected images"):
        check_images(np.zeros((3, 2, 2), np.float32), "f")
    assert check_labels(np.array([1, 2, 3], np.uint8), "l", 3).dtype == np.int64
    with pytest.raises(IdxFormatError, match="2 labels for 3 images"):
        check_labels(np.array([1, 2], np.uint8), "l", 3)


def test_missing_file_is_a_data_file_error(tmp_path):
    from latentlab.errors import DataFileError

    with pytest.raises(DataFileError, match="missing"):
        read_idx(tmp_path / "absent")
