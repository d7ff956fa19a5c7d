"""
How do I combine two Keras models' outputs?
===========================================

A small CNN sees the digits as 8x8 images, a dense network sees them as 64
numbers; :class:`~skstack.compose.KerasFusionClassifier` runs both side by side,
merges their penultimate features and trains a head on the merge, as one Keras
model. Each ``merge`` mode is one parameter value, so comparing them is a loop
(or a ``GridSearchCV``).
"""

# %%
import keras
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skstack.compose import KerasFusionClassifier

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype("float32")
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)


def cnn(input_shape):
    """Reads the 64 columns as an 8x8 image; ends in 32 features."""
    inputs = keras.Input(input_shape)
    x = keras.layers.Reshape((8, 8, 1))(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


def mlp(input_shape):
    inputs = keras.Input(input_shape)
    x = keras.layers.Dense(32, activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10)(x))


# %%
# One fusion per merge mode
# -------------------------
# ``layer=-2`` takes each member's penultimate layer (32 features each), so
# every mode, even the element-wise ones, receives outputs of one width.
accuracy = {}
for merge in ["concat", "average", "weighted", "attention"]:
    fusion = KerasFusionClassifier(
        [("cnn", cnn), ("mlp", mlp)],
        layer=-2,
        merge=merge,
        epochs=8,
        batch_size=64,
        random_state=0,
    ).fit(X_train, y_train)
    accuracy[merge] = fusion.score(X_test, y_test)
    print(f"{merge:>10}: held-out accuracy {accuracy[merge]:.3f}")
    if merge == "weighted":
        print("            learned member weights", fusion.fusion_weights_.round(3))

fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(list(accuracy), list(accuracy.values()))
ax.set_xlim(0.8, 1.0)
ax.set_xlabel("held-out accuracy")
fig.tight_layout()
