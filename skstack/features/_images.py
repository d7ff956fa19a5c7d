"""Image folders (one sub-folder per class) as arrays the estimators accept."""

from __future__ import annotations

import os

import numpy as np
from sklearn.utils import Bunch

_IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _image_files(directory: str) -> dict[str, list[str]]:
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"load_image_folder: {directory!r} is not a directory.")
    classes = sorted(
        name
        for name in os.listdir(directory)
        if os.path.isdir(os.path.join(directory, name))
    )
    if not classes:
        raise ValueError(
            f"load_image_folder: {directory!r} has no class sub-folders; expected "
            "one folder of images per class (directory/<class>/<image>.png)."
        )
    return {
        name: sorted(
            os.path.join(directory, name, file)
            for file in os.listdir(os.path.join(directory, name))
            if file.lower().endswith(_IMAGE_EXTENSIONS)
        )
        for name in classes
    }


def _common_size(files: dict[str, list[str]]) -> tuple[int, int]:
    """The one (height, width) of all images, or a clear error."""
    import tensorflow as tf

    sizes: dict[tuple[int, int], str] = {}
    for paths in files.values():
        for path in paths:
            image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
            sizes.setdefault(tuple(int(d) for d in image.shape[:2]), path)
    if not sizes:
        raise ValueError("load_image_folder: the class folders hold no images.")
    if len(sizes) > 1:
        examples = ", ".join(
            f"{h}x{w} ({os.path.basename(p)})" for (h, w), p in sizes.items()
        )
        raise ValueError(
            f"load_image_folder: images have different sizes: {examples}. Pass "
            "target_size=(height, width) to resize them all."
        )
    return next(iter(sizes))


def load_image_folder(
    directory,
    *,
    target_size=None,
    color_mode="rgb",
    validation_split=None,
    subset=None,
    seed=0,
    return_X_y=False,
):
    """Load a directory of class sub-folders of images as arrays.

    ``directory/<class name>/<image>`` becomes images of shape
    ``(n, height, width, channels)`` and integer labels in the sorted order of
    the class names, read with Keras's ``image_dataset_from_directory``.

    Parameters
    ----------
    directory : str or path
        The folder holding one sub-folder per class.
    target_size : tuple of (int, int), default=None
        Resize every image to ``(height, width)``. None keeps the images'
        size, which must then be the same for all.
    color_mode : {"rgb", "grayscale", "rgba"}, default="rgb"
        Channels to load.
    validation_split : float, default=None
        Fraction of the images to hold out; with ``subset`` choose which part.
    subset : {"training", "validation"}, default=None
        Which part of the split to return.
    seed : int, default=0
        Seed of the shuffle that makes the split; the same seed gives the same
        split and order.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.

    Returns
    -------
    data : Bunch
        ``images`` (float32 pixel values, 0 to 255), ``target`` (int labels),
        ``target_names`` (class names).
    (images, target) : tuple
        With ``return_X_y=True``.

    Examples
    --------
    >>> from skstack.features import load_image_folder
    >>> load_image_folder("no/such/folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: load_image_folder: 'no/such/folder' is not a directory.
    """
    import keras

    directory = os.fspath(directory)
    files = _image_files(directory)
    if target_size is None:
        target_size = _common_size(files)
    dataset = keras.utils.image_dataset_from_directory(
        directory,
        labels="inferred",
        label_mode="int",
        color_mode=color_mode,
        batch_size=None,
        image_size=tuple(target_size),
        shuffle=True,
        seed=seed,
        validation_split=validation_split,
        subset=subset,
        verbose=False,
    )
    images, target = [], []
    for image, label in dataset.as_numpy_iterator():
        images.append(image)
        target.append(label)
    images = np.stack(images).astype(np.float32)
    target = np.asarray(target, dtype=np.int64)
    if return_X_y:
        return images, target
    return Bunch(images=images, target=target, target_names=list(dataset.class_names))
