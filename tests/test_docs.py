"""The documentation covers the public API: reference entries and examples."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"
PUBLIC_MODULES = [
    "skstack",
    "skstack.keras",
    "skstack.compose",
    "skstack.features",
    "skstack.ensemble",
    "skstack.exceptions",
]


def _public_names():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not name.startswith("__"):
                yield module_name, name, getattr(module, name)


def _api_reference() -> dict[str, set[str]]:
    """The names docs/api.rst lists under each ``.. currentmodule::``."""
    listed: dict[str, set[str]] = {}
    module = None
    in_autosummary = False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif in_autosummary and re.match(r"^   [A-Za-z_]\w*$", line):
            listed.setdefault(module, set()).add(line.strip())
        elif line and not line.startswith(" "):
            in_autosummary = False
    return listed


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(module_name):
    listed = _api_reference().get(module_name, set())
    public = {name for module, name, _ in _public_names() if module == module_name}
    assert public - listed == set(), "public names missing from docs/api.rst"
    assert listed - public == set(), "docs/api.rst lists names that are not public"


@pytest.mark.parametrize(
    ("module_name", "name", "obj"),
    list(_public_names()),
    ids=[f"{module}.{name}" for module, name, _ in _public_names()],
)
def test_every_public_name_has_a_numpydoc_docstring_with_examples(
    module_name, name, obj
):
    doc = inspect.getdoc(obj) or ""
    sections = set(re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, flags=re.MULTILINE))
    assert "Examples" in sections, f"{module_name}.{name} has no Examples section"
    assert ">>> " in doc.split("Examples\n--------", 1)[1]
    documented_call = inspect.isfunction(obj) or (
        inspect.isclass(obj) and not issubclass(obj, (Warning, Exception))
    )
    if documented_call and inspect.signature(obj).parameters:
        assert "Parameters" in sections, f"{module_name}.{name}: no Parameters"


def test_every_user_guide_page_is_in_the_table_of_contents():
    index = (DOCS / "index.rst").read_text()
    pages = sorted(path.stem for path in (DOCS / "user_guide").glob("*.rst"))
    assert [page for page in pages if f"user_guide/{page}" not in index] == []


def test_dunder_public_names_are_named_in_the_api_reference():
    text = (DOCS / "api.rst").read_text()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                assert f"``{module_name}.{name}``" in text, (module_name, name)
