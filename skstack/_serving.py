"""``to_keras`` and ``export``: a fitted estimator as one graph, for serving.

Keras-free until called: the graph is built by :mod:`skstack.keras`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sklearn.utils.validation import check_is_fitted

from . import _keras


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote and how it was checked (its fields).

    Parameters
    ----------
    path : pathlib.Path
        The file (``.keras``, ``.onnx``) or folder (SavedModel) written.
    format : str
        ``"keras"``, ``"tf_saved_model"`` or ``"onnx"``.
    inputs : dict
        The graph's inputs: name -> dtype (``{"X": "float64"}``, float32
        for an estimator fitted on float32 data, or one entry per column for
        an estimator fitted on a DataFrame).
    output : str
        The estimator's method the graph computes: ``"predict_proba"``,
        ``"predict"`` or ``"transform"``.
    n_checked : int
        Rows run through the loaded file and the estimator.
    max_abs_difference : float
        The largest difference between the two on those rows.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> import skstack
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    >>> folder = Path(tempfile.mkdtemp())
    >>> result = skstack.export(Ridge().fit(X, y), folder / "ridge.keras")
    >>> result.format, result.inputs, result.output, result.n_checked
    ('keras', {'X': 'float64'}, 'predict', 256)
    """

    path: Path
    format: str
    inputs: dict
    output: str
    n_checked: int
    max_abs_difference: float


def to_keras(estimator):
    """A fitted estimator as one Keras model: raw features in, its output out.

    Works for a skstack stack, a :class:`~skstack.keras.KerasClassifier` or
    :class:`~skstack.keras.KerasRegressor` (chains and fusions included), a
    :class:`~skstack.features.KerasFeatureExtractor`, a linear scikit-learn
    model (``LogisticRegression``, ``Ridge``...), and a ``Pipeline`` of
    supported transformers ending in any of these. Supported transformers:
    ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``,
    numeric ``SimpleImputer``, ``OneHotEncoder`` and ``OrdinalEncoder``
    (numbers or text, unknown categories handled), ``FunctionTransformer()``,
    ``KerasFeatureExtractor``, and ``ColumnTransformer`` of them (remainder
    ``"drop"`` or ``"passthrough"``). Preprocessing and linear models compute
    in float64, as scikit-learn does; Keras networks in their own dtype.

    Parameters
    ----------
    estimator : estimator
        The fitted estimator.

    Returns
    -------
    model : keras.Model
        ``predict_proba`` for a classifier (``(n_samples, n_classes)``), the
        predictions for a regressor (``(n_samples, n_outputs)``), the features
        for a transformer. An estimator fitted on a DataFrame takes one named
        ``(n_samples, 1)`` input per column it reads (numbers, text as
        strings), as a serving client sends a record; otherwise one input
        ``"X"``. Numbers are float64, or float32 where the estimator was
        fitted on float32 (a skstack stack or wrapper, or a ``Pipeline``
        starting with one after scalers).

    Raises
    ------
    TypeError
        If a step, member or meta-learner has no Keras form; the message
        names it and says what is supported.

    See Also
    --------
    export : Write the graph to a serving format and check it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> import skstack
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> pipeline = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    >>> model = skstack.to_keras(pipeline)
    >>> bool(np.allclose(model.predict_on_batch(X), pipeline.predict_proba(X)))
    True
    """
    check_is_fitted(estimator)
    return _keras.to_keras(estimator)


def export(estimator, path, *, format="keras", X_check=None, opset=None):
    """Write a fitted estimator for serving, load it back and check it.

    The estimator's graph (:func:`to_keras`) is written in ``format``, loaded
    back in that format's own runtime (Keras, TensorFlow, onnxruntime) and run
    on the check rows; it is put at ``path`` only if its outputs equal the
    estimator's to float32 rounding (1e-5).

    Parameters
    ----------
    estimator : estimator
        A fitted estimator with a Keras form (see :func:`to_keras`).
    path : str or path-like
        Where to write: a ``.keras`` file, a SavedModel folder, an ``.onnx``
        file. What is there is replaced.
    format : {"keras", "tf_saved_model", "onnx"}, default="keras"
        ``"keras"``: Keras's own file, loaded with ``keras.saving.load_model``
        after ``import skstack.keras`` (its layers). ``"tf_saved_model"``: a
        TensorFlow SavedModel whose ``serve`` function (and
        ``serving_default`` signature) takes the named inputs; it loads with
        TensorFlow alone. ``"onnx"``: an ONNX model for onnxruntime (needs
        ``pip install 'skstack[export]'``).
    X_check : array-like or DataFrame, default=None
        Rows to check the written file on, as the estimator takes them.
        Default: 256 drawn rows (random numbers; for encoded columns, known
        categories and an unknown one). Give real rows for a real check.
    opset : int, default=None
        The ONNX opset (17 by default).

    Returns
    -------
    result : ExportResult
        The path, the graph's inputs and output, and the largest difference
        seen on the check rows.

    Raises
    ------
    TypeError
        If the estimator has no Keras form; the message names the part.
    ValueError
        If the loaded file disagrees with the estimator; nothing is written.
    ImportError
        If ``format="onnx"`` and tf2onnx, onnx or onnxruntime is missing.

    See Also
    --------
    to_keras : The graph itself.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> import skstack
    >>> X, y = np.arange(20.0).reshape(10, 2), np.arange(10) % 2
    >>> model = LogisticRegression().fit(X, y)
    >>> path = Path(tempfile.mkdtemp()) / "model.keras"
    >>> result = skstack.export(model, path, X_check=X)
    >>> path.exists(), result.max_abs_difference < 1e-12
    (True, True)
    """
    check_is_fitted(estimator)
    facts = _keras.export(estimator, path, format, X_check, opset)
    return ExportResult(**facts)
