"""
How do I train a model on a CNN's features, with augmented images?
==================================================================

Two-stage training on scikit-learn's digits, offline. Stage one: skstack's
``conv_model`` (two convolution blocks, a 64-unit ``"features"`` layer) trained
with augmentation on the digits as 8x8x1 images. Stage two: its
penultimate layer's features, learnt by a logistic regression
(``Pipeline([KerasFeatureExtractor, LogisticRegression])``) and by a Keras dense
head. Prints the held-out accuracy of each.

Run alone: ``.venv/bin/python docs/examples/plot_two_stage_digits.py [--epochs N]``
"""

from __future__ import annotations

import argparse
import time

import keras
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from skstack.features import KerasFeatureExtractor
from skstack.keras import KerasClassifier, conv_model, dense_model


def main(epochs: int = 15, random_state: int = 0) -> dict[str, float]:
    X, y = load_digits(return_X_y=True)
    images = (X / 16.0).reshape(-1, 8, 8, 1).astype("float32")
    X_train, X_test, y_train, y_test = train_test_split(
        images, y, test_size=0.25, stratify=y, random_state=random_state
    )
    cnn = KerasClassifier(
        conv_model,
        filters=(16, 32),
        hidden=(64,),
        optimizer="adam",
        epochs=epochs,
        batch_size=32,
        augmentation=[
            keras.layers.RandomTranslation(0.1, 0.1),
            keras.layers.RandomRotation(0.05),
        ],
        random_state=random_state,
    )
    extractor = KerasFeatureExtractor(cnn, layer="features")
    scores = {}
    start = time.perf_counter()
    with_logreg = Pipeline(
        [("cnn", extractor), ("logreg", LogisticRegression(max_iter=2000))]
    ).fit(X_train, y_train)
    scores["cnn (stage one, softmax)"] = with_logreg[0].estimator_.score(X_test, y_test)
    scores["cnn features + LogisticRegression"] = with_logreg.score(X_test, y_test)
    features_train = with_logreg[0].transform(X_train)
    features_test = with_logreg[0].transform(X_test)
    head = KerasClassifier(
        dense_model,
        hidden=(32,),
        epochs=30,
        optimizer="adam",
        random_state=random_state,
    ).fit(features_train, y_train)
    scores["cnn features + Keras dense head"] = head.score(features_test, y_test)
    seconds = time.perf_counter() - start
    for name, score in scores.items():
        print(f"{name:<36} held-out accuracy {score:.4f}")
    print(f"total time {seconds:.1f} s ({epochs} CNN epochs with augmentation)")
    return scores


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Two-stage training on the digits")
    parser.add_argument("--epochs", type=int, default=15)
    main(parser.parse_args().epochs)
