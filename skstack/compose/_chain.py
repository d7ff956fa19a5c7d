"""``KerasChainClassifier`` / ``KerasChainRegressor``: stages in one Keras graph."""

from __future__ import annotations

from numbers import Integral, Real

import keras

from skstack.keras import KerasClassifier, KerasRegressor
from skstack.keras._dense import compile_model, output_head
from skstack.keras._models import load_member
from skstack.keras._wrappers import SCALE_TARGET_PARAMETER
from skstack.utils._compat import Interval, StrOptions
from skstack.utils._validation import state_restored_on_error

from ._stages import (
    TRAINING_PARAMETERS,
    ComposedModel,
    adapt,
    add_head,
    input_shape_of,
    named_wrapper,
)

# The chain's own parameters, checked with the wrapper's by ``_fit_context``.
_CHAIN_CONSTRAINTS = {
    # One number of epochs: the composed models hold out no rows of their own.
    "epochs": [Interval(Integral, 0, None, closed="left")],
    "stages": [list, tuple],
    "adapter": [None, StrOptions({"flatten", "reshape", "dense"})],
    "freeze": [None, "boolean", StrOptions({"all"}), list, tuple],
    "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
    "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
    "head": [None, StrOptions({"dense"})],
    "head_hidden": [list, tuple],
    "callbacks": [None, list],
}


def _frozen_indices(freeze, n_stages: int) -> list[int]:
    if freeze is None or freeze is False:
        return []
    if freeze is True or freeze == "all":
        return list(range(n_stages))
    indices = [int(i) for i in freeze]
    for i in indices:
        if not -n_stages <= i < n_stages:
            raise ValueError(
                f"freeze names stage {i}, but there are {n_stages} stages."
            )
    return sorted({i % n_stages for i in indices})


def build_chain(meta: dict, compile_kwargs: dict, params: dict) -> keras.Model:
    """Build the chain's functional model: stage after stage, then the head.

    The builder the chain wrappers hand to scikeras; ``params`` are the
    wrapper's parameters.
    """
    stages = params["stages"]
    if not stages:
        raise ValueError("stages must hold at least one stage, got an empty list.")
    frozen = _frozen_indices(params["freeze"], len(stages))
    inputs = keras.Input(shape=meta["X_shape_"][1:])
    x, before = inputs, "the input X"
    for i, spec in enumerate(stages):
        name = f"stage{i}"
        model = load_member(spec, tuple(x.shape[1:]), f"stages[{i}]")
        expected = input_shape_of(model)
        x = adapt(x, expected, params["adapter"], before, f"stages[{i}]")
        stage = named_wrapper(model, expected, name)
        stage.trainable = i not in frozen
        x = stage(x)
        before = f"stages[{i}]"

    if params["head"] == "dense":
        outputs, loss = add_head(x, meta, params["head_hidden"])
    else:  # head=None
        units, _, loss = output_head(meta)
        if tuple(x.shape[1:]) != (units,):
            raise ValueError(
                f"head=None uses the last stage as the output layer, so it must "
                f"output shape ({units},) for this target; it outputs "
                f"{tuple(x.shape[1:])}. Use head='dense'."
            )
        outputs = x
    chain = keras.Model(inputs, outputs, name="chain")
    compile_model(chain, compile_kwargs, loss)
    return chain


class _ChainMixin(ComposedModel):
    """Chain parameters (one ``__init__`` for both classes), builder, fine-tuning."""

    model = staticmethod(build_chain)

    def __init__(
        self,
        stages,
        *,
        adapter=None,
        freeze=None,
        fine_tune_epochs=0,
        fine_tune_learning_rate=1e-4,
        head="dense",
        head_hidden=(),
        optimizer="adam",
        loss=None,
        metrics=None,
        epochs=1,
        batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.stages = stages
        self.adapter = adapter
        self.freeze = freeze
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.head = head
        self.head_hidden = head_hidden
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X, y, sample_weight=None, **kwargs):
        """Train the head (frozen stages fixed), then fine-tune if asked.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights for both phases.
        **kwargs : dict
            Passed to ``keras.Model.fit``.

        Returns
        -------
        self : object
            The fitted chain.
        """
        with state_restored_on_error(self):
            super().fit(X, y, sample_weight=sample_weight, **kwargs)
            frozen = [
                layer
                for layer in self.model_.layers
                if layer.name.startswith("stage") and not layer.trainable
            ]
            if self.fine_tune_epochs and frozen:
                self._fine_tune(frozen, X, y, sample_weight)
        return self

    def _fine_tune(self, frozen, X, y, sample_weight):
        """Unfreeze the frozen stages and train everything at a lower rate."""
        for layer in frozen:
            layer.trainable = True
        optimizer = self.model_.optimizer
        config = {
            **optimizer.get_config(),
            "learning_rate": self.fine_tune_learning_rate,
        }
        self.model_.compile(
            optimizer=type(optimizer).from_config(config), loss=self.model_.loss
        )
        for _ in range(self.fine_tune_epochs):
            super().partial_fit(X, y, sample_weight=sample_weight)


