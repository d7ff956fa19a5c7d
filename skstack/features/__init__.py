"""Two-stage training: Keras networks as feature extractors, image folders."""

from ._extractor import KerasFeatureExtractor
from ._images import load_image_folder

__all__ = ["KerasFeatureExtractor", "load_image_folder"]
