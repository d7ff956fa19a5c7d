"""Image folders: labels from sub-folders, split with a seed, clear errors."""

import numpy as np
import pytest
import tensorflow as tf

from skstack.features import load_image_folder


def _write_png(path, image):
    tf.io.write_file(str(path), tf.io.encode_png(tf.constant(image, dtype=tf.uint8)))


def _folder(root, sizes_by_class):
    """root/<class>/<i>.png with a pixel value telling the class and index apart."""
    for label, (name, sizes) in enumerate(sorted(sizes_by_class.items())):
        (root / name).mkdir(parents=True)
        for i, (height, width) in enumerate(sizes):
            image = np.full((height, width, 1), 10 * label + i, dtype=np.uint8)
            _write_png(root / name / f"{i}.png", image)
    return root


def test_image_folder_loads_with_the_right_labels(tmp_path):
    root = _folder(tmp_path / "data", {"cat": [(6, 5)] * 3, "dog": [(6, 5)] * 4})
    data = load_image_folder(root, color_mode="grayscale")
    assert data.target_names == ["cat", "dog"]
    assert data.images.shape == (7, 6, 5, 1)
    # Each image's pixel value encodes its class: 0-2 for cats, 10-13 for dogs.
    labels_from_pixels = (data.images[:, 0, 0, 0] >= 10).astype(int)
    np.testing.assert_array_equal(data.target, labels_from_pixels)
    assert np.bincount(data.target).tolist() == [3, 4]


def test_validation_split_is_seeded_and_disjoint(tmp_path):
    root = _folder(tmp_path / "data", {"a": [(4, 4)] * 5, "b": [(4, 4)] * 5})
    kwargs = {"color_mode": "grayscale", "validation_split": 0.4, "seed": 3}
    X_train, y_train = load_image_folder(
        root, subset="training", return_X_y=True, **kwargs
    )
    X_valid, _ = load_image_folder(root, subset="validation", return_X_y=True, **kwargs)
    assert len(X_train) == 6 and len(X_valid) == 4
    train_ids = set(X_train[:, 0, 0, 0].tolist())
    valid_ids = set(X_valid[:, 0, 0, 0].tolist())
    assert not train_ids & valid_ids
    again, _ = load_image_folder(root, subset="training", return_X_y=True, **kwargs)
    np.testing.assert_array_equal(again, X_train)
    assert set(y_train.tolist()) <= {0, 1}


def test_mixed_sizes_need_a_target_size(tmp_path):
    root = _folder(tmp_path / "data", {"a": [(4, 4), (8, 6)], "b": [(4, 4)]})
    with pytest.raises(ValueError, match="different sizes: 4x4 .*, 8x6 .*target_size"):
        load_image_folder(root)
    X, _ = load_image_folder(root, target_size=(5, 5), return_X_y=True)
    assert X.shape == (3, 5, 5, 3)


def test_folder_without_class_sub_folders_is_refused(tmp_path):
    _write_png(tmp_path / "lonely.png", np.zeros((4, 4, 1), dtype=np.uint8))
    with pytest.raises(ValueError, match="has no class sub-folders"):
        load_image_folder(tmp_path)