_CHAIN_PARAMETERS = (
    """\
    stages : list of keras.Model, str or callable
        The stages, in order; each one's output feeds the next. A
        ``keras.Model`` is copied with its weights (yours is never trained), a
        path to a saved ``.keras`` or ``.h5`` model is loaded (Keras safe mode),
        a callable gets the stage's input shape (without the batch axis) and
        returns a ``keras.Model``. Each is nested in the fitted ``model_`` as
        layer ``"stage<i>"``.
    adapter : {None, "flatten", "reshape", "dense"}, default=None
        How to join stages whose shapes differ: flatten or reshape (same number
        of values) or a learned dense projection. None raises an error naming
        both stages and shapes.
    freeze : None, "all" or list of int, default=None
        Stages whose weights stay fixed while the head trains.
    fine_tune_epochs : int, default=0
        After training, unfreeze the frozen stages and train the whole chain
        this many more epochs at ``fine_tune_learning_rate``.
    fine_tune_learning_rate : float, default=1e-4
        Learning rate of the fine-tuning phase (same optimizer class).
    head : {"dense", None}, default="dense"
        ``"dense"`` adds the task's output layer (softmax, sigmoid or linear)
        after ``head_hidden`` layers; None uses the last stage's output as the
        prediction (it must have the right width).
    head_hidden : tuple of int, default=()
        Hidden ``Dense`` layers (ReLU) of the head.
"""
    + TRAINING_PARAMETERS
)


class KerasChainClassifier(_ChainMixin, KerasClassifier):
    _parameter_constraints: dict = {
        **KerasClassifier._parameter_constraints,
        **_CHAIN_CONSTRAINTS,
    }
    __doc__ = f"""Keras models chained into one network, as a scikit-learn classifier.

    Feature extractor -> (adapter) -> ... -> head, in one functional model
    trained end to end, with frozen stages and an optional fine-tuning phase
    (transfer learning as done by hand).

    Parameters
    ----------
{_CHAIN_PARAMETERS}

    Attributes
    ----------
    model_ : keras.Model
        The fitted chain; ``model_.get_layer("stage0")`` is the first stage.
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_iris
    >>> from skstack.compose import KerasChainClassifier
    >>> def extractor(input_shape):
    ...     inputs = keras.Input(input_shape)
    ...     return keras.Model(inputs, keras.layers.Dense(8, "relu")(inputs))
    >>> X, y = load_iris(return_X_y=True)
    >>> chain = KerasChainClassifier([extractor], epochs=2, random_state=0)
    >>> chain.fit(X, y).predict_proba(X[:2]).shape
    (2, 3)
    """


class KerasChainRegressor(_ChainMixin, KerasRegressor):
    _parameter_constraints: dict = {
        **KerasRegressor._parameter_constraints,
        **_CHAIN_CONSTRAINTS,
    }
    __doc__ = f"""Keras models chained into one network, as a scikit-learn regressor.

    Feature extractor -> (adapter) -> ... -> head, in one functional model
    trained end to end, with frozen stages and an optional fine-tuning phase.

    Parameters
    ----------
{_CHAIN_PARAMETERS}
{SCALE_TARGET_PARAMETER}
    Attributes
    ----------
    model_ : keras.Model
        The fitted chain; ``model_.get_layer("stage0")`` is the first stage.
    n_outputs_ : int
        Number of targets.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_diabetes
    >>> from skstack.compose import KerasChainRegressor
    >>> def extractor(input_shape):
    ...     inputs = keras.Input(input_shape)
    ...     return keras.Model(inputs, keras.layers.Dense(8, "relu")(inputs))
    >>> X, y = load_diabetes(return_X_y=True)
    >>> chain = KerasChainRegressor([extractor], epochs=2, random_state=0)
    >>> chain.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        stages,
        *,
        adapter=None,
        freeze=None,
        fine_tune_epochs=0,
        fine_tune_learning_rate=1e-4,
        head="dense",
        head_hidden=(),
        optimizer="adam",
        loss=None,
        metrics=None,
        epochs=1,
        batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        random_state=None,
        verbose=0,
        scale_target="auto",
    ):
        super().__init__(
            stages,
            adapter=adapter,
            freeze=freeze,
            fine_tune_epochs=fine_tune_epochs,
            fine_tune_learning_rate=fine_tune_learning_rate,
            head=head,
            head_hidden=head_hidden,
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            shuffle=shuffle,
            callbacks=callbacks,
            random_state=random_state,
            verbose=verbose,
        )
        self.scale_target = scale_target
