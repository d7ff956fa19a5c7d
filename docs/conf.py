"""Sphinx configuration: numpydoc API pages, a sphinx-gallery of examples."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import skstack

DOCS = Path(__file__).parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

project = "skstack"
author = "the skstack developers"
copyright = "2026, the skstack developers"
release = version = skstack.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "_generated", "examples/README.rst"]
templates_path = ["_templates"]
html_theme = "pydata_sphinx_theme"
html_title = f"skstack {version}"
html_theme_options = {"navigation_with_keys": False}

# The API pages: one per public name, from docs/api.rst.
autosummary_generate = True

autodoc_typehints = "none"  # numpydoc's "Parameters" say it in words
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# Links from docstrings' "See Also" and :class: roles to scikit-learn, Keras,
# joblib need intersphinx inventories from the network; the docs build offline,
# so those names stay plain text.
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "plot_gallery": "True",
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" on each API page.
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skstack",),
}

RESULTS = DOCS.parent / "benchmarks" / "results"


def _markdown_tables(text: str) -> list[list[list[str]]]:
    """The pipe tables of a markdown text, as rows of cells (header first)."""
    tables, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= {"-", ":"} for cell in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def _rst_text(cell: str) -> str:
    """A markdown cell as reStructuredText: a word ending in ``_``
    (``fused_members_``) is text, not a link."""
    return re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", cell)


def write_benchmark_tables(name: str) -> None:
    """docs/_generated/<name>_tables.rst from a benchmark's measured results.

    The performance page includes it, so the figures it shows are the ones the
    benchmark wrote to ``benchmarks/results/<name>.{json,md}``, never typed by
    hand.
    """
    measured = json.loads((RESULTS / f"{name}.json").read_text())
    machine = measured["machine"]
    lines = [
        f"Measured with ``{measured['command']}`` on {machine['cpu_count']} cores "
        f"(Python {machine['python']}, scikit-learn {machine['scikit-learn']}).",
        "",
    ]
    for rows in _markdown_tables((RESULTS / f"{name}.md").read_text()):
        lines += [".. list-table::", "   :header-rows: 1", ""]
        for row in rows:
            cells = [_rst_text(cell) or " " for cell in row]
            lines.append(f"   * - {cells[0]}")
            lines += [f"     - {cell}" for cell in cells[1:]]
        lines.append("")
    target = DOCS / "_generated" / f"{name}_tables.rst"
    target.parent.mkdir(exist_ok=True)
    target.write_text("\n".join(lines))


write_benchmark_tables("harness")
write_benchmark_tables("member_forms")
write_benchmark_tables("realdata")
write_benchmark_tables("time_series")
write_benchmark_tables("serving")
write_benchmark_tables("scaling")
write_benchmark_tables("backends")


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out the ``set_*_request`` methods scikit-learn generates."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
