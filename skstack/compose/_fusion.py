"""``KerasFusionClassifier`` / ``KerasFusionRegressor``: members' outputs combined."""

from __future__ import annotations

from numbers import Integral

import keras
import numpy as np

from skstack.keras import KerasClassifier, KerasRegressor
from skstack.keras._dense import compile_model
from skstack.keras._layers import (
    AttentionMerge,
    LogProbabilities,
    TakeColumns,
    WeightedSum,
)
from skstack.keras._models import cut_at_layer, load_member
from skstack.keras._outputs import output_activation
from skstack.keras._wrappers import SCALE_TARGET_PARAMETER
from skstack.utils._compat import Interval, StrOptions
from skstack.utils._validation import check_named_pairs

from ._stages import (
    TRAINING_PARAMETERS,
    ComposedModel,
    add_head,
    input_shape_of,
    shapes_match,
)

_ELEMENTWISE = {
    "add": keras.layers.Add,
    "average": keras.layers.Average,
    "multiply": keras.layers.Multiply,
    "maximum": keras.layers.Maximum,
    "weighted": WeightedSum,
    "attention": AttentionMerge,
}
MERGES = ("concat", *_ELEMENTWISE)

# The fusion's own parameters, checked with the wrapper's by ``_fit_context``.
_FUSION_CONSTRAINTS = {
    # One number of epochs: the composed models hold out no rows of their own.
    "epochs": [Interval(Integral, 0, None, closed="left")],
    "members": [list, tuple],
    "layer": [Integral, str],
    "merge": [StrOptions(set(MERGES))],
    "projection": [None, Interval(Integral, 1, None, closed="left")],
    "member_columns": [None, list, tuple],
    "freeze": ["boolean"],
    "head_hidden": [list, tuple],
    "callbacks": [None, list],
}


def _member_features(model: keras.Model, layer, name: str) -> keras.Model:
    """The part of ``model`` up to ``layer`` (an index or a layer name)."""
    if layer == -1:
        return model
    return cut_at_layer(model, layer, f"member {name!r}")


def _member_inputs(inputs, members, member_columns):
    """One tensor per member: the shared input, or its columns of X."""
    if member_columns is None:
        return [inputs] * len(members)
    if len(member_columns) != len(members):
        raise ValueError(
            f"member_columns gives {len(member_columns)} column groups but there "
            f"are {len(members)} members; give one group per member."
        )
    if len(inputs.shape) != 2:
        raise ValueError("member_columns needs 2-D X (n_samples, n_features).")
    n_features = inputs.shape[1]
    for (name, _), columns in zip(members, member_columns, strict=True):
        bad = [c for c in columns if not -n_features <= int(c) < n_features]
        if bad:
            raise ValueError(
                f"member_columns for {name!r} has columns {bad} outside X's "
                f"{n_features} features."
            )
    return [
        TakeColumns([int(c) % n_features for c in columns], name=f"columns_{name}")(
            inputs
        )
        for (name, _), columns in zip(members, member_columns, strict=True)
    ]


def build_fusion(meta: dict, compile_kwargs: dict, params: dict) -> keras.Model:
    """Build the fusion model: members side by side, merged, then the head."""
    members = params["members"]
    check_named_pairs("The fusion", members, "members", "member")
    merge = params["merge"]
    inputs = keras.Input(shape=meta["X_shape_"][1:])
    outputs, logarithms = [], 0
    member_inputs = _member_inputs(inputs, members, params["member_columns"])
    for (name, spec), x in zip(members, member_inputs, strict=True):
        model = load_member(spec, tuple(x.shape[1:]), f"member {name!r}")
        expected = input_shape_of(model)
        if not shapes_match(tuple(x.shape[1:]), expected):
            raise ValueError(
                f"member {name!r} expects inputs of shape {expected} but gets "
                f"{tuple(x.shape[1:])}."
            )
        features = _member_features(model, params["layer"], name)
        wrapper_input = keras.Input(shape=expected)
        member = keras.Model(
            wrapper_input, features(wrapper_input), name=f"member_{name}"
        )
        member.trainable = not params["freeze"]
        out = member(x)
        if len(out.shape) > 2:
            out = keras.layers.Flatten()(out)
        link = output_activation(features) if merge in _ELEMENTWISE else None
        if link in ("softmax", "sigmoid") and len(members) > 1:
            # Probabilities are merged as log-probabilities (softmax) or
            # logits (sigmoid): an average of probabilities trains a head
            # poorly and a product of softmax vectors vanishes.
            out = LogProbabilities(link, name=f"log_probabilities_{name}")(out)
            logarithms += 1
        if params["projection"] is not None:
            out = keras.layers.Dense(params["projection"], name=f"project_{name}")(out)
        outputs.append(out)

    widths = {
        name: int(o.shape[-1]) for (name, _), o in zip(members, outputs, strict=True)
    }
    if len(outputs) == 1:
        merged = outputs[0]
    elif merge == "concat":
        merged = keras.layers.Concatenate(name="fusion_merge")(outputs)
    else:
        if len(set(widths.values())) > 1:
            raise ValueError(
                f"merge={merge!r} combines outputs element-wise, but the members' "
                f"widths differ: {widths}. Pass projection=<units> to project each "
                "to the same width, or use merge='concat'."
            )
        merge_layer = _ELEMENTWISE[merge]
        if (
            merge == "multiply"
            and logarithms == len(outputs)
            and params["projection"] is None
        ):
            # The product of probabilities is the sum of their logarithms.
            merge_layer = keras.layers.Add
        merged = merge_layer(name="fusion_merge")(outputs)
    head, loss = add_head(merged, meta, params["head_hidden"])
    fusion = keras.Model(inputs, head, name="fusion")
    compile_model(fusion, compile_kwargs, loss)
    return fusion


