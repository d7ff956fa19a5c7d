import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler


@pytest.fixture(scope="session")
def iris():
    """Iris, scaled, sorted by class (50 / 50 / 50) as it ships."""
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="session")
def binary(iris):
    """Two iris classes: 100 rows, labels 0 / 1."""
    X, y = iris
    return X[y < 2], y[y < 2]


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:200]
    return X, (y[:200] - y.mean()) / y.std()


@pytest.fixture(scope="session")
def mixed_table():
    """Makes mixed-type rows: a float and an integer column, and a text
    category whose rare level ("violet", the first two rows) is absent from
    some folds' training rows."""

    def make(n_rows=150, seed=0):
        rng = np.random.RandomState(seed)
        colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n_rows)
        colour[:2] = "violet"
        X = pd.DataFrame(
            {"size": rng.normal(5, 2, n_rows), "age": rng.randint(0, 80, n_rows)}
        )
        X["colour"] = colour
        y = ((X["size"] > 5) ^ (X["colour"] == "red")).astype(int).to_numpy()
        return X, y

    return make
