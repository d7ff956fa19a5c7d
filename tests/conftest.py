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
