"""Stacks on a real Dask cluster (scheduler and worker processes on localhost).

Nothing in skstack knows about Dask: its fits go through joblib, and joblib's
dask backend sends them to the cluster's workers.
"""

import os
import sys

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from skstack import KerasStackingClassifier
from skstack.keras import KerasClassifier, dense_model

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# Workers cannot import this test module: its classes travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    with distributed.Client(cluster) as dask_client:
        yield dask_client
    cluster.close()


def _stack(**params):
    members = [
        ("mlp", KerasClassifier(dense_model, hidden=(8,), epochs=3)),
        ("lr", LogisticRegression()),
    ]
    params = {
        "final_estimator": LogisticRegression(),
        "cv": 3,
        "random_state": 0,
        **params,
    }
    return KerasStackingClassifier(members, **params)


def _worker_tasks(client, run):
    """Names of the tasks the cluster's workers ran during ``run()``, by worker."""
    with distributed.get_task_stream(client) as stream:
        run()
    by_worker = {}
    for task in stream.data:
        by_worker.setdefault(task["worker"], []).append(task["key"])
    return by_worker


def test_stack_fits_on_the_workers_with_the_local_predictions(iris, client):
    X, y = iris
    # Every fit its own task: no fused network, no warm-started folds.
    local = _stack(fuse_folds=False, warm_start_folds=False).fit(X, y).predict_proba(X)
    stack = _stack(fuse_folds=False, warm_start_folds=False)

    def fit_on_cluster():
        with joblib.parallel_backend("dask"):
            stack.fit(X, y)

    by_worker = _worker_tasks(client, fit_on_cluster)
    # 2 members x (3 folds + 1 refit) fits, spread over both workers.
    assert sum(len(keys) for keys in by_worker.values()) >= 8
    assert set(by_worker) == set(client.scheduler_info()["workers"])
    # A fit does not depend on where it ran: the same bits.
    np.testing.assert_array_equal(stack.predict_proba(X), local)


def _keras_wrapper_builder(X, y):
    inputs = keras.Input((X.shape[1],))
    outputs = keras.layers.Dense(y.shape[1], activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def test_keras_wrappers_members_fit_on_the_workers(iris, client):
    SKLearnClassifier = pytest.importorskip("keras.wrappers").SKLearnClassifier
    X, y = iris
    member = SKLearnClassifier(
        _keras_wrapper_builder, fit_kwargs={"epochs": 3, "verbose": 0}
    )

    def stack():
        members = [("nn", member), ("lr", LogisticRegression())]
        return KerasStackingClassifier(
            members, cv=3, random_state=0, fuse_folds=False, warm_start_folds=False
        )

    local = stack().fit(X, y)
    remote = stack()

    def fit_on_cluster():
        with joblib.parallel_backend("dask"):
            remote.fit(X, y)

    by_worker = _worker_tasks(client, fit_on_cluster)
    assert sum(len(keys) for keys in by_worker.values()) >= 8
    fold_model = remote.named_estimators_["nn"]
    assert len(fold_model.history_["loss"]) == 3  # fit_kwargs reached the workers
    np.testing.assert_array_equal(remote.predict_proba(X), local.predict_proba(X))


def test_grid_search_over_a_stack_runs_on_the_workers(iris, client):
    X, y = iris
    grid = {"mlp__hidden": [(4,), (8,)], "final_estimator__C": [0.1, 1.0]}
    local = GridSearchCV(_stack(), grid, cv=2).fit(X, y)
    search = GridSearchCV(_stack(), grid, cv=2, n_jobs=-1)

    def search_on_cluster():
        with joblib.parallel_backend("dask"):
            search.fit(X, y)

    by_worker = _worker_tasks(client, search_on_cluster)
    assert len(by_worker) == 2
    # Each stack, fitted in a task on a worker, sends its own fits to the
    # cluster too (n_jobs=None: the active joblib backend); the same bits.
    np.testing.assert_array_equal(
        search.cv_results_["split0_test_score"], local.cv_results_["split0_test_score"]
    )
    np.testing.assert_array_equal(
        search.cv_results_["split1_test_score"], local.cv_results_["split1_test_score"]
    )
    assert search.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        search.best_estimator_.predict_proba(X), local.best_estimator_.predict_proba(X)
    )
    np.testing.assert_array_equal(
        search.best_estimator_.oof_predictions_, local.best_estimator_.oof_predictions_
    )


class _KillsItsWorker(ClassifierMixin, BaseEstimator):
    """Fits like a logistic regression, but its first fit ends the worker
    process it runs in, as a crash or an out-of-memory kill would."""

    def __init__(self, marker=None):
        self.marker = marker

    def fit(self, X, y):
        if not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def _crashing_stack(member):
    members = [("lr", LogisticRegression()), ("crashing", member)]
    return KerasStackingClassifier(
        members, final_estimator=LogisticRegression(), cv=3, random_state=0
    )


def test_a_worker_killed_mid_fit_is_replaced_and_the_fit_completes(
    iris, client, tmp_path
):
    X, y = iris
    marker = tmp_path / "killed-once"
    stack = _crashing_stack(_KillsItsWorker(str(marker)))
    with joblib.parallel_backend("dask"):
        stack.fit(X, y)
    assert marker.exists()  # a worker did die
    expected = _crashing_stack(_KillsItsWorker(str(marker))).fit(X, y)
    np.testing.assert_allclose(stack.predict_proba(X), expected.predict_proba(X))
