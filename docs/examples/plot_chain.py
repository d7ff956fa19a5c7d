"""
How do I put a pre-trained Keras model in front of a new head?
==============================================================

A feature extractor is trained on digits 0-4 and saved to disk. A
:class:`~skstack.compose.KerasChainClassifier` loads it (in Keras's safe mode),
freezes it while a new head learns digits 5-9, then fine-tunes the whole chain
at a low learning rate. The chain is one Keras graph and one scikit-learn
estimator.
"""

# %%
# Pre-train and save an extractor
# -------------------------------
import tempfile
from pathlib import Path

import keras
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skstack.compose import KerasChainClassifier

keras.utils.set_random_seed(0)
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype("float32")
first, second = y < 5, y >= 5

inputs = keras.Input((64,))
features = keras.layers.Dense(32, activation="relu", name="features")(inputs)
pretraining = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(features))
pretraining.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
pretraining.fit(X[first], y[first], epochs=10, batch_size=32, verbose=0)

extractor = keras.Model(inputs, features)  # the pre-trained layers, no old head
path = Path(tempfile.mkdtemp()) / "extractor.keras"
extractor.save(path)

# %%
# Chain it to a new head: frozen, then fine-tuned
# -----------------------------------------------
X_train, X_test, y_train, y_test = train_test_split(
    X[second], y[second], test_size=0.3, stratify=y[second], random_state=0
)
frozen = KerasChainClassifier(
    [str(path)], freeze="all", head_hidden=(16,), epochs=40, random_state=0
).fit(X_train, y_train)
fine_tuned = KerasChainClassifier(
    [str(path)],
    freeze="all",
    head_hidden=(16,),
    epochs=40,
    fine_tune_epochs=20,
    fine_tune_learning_rate=1e-3,
    random_state=0,
).fit(X_train, y_train)

print(f"frozen extractor:     held-out accuracy {frozen.score(X_test, y_test):.3f}")
print(f"then fine-tuned:      held-out accuracy {fine_tuned.score(X_test, y_test):.3f}")
print("classes learnt by the chain:", fine_tuned.classes_)
weights_before = extractor.get_weights()[0]
weights_frozen = frozen.model_.get_layer("stage0").get_weights()[0]
print("frozen stage kept its weights:", np.array_equal(weights_before, weights_frozen))
