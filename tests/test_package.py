import os
import subprocess
import sys

import keras
import pytest

import skstack
from skstack import _cli


def test_core_imports_without_keras():
    code = (
        "import sys, skstack, skstack.utils._compat; "
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_stack_of_scikit_learn_members_never_imports_tensorflow():
    # The default meta-learner is scikit-learn's; Keras is reached only for
    # Keras members, model_ and exports.
    code = (
        "import sys\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from skstack import KerasStackingClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "stack = KerasStackingClassifier([('lr', LogisticRegression(max_iter=500))])\n"
        "stack.fit(X, y).predict(X[:3])\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_is_exported():
    assert "__version__" in skstack.__all__
    assert skstack.__version__.count(".") >= 2


def test_keras_keeps_its_own_pickling_after_import():
    import keras
    from keras.src.saving.keras_saveable import KerasSaveable

    import skstack.keras  # noqa: F401

    assert keras.Model.__reduce__ is KerasSaveable.__reduce__
    assert "__deepcopy__" not in vars(keras.Model)


def test_demo_prints_and_returns_its_scores(capsys):
    result = _cli.demo("breast_cancer", epochs=5, cv=3, random_state=0)
    out = capsys.readouterr().out
    assert set(result["members"]) == {"mlp_wide", "mlp_deep", "logreg"}
    for name, (oof, held_out) in result["members"].items():
        assert f"{name:<10} {oof:>16.4f} {held_out:>13.4f}" in out
        assert 0.8 < oof <= 1 and 0.8 < held_out <= 1
    assert f"{result['accuracy']:>13.4f}" in out
    assert result["accuracy"] > 0.9
    assert result["n_train"] + result["n_test"] == 569
    assert result["fit_seconds"] > 0


def test_the_demo_refuses_a_backend_it_cannot_switch_to(capsys):
    # Keras runs on its backend in this process already.
    other = "jax" if keras.backend.backend() != "jax" else "tensorflow"
    with pytest.raises(SystemExit) as raised:
        _cli.main(["demo", "--backend", other])
    assert raised.value.code == 2
    error = capsys.readouterr().err
    assert f"Keras already runs on {keras.backend.backend()}" in error


def test_command_line_entry_point_runs_the_demo(capsys):
    assert _cli.main(["demo", "--dataset", "wine", "--epochs", "2", "--cv", "2"]) == 0
    assert "dataset: wine" in capsys.readouterr().out


def _import_statements(path):
    """``(module, names)`` of each import in ``path``, anywhere in it: the
    absolute module, and the names a ``from`` import takes from it."""
    import ast
    from pathlib import Path

    package = ".".join(Path(path).relative_to(Path(skstack.__file__).parents[1]).parts)
    package = package.removesuffix(".py").rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            yield from ((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            yield base, [alias.name for alias in node.names]


def _imported_modules(path):
    """Absolute names of the modules ``path`` imports, anywhere in it."""
    names = set()
    for base, taken in _import_statements(path):
        names.add(base)
        names.update(f"{base}.{name}" for name in taken)
    return names


CORE_PACKAGES = ("ensemble", "_persistence", "utils")


def test_layers_import_only_downward():
    """core <- keras <- compose, features: no module imports a layer above it.

    The core is ``skstack``'s own modules and its ``ensemble``, ``_persistence``
    and ``utils`` packages.
    """
    from pathlib import Path

    root = Path(skstack.__file__).parent
    keras_names = ("keras", "tensorflow", "scikeras", "skstack.keras")
    above_keras = ("skstack.compose", "skstack.features")
    packages = {path.parent.name for path in root.glob("*/__init__.py")}
    assert packages == {*CORE_PACKAGES, "keras", "compose", "features"}, packages
    for path in sorted(root.rglob("*.py")):
        imported = _imported_modules(path)
        layer = path.relative_to(root).parts
        in_core = len(layer) == 1 or layer[0] in CORE_PACKAGES
        if in_core and path.name not in ("_keras.py", "_cli.py"):
            # The core reaches Keras only through skstack._keras's lazy imports.
            bad = {n for n in imported if n.startswith(keras_names + above_keras)}
        elif layer[0] == "keras":
            bad = {n for n in imported if n.startswith(above_keras)}
        else:
            continue
        assert not bad, f"{path.relative_to(root)} imports {sorted(bad)}"


def test_the_command_hides_tensorflows_start_up_log_and_shows_progress():
    command = [sys.executable, "-m", "skstack", "demo", "--dataset", "iris"]
    command += ["--epochs", "1", "--cv", "2", "--backend", "tensorflow"]
    # --backend wins over the configured one.
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    run = subprocess.run(
        command, capture_output=True, text=True, check=True, env=environment
    )
    assert "dataset: iris" in run.stdout
    assert "on Keras's tensorflow backend" in run.stdout
    # TensorFlow's C++ lines (I0000/E0000 prefixes, oneDNN, cuInit) are hidden.
    for line in run.stderr.splitlines():
        assert not line.startswith(("I0000", "E0000", "W0000")), line
        assert "oneDNN" not in line and "cuInit" not in line, line
    assert "stacking fits" in run.stderr  # the progress bar over the fits


def test_no_import_circle_among_skstack_modules():
    """Every import of a skstack module by another, function-level ones
    included, points one way: the modules form no cycle."""
    from pathlib import Path

    root = Path(skstack.__file__).parent

    def name_of(path):
        parts = path.relative_to(root.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name_of(path): path for path in root.rglob("*.py")}

    def imported_by(name, path):
        """skstack modules ``path`` imports; ``from package import module``
        imports the module, not the package's other names."""
        found = set()
        for base, taken in _import_statements(path):
            submodules = {f"{base}.{n}" for n in taken if f"{base}.{n}" in modules}
            found |= submodules
            if len(submodules) < len(taken) or not taken:
                found.add(base)
        return {imported for imported in found if imported in modules} - {name}

    graph = {name: imported_by(name, path) for name, path in modules.items()}
    # Depth-first search; a module met again on the current path closes a cycle.
    done, path = set(), []

    def visit(name):
        if name in path:
            cycle = path[path.index(name) :] + [name]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


# What the engine must not name: skstack's and Keras's wrappers' own parameters
# and the methods and attributes that only those wrappers have. Parameters that
# scikit-learn's estimators share (random_state, verbose, warm_start, shuffle,
# model, loss) are the engine's to read.
_GENERIC_PARAMETERS = {
    "random_state",
    "verbose",
    "warm_start",
    "shuffle",
    "model",
    "loss",
}
_WRAPPER_ONLY = {"fit_folds", "fold_fusion_blocker", "best_epoch_", "history_"}


def _keras_wrapper_names() -> set[str]:
    import keras

    from skstack.keras import KerasClassifier, dense_model

    params = set(KerasClassifier(dense_model).get_params(deep=False))
    params |= set(keras.wrappers.SKLearnClassifier(model=None).get_params())
    return (params - _GENERIC_PARAMETERS) | _WRAPPER_ONLY


def test_the_engine_names_no_keras_wrapper_parameter():
    """skstack/ensemble/ reads no wrapper parameter, attribute or method by
    name (``x.epochs``, ``epochs=``, ``"epochs"``, ``f"{step}__epochs"``):
    members bring their fitting strategy (``_strategy.py``)."""
    import ast
    from pathlib import Path

    names = _keras_wrapper_names()
    assert {"epochs", "early_stopping", "fit_kwargs"} <= names
    engine = Path(skstack.__file__).parent / "ensemble"
    found = []
    for path in sorted(engine.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            used = []
            if isinstance(node, ast.Attribute):
                used = [node.attr]
            elif isinstance(node, ast.keyword) and node.arg:
                used = [node.arg]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                used = [node.value.rsplit("__", 1)[-1]]
            used = [name for name in used if name in names]
            found += [f"{path.name}:{node.lineno} {name}" for name in used]
    assert not found, found


def test_every_engine_module_has_its_test_module():
    from pathlib import Path

    engine = Path(skstack.__file__).parent / "ensemble"
    tests = Path(__file__).parent / "ensemble"
    missing = [
        path.name
        for path in sorted(engine.glob("_*.py"))
        if path.name != "__init__.py" and not (tests / f"test{path.stem}.py").exists()
    ]
    assert not missing, f"no tests/ensemble/test_<module>.py for {missing}"