class _FusionMixin(ComposedModel):
    """Fusion parameters (one ``__init__`` for both classes), builder, weights."""

    model = staticmethod(build_fusion)

    def __init__(
        self,
        members,
        *,
        layer=-1,
        merge="concat",
        projection=None,
        member_columns=None,
        freeze=False,
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
        self.members = members
        self.layer = layer
        self.merge = merge
        self.projection = projection
        self.member_columns = member_columns
        self.freeze = freeze
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

    @property
    def fusion_weights_(self) -> np.ndarray:
        """Learned member weights of ``merge="weighted"`` (they sum to one)."""
        layer = self.model_.get_layer("fusion_merge")
        if not isinstance(layer, WeightedSum):
            raise AttributeError("fusion_weights_ exists only with merge='weighted'.")
        return np.asarray(keras.ops.convert_to_numpy(layer.weights_softmax()))


_FUSION_PARAMETERS = (
    """\
    members : list of (str, keras.Model, str or callable)
        The member models by name: a ``keras.Model`` (copied with its weights),
        a path to a saved ``.keras``/``.h5`` model (Keras safe mode) or a
        callable taking the input shape and returning a ``keras.Model``.
        Nested in ``model_`` as layers ``"member_<name>"``.
    layer : int or str, default=-1
        Which layer's output each member contributes: -1 its output, -2 its
        penultimate layer (features), or a layer name.
    merge : {"concat", "add", "average", "multiply", "maximum", "weighted", \
"attention"}, default="concat"
        How members' outputs are combined (layer ``"fusion_merge"``).
        ``"weighted"`` learns one softmax weight per member
        (``fusion_weights_``); ``"attention"`` learns per-sample weights from
        the outputs themselves. All but ``"concat"`` need equal widths.
    projection : int, default=None
        Project each member's output to this many units (a ``Dense`` layer)
        before merging, so element-wise merges accept different widths.
    member_columns : list of list of int, default=None
        Multi-input data: the columns of X each member gets, one group per
        member. None gives every member all of X.
    freeze : bool, default=False
        Keep the members' weights fixed; only projections, merge and head train.
    head_hidden : tuple of int, default=()
        Hidden ``Dense`` layers (ReLU) between the merge and the output layer.
"""
    + TRAINING_PARAMETERS
)


class KerasFusionClassifier(_FusionMixin, KerasClassifier):
    _parameter_constraints: dict = {
        **KerasClassifier._parameter_constraints,
        **_FUSION_CONSTRAINTS,
    }
    __doc__ = f"""Several Keras models' outputs fused, then a head: a classifier.

    Parameters
    ----------
{_FUSION_PARAMETERS}

    Attributes
    ----------
    model_ : keras.Model
        The fitted fusion network.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    fusion_weights_ : ndarray of shape (n_members,)
        With ``merge="weighted"``: the learned member weights.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_iris
    >>> from skstack.compose import KerasFusionClassifier
    >>> def member(input_shape):
    ...     inputs = keras.Input(input_shape)
    ...     return keras.Model(inputs, keras.layers.Dense(4, "relu")(inputs))
    >>> X, y = load_iris(return_X_y=True)
    >>> fusion = KerasFusionClassifier(
    ...     [("a", member), ("b", member)], merge="weighted", epochs=2,
    ...     random_state=0)
    >>> round(float(fusion.fit(X, y).fusion_weights_.sum()), 5)
    1.0
    """


class KerasFusionRegressor(_FusionMixin, KerasRegressor):
    _parameter_constraints: dict = {
        **KerasRegressor._parameter_constraints,
        **_FUSION_CONSTRAINTS,
    }
    __doc__ = f"""Several Keras models' outputs fused, then a head: a regressor.

    Parameters
    ----------
{_FUSION_PARAMETERS}
{SCALE_TARGET_PARAMETER}
    Attributes
    ----------
    model_ : keras.Model
        The fitted fusion network.
    n_outputs_ : int
        Number of targets.
    fusion_weights_ : ndarray of shape (n_members,)
        With ``merge="weighted"``: the learned member weights.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_diabetes
    >>> from skstack.compose import KerasFusionRegressor
    >>> def member(input_shape):
    ...     inputs = keras.Input(input_shape)
    ...     return keras.Model(inputs, keras.layers.Dense(4, "relu")(inputs))
    >>> X, y = load_diabetes(return_X_y=True)
    >>> fusion = KerasFusionRegressor([("a", member), ("b", member)], epochs=2)
    >>> fusion.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    def __init__(
        self,
        members,
        *,
        layer=-1,
        merge="concat",
        projection=None,
        member_columns=None,
        freeze=False,
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
            members,
            layer=layer,
            merge=merge,
            projection=projection,
            member_columns=member_columns,
            freeze=freeze,
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
