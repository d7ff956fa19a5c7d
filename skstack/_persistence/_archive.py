"""``save``/``load``: an archive that loads without running code from the file.

The archive is a zip of

- ``estimator.skops``: the estimator, written with skops, whose loader builds
  only types it is told to trust; every Keras model in it is replaced by a
  :class:`KerasModelSlot`;
- ``keras/<i>.keras``: each Keras model in Keras's own format, loaded back in
  safe mode (no ``Lambda`` bytecode);
- ``manifest.json``: the format, the library versions that wrote it, where each
  model sits and the SHA-256 of every other file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import sys
import tempfile
import warnings
import zipfile
from importlib import metadata

from .._keras import keras_saving
from ..exceptions import ArchiveError, UntrustedTypesError, VersionMismatchWarning
from ._model_slots import KerasModelSlot, find_models, put_models_back
from ._trust import is_trusted

__all__ = ["load", "save"]

FORMAT = "skstack-archive"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ESTIMATOR = "estimator.skops"
PACKAGES = (
    "skstack",
    "scikit-learn",
    "numpy",
    "scipy",
    "skops",
    "keras",
    "tensorflow",
    "scikeras",
)


def _versions() -> dict:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _keras_saving():
    """skstack.keras's saving helpers, or None when Keras was never imported."""
    if "keras" not in sys.modules:
        return None  # no Keras model can exist in the process
    return keras_saving()


