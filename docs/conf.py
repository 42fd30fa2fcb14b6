"""Sphinx configuration for the skhsi documentation.

Build with ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
Set ``SKHSI_DOCS_INTERSPHINX=1`` to link to the numpy, scipy, scikit-learn,
torch, skorch and matplotlib documentation (needs network access).
"""

import os
import re
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import skhsi  # noqa: E402

# -- project -----------------------------------------------------------------------
project = "skhsi"
author = "skhsi developers"
copyright = "skhsi developers"
release = skhsi.__version__
version = ".".join(release.split(".")[:2])

# -- extensions --------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store",
                    "**/sg_execution_times.rst"]
root_doc = "index"
nitpicky = False
default_role = "literal"

# -- autodoc / autosummary / numpydoc ---------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Parameter types are free text ("array-like of shape (n, C)"): no cross-references.
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# -- intersphinx: off by default (the build must work offline) --------------------
intersphinx_mapping = {}
if os.environ.get("SKHSI_DOCS_INTERSPHINX", "0") not in ("", "0", "false", "False"):
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "scipy": ("https://docs.scipy.org/doc/scipy", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
        "skorch": ("https://skorch.readthedocs.io/en/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "joblib": ("https://joblib.readthedocs.io/en/stable", None),
    }

# -- sphinx-gallery -----------------------------------------------------------------
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings(
    "ignore", category=UserWarning,
    message="Matplotlib is currently using agg, which is a non-GUI backend",
)

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py|had_pictures\.py",
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "show_memory": False,
    "image_scrapers": ("matplotlib",),
    "doc_module": ("skhsi",),
    "backreferences_dir": "generated/backreferences",
}

# -- the gallery of the development scenes ----------------------------------------
# The real anomaly scenes are not part of skhsi: when they are beside the
# repository (or in SKHSI_SHARED_DATA), the gallery page shows what `skhsi
# detect` draws for each, made here by examples/had_pictures.py; otherwise
# the page says how to make it.
_HAD = Path(os.environ.get("SKHSI_SHARED_DATA", ROOT.parent / "shared" / "data")) / "had"
_GENERATED = Path(__file__).resolve().parent / "_generated"
_GENERATED.mkdir(exist_ok=True)
if sorted(_HAD.glob("*.mat")):
    import runpy

    runpy.run_path(str(ROOT / "examples" / "had_pictures.py"))["main"](
        ["--data", str(_HAD), "--out", str(_GENERATED / "gallery"),
         "--rst", str(_GENERATED / "had_gallery.rst"), "--image-prefix", "/_generated/gallery"])
else:
    (_GENERATED / "had_gallery.rst").write_text(
        f".. note::\n\n   The scenes were not found when these pages were built (looked "
        f"for ``{_HAD}``).\n   Make the figures with ``python examples/had_pictures.py "
        "--data DIR``.\n")

# -- HTML -----------------------------------------------------------------------------
try:
    import pydata_sphinx_theme  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    html_theme = "alabaster"
    html_theme_options = {}
else:
    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "header_links_before_dropdown": 7,
    }
html_title = f"skhsi {release}"
html_static_path = ["_static"]
html_show_sourcelink = False


# -- docstring tweaks ---------------------------------------------------------------
_PARAM_LINE = re.compile(r"^(\s*[\w*, ]+ : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\w\\])([A-Za-z]\w*_)(?=[\s,.;:)\]]|$)")
_LITERAL = re.compile(r"(``.*?``|`[^`]*`)")
_FIELD_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Receives",
                   "Attributes", "Raises", "Warns"}


def _escape_outside_literals(text):
    parts = _LITERAL.split(text)
    return "".join(part if i % 2 else
                   _TRAILING_UNDERSCORE.sub(lambda m: m.group(1)[:-1] + "\\_", part)
                   for i, part in enumerate(parts))


def _escape_fitted_names_in_types(app, what, name, obj, options, lines):
    """Escape fitted-attribute names (``n_features_in_``) in field lists.

    numpydoc copies the type text of ``name : type`` lines, the type-only
    lines of ``Returns`` and the descriptions into reST as they are, where a
    bare word ending in ``_`` is a hyperlink reference. Inside the field
    sections (Parameters, Returns, Attributes, ...) such words are escaped,
    except in the names themselves and inside literals and roles.
    """
    section = None
    for i, line in enumerate(lines):
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        stripped = line.strip()
        if stripped and following and set(following) == {"-"}:
            section = stripped
            continue
        if section not in _FIELD_SECTIONS or not stripped or set(stripped) == {"-"}:
            continue
        match = _PARAM_LINE.match(line)
        if match:
            head, kind = match.groups()
            lines[i] = head + _escape_outside_literals(kind)
        else:
            lines[i] = _escape_outside_literals(line)


_FOREIGN_ROLE = re.compile(r":(?:ref|term|doc):`([^`<]*?)(?:\s*<([^`>]*)>)?`")


def _unlink_foreign_refs(app, what, name, obj, options, lines):
    """Turn ``:ref:``/``:term:`` roles of inherited scikit-learn docstrings into text.

    Methods inherited from scikit-learn (``get_params``, ``set_output``, ...)
    point at labels of scikit-learn's own documentation, which this build
    does not have.
    """
    target = getattr(obj, "fget", obj)
    module = getattr(target, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    def text(match):
        title, label = match.group(1).strip(), match.group(2)
        if label is None and title.startswith("sphx_glr_"):
            return "scikit-learn's example"
        return title or label

    for i, line in enumerate(lines):
        lines[i] = _FOREIGN_ROLE.sub(text, line)


def setup(app):
    # Before numpydoc (priority 500) reformats the docstring.
    app.connect("autodoc-process-docstring", _escape_fitted_names_in_types, priority=100)
    app.connect("autodoc-process-docstring", _unlink_foreign_refs, priority=100)
