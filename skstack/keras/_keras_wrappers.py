"""Keras's own scikit-learn wrappers as members and meta-learners of a stack.

``keras.wrappers.SKLearnClassifier`` / ``SKLearnRegressor`` (Keras >= 3.8)
cannot be stacked as given: their ``__sklearn_clone__`` drops ``fit_kwargs``,
so every copy a stack makes trains one epoch with progress bars, and the
classifier has no ``predict_proba``. A stack fits, in their place, skstack's
wrapper of the same network and fit arguments (:func:`skstack_wrapper`): the
user's builder ``model(X, y, **model_kwargs)`` is called with the data, as
Keras's wrappers call it, and the fit arguments become the wrapper's
parameters, so fused folds, fast prediction, saving and export apply. (A
``SKLearnTransformer`` step becomes a feature extractor of such a wrapper:
``skstack.features``'s ``from_keras_transformer``.)
"""

from __future__ import annotations

from ._wrappers import KerasClassifier, KerasRegressor

# fit_kwargs entries that are parameters of skstack's wrappers; any other
# entry is passed to Keras's fit as ``fit__<name>``.
_WRAPPER_PARAMETERS = (
    "epochs",
    "batch_size",
    "verbose",
    "callbacks",
    "validation_split",
    "validation_batch_size",
    "shuffle",
    "class_weight",
)


def keras_wrapper_model(X, y, build, build_kwargs=None):
    """A Keras wrapper's builder, ``build(X, y, **build_kwargs)``, as skstack's.

    skstack's wrapper gives a builder taking ``X`` and ``y`` its training
    data (a classifier's labels one-hot), as Keras's wrappers do; ``build``
    and ``build_kwargs`` are the Keras wrapper's ``model`` and
    ``model_kwargs``, parameters of the skstack wrapper (tunable as
    ``build_kwargs``).
    """
    return build(X=X, y=y, **(build_kwargs or {}))


def skstack_wrapper(estimator):
    """skstack's wrapper training what a Keras ``SKLearnClassifier``,
    ``SKLearnRegressor`` or ``SKLearnTransformer`` (as a regressor) would: the
    same builder, model arguments and fit arguments (Keras's defaults where
    they are not given: one epoch, progress bars). ``estimator`` is left
    unchanged.

    Parameters
    ----------
    estimator : keras.wrappers.SKLearnClassifier, SKLearnRegressor or SKLearnTransformer
        The wrapper to convert.

    Returns
    -------
    wrapper : KerasClassifier or KerasRegressor
        An unfitted skstack wrapper.
    """
    import keras

    model = estimator.model
    if isinstance(model, keras.Model) or not callable(model):
        raise TypeError(
            f"{type(estimator).__name__}: a stack fits Keras wrappers built by a "
            "function, model(X, y, **model_kwargs); got a "
            f"{type(model).__name__}. Pass the function that builds and compiles "
            "it."
        )
    fit_kwargs = dict(estimator.fit_kwargs or {})
    # Keras's fit trains one epoch and prints progress bars by default.
    params = {"epochs": 1, "verbose": 1}
    given = [name for name in _WRAPPER_PARAMETERS if name in fit_kwargs]
    params.update((name, fit_kwargs.pop(name)) for name in given)
    params.update((f"fit__{name}", value) for name, value in fit_kwargs.items())
    if params["verbose"] == "auto":
        params["verbose"] = 1
    if isinstance(estimator, keras.wrappers.SKLearnClassifier):
        kind = KerasClassifier
    else:
        # Keras's wrapper trains on the targets as given.
        kind, params["scale_target"] = KerasRegressor, False
    return kind(
        keras_wrapper_model,
        build=model,
        build_kwargs=estimator.model_kwargs,
        warm_start=estimator.warm_start,
        **params,
    )


def is_keras_transformer(estimator) -> bool:
    """Whether ``estimator`` is a Keras ``SKLearnTransformer``."""
    import keras

    wrappers = getattr(keras, "wrappers", None)  # Keras >= 3.8
    transformer = getattr(wrappers, "SKLearnTransformer", None)
    return transformer is not None and isinstance(estimator, transformer)


def fitted_equivalent(estimator):
    """skstack's wrapper in place of a Keras ``SKLearnClassifier`` /
    ``SKLearnRegressor``; any other estimator as it is."""
    import keras

    wrappers = getattr(keras, "wrappers", None)  # Keras >= 3.8
    kinds = tuple(
        getattr(wrappers, name)
        for name in ("SKLearnClassifier", "SKLearnRegressor")
        if hasattr(wrappers, name)
    )
    if kinds and isinstance(estimator, kinds):
        return skstack_wrapper(estimator)
    return estimator