def save(estimator, path) -> None:
    """Save a fitted or unfitted estimator in skstack's safe archive format.

    Keras models inside it (in any wrapper, member or meta-learner) are written
    in the ``.keras`` format; everything else with `skops
    <https://skops.readthedocs.io>`_, whose loader builds only trusted types. A
    manifest records the library versions and a SHA-256 of every file. The
    archive is written to a temporary file first, so ``path`` never holds half
    an archive.

    Parameters
    ----------
    estimator : object
        The estimator to save: a stack, a Keras wrapper, a pipeline...
    path : str or path-like
        Where to write the archive (conventionally ``*.skstack``).

    Objects of your own (a model-building function, a custom estimator) are
    saved by name; :func:`load` builds them only when told to trust them.

    Raises
    ------
    TypeError
        If the estimator holds Keras objects other than models (an optimizer
        object as a parameter, say), which have no code-free form here; give
        them by name. :func:`joblib.dump` remains an option for trusted use.

    See Also
    --------
    load : Load the archive back.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.datasets import load_iris
    >>> import skstack
    >>> X, y = load_iris(return_X_y=True)
    >>> stack = skstack.KerasStackingClassifier(
    ...     [("lr", LogisticRegression(max_iter=500))],
    ...     final_estimator=LogisticRegression(), cv=3,
    ... ).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "stack.skstack")
    >>> skstack.save(stack, path)
    >>> (skstack.load(path).predict(X) == stack.predict(X)).all()
    np.True_
    """
    import skops.io

    saving = _keras_saving()
    models, others = (
        find_models(estimator, saving.is_keras_model) if saving else ([], [])
    )
    if others:
        listed = ", ".join(f"{type(obj).__name__} at {where}" for obj, where in others)
        raise TypeError(
            f"save: {type(estimator).__name__} holds Keras objects other than "
            f"models ({listed}), which have no code-free form. Give them by name "
            "(optimizer='adam', loss='mse'), or save with joblib.dump for use "
            "where the file is trusted."
        )
    slots = {
        id(model): KerasModelSlot(index) for index, (model, _) in enumerate(models)
    }
    # deepcopy with the models' ids already in the memo puts the slot wherever a
    # model was referenced, and copies nothing of the models themselves.
    try:
        skops_bytes = skops.io.dumps(copy.deepcopy(estimator, dict(slots)))
    except Exception as exc:
        raise TypeError(
            f"save: {type(estimator).__name__} holds an object skops cannot "
            f"write: {type(exc).__name__}: {exc}"
        ) from exc
    files = {ESTIMATOR: skops_bytes}
    entries = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, (model, where) in enumerate(models):
            model_path = os.path.join(scratch, f"{index}.keras")
            saving.write_model(model, model_path)
            with open(model_path, "rb") as handle:
                files[f"keras/{index}.keras"] = handle.read()
            entries.append({"file": f"keras/{index}.keras", "at": where})
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "versions": _versions(),
        "keras_models": entries,
        "sha256": {name: _sha256(data) for name, data in files.items()},
    }

    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    handle, partial = tempfile.mkstemp(dir=directory, suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            archive.writestr(MANIFEST, json.dumps(manifest, indent=2))
            for name, data in files.items():
                archive.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(partial, path)
    except BaseException:
        os.unlink(partial)
        raise


def _read_archive(path) -> tuple[dict, dict]:
    """The manifest and the files of an archive, checked against their hashes."""
    try:
        with zipfile.ZipFile(path) as archive:
            contents = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile as exc:
        raise ArchiveError(
            f"{path!r} is not a skstack archive (not a zip file)."
        ) from exc
    try:
        manifest = json.loads(contents.pop(MANIFEST))
        if manifest.get("format") != FORMAT:
            raise ValueError("wrong format name")
    except (KeyError, ValueError, AttributeError) as exc:
        raise ArchiveError(
            f"{path!r} is not a skstack archive (no valid {MANIFEST})."
        ) from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ArchiveError(
            f"{path!r} is in skstack archive format {manifest.get('format_version')}; "
            f"this skstack reads format {FORMAT_VERSION}."
        )
    expected = manifest.get("sha256", {})
    needed = {ESTIMATOR} | {
        entry.get("file") for entry in manifest.get("keras_models", [])
    }
    if not needed <= set(expected):
        raise ArchiveError(
            f"{path!r} is not a complete skstack archive: its manifest does not "
            f"list {sorted(map(str, needed - set(expected)))}."
        )
    unlisted = sorted(set(contents) - set(expected))
    missing = sorted(set(expected) - set(contents))
    changed = sorted(
        name
        for name in set(expected) & set(contents)
        if _sha256(contents[name]) != expected[name]
    )
    if unlisted or missing or changed:
        raise ArchiveError(
            f"{path!r} was modified after it was written (files changed: "
            f"{changed}, added: {unlisted}, removed: {missing}); refusing to load it."
        )
    return manifest, contents


def _warn_on_version_mismatch(saved: dict) -> None:
    installed = _versions()
    different = {
        package: (saved.get(package), installed.get(package))
        for package in PACKAGES
        if saved.get(package) != installed.get(package)
    }
    if different:
        listed = ", ".join(
            f"{package} {was} -> {now}" for package, (was, now) in different.items()
        )
        warnings.warn(
            f"The archive was written with other library versions than these "
            f"({listed}); predictions may differ or loading may fail.",
            VersionMismatchWarning,
            stacklevel=3,
        )


def load(path, *, trusted=None, custom_objects=None):
    """Load an estimator written by :func:`save`, running no code from the file.

    The archive's files must match the SHA-256 in its manifest; the estimator
    is built only from types skops trusts, skstack's and scikeras's own classes
    and functions, and those listed in ``trusted``; Keras models are loaded in
    safe mode.

    Parameters
    ----------
    path : str or path-like
        An archive written by :func:`save`.
    trusted : list of str, default=None
        More type names to trust (``"mypackage.models.build_model"``), after
        checking them: a model-building function of your own, say.
    custom_objects : dict, default=None
        Passed to :func:`keras.saving.load_model` for custom layers or losses
        of your own that are not registered with Keras.

    Returns
    -------
    estimator : object
        The estimator as saved, predicting as it did.

    Raises
    ------
    ArchiveError
        If the file is not a skstack archive, or was modified after it was
        written (a file changed, added or removed).
    UntrustedTypesError
        If the estimator needs a type that is not trusted; the types are listed.

    Warns
    -----
    VersionMismatchWarning
        If the archive was written with other versions of the libraries.

    See Also
    --------
    save : Write the archive.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.linear_model import LogisticRegression
    >>> import skstack
    >>> path = os.path.join(tempfile.mkdtemp(), "model.skstack")
    >>> skstack.save(LogisticRegression(C=0.5), path)
    >>> skstack.load(path)
    LogisticRegression(C=0.5)
    """
    import skops.io

    path = os.fspath(path)
    manifest, contents = _read_archive(path)
    _warn_on_version_mismatch(manifest.get("versions", {}))
    skops_bytes = contents[ESTIMATOR]
    # The types skops would not build by default: each must be trusted here.
    listed = skops.io.get_untrusted_types(data=skops_bytes)
    trusted = set(trusted or ())
    untrusted = [
        name for name in listed if name not in trusted and not is_trusted(name)
    ]
    if untrusted:
        raise UntrustedTypesError(
            f"{path!r} needs types that are not trusted: {untrusted}. If you trust "
            "them, pass them in load(..., trusted=[...])."
        )
    estimator = skops.io.loads(skops_bytes, trusted=listed)

    entries = manifest.get("keras_models", [])
    if not entries:
        return estimator
    saving = keras_saving()  # the archive holds Keras models

    models = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, entry in enumerate(entries):
            model_path = os.path.join(scratch, f"{index}.keras")
            with open(model_path, "wb") as handle:
                handle.write(contents[entry["file"]])
            try:
                models.append(saving.read_model(model_path, custom_objects))
            except Exception as exc:
                raise ArchiveError(
                    f"{path!r}: the Keras model at {entry['at']} could not be "
                    f"loaded in safe mode: {type(exc).__name__}: {exc}"
                ) from exc
    return put_models_back(estimator, models, {})
