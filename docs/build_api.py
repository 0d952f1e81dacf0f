"""Build the API reference of discuz-scraper from its docstrings, with pdoc.

    python docs/build_api.py                  # writes docs/api/ (not committed: build it when needed)
    python docs/build_api.py -o /tmp/api      # anywhere else

Every public module is documented, the package's own subpackages included (pdoc alone documents
only the names in ``discuz_scraper.__all__`` for the top package). Docstrings are reStructuredText
(``:class:`` and ``:meth:`` roles become links). Any warning pdoc raises (a module that does not
import, a reference it cannot read) makes the build fail with exit code 1, so CI keeps the docs
clean (``tests/test_docs.py``). Needs the ``docs`` extra: ``pip install -e ".[docs]"``.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pdoc
import pdoc.render

import discuz_scraper

HERE = Path(__file__).resolve().parent


def public_modules() -> list[str]:
    """``discuz_scraper`` and its direct public submodules (pdoc walks into subpackages itself).

    A submodule whose name is also in ``discuz_scraper.__all__`` (``export``) is left out: pdoc
    already adds it from the package, and naming it twice is a warning.
    """
    listed = set(discuz_scraper.__all__)
    children = [info.name for info in pkgutil.iter_modules(discuz_scraper.__path__, "discuz_scraper.")]
    public = [name for name in children if (tail := name.rsplit(".", 1)[1])[0] != "_" and tail not in listed]
    # pdoc walks into subpackages and would include private modules there (parsers._dom): a
    # negative pattern keeps every _-prefixed module out.
    return ["discuz_scraper", *sorted(public), r"!.*\._[^.]*$"]


def _walk(module: ModuleType) -> list[ModuleType]:
    found = [module]
    for info in pkgutil.iter_modules(getattr(module, "__path__", []), module.__name__ + "."):
        if not info.name.split(".")[-1].startswith("_"):
            found.extend(_walk(importlib.import_module(info.name)))
    return found


def prepare(modules: list[ModuleType]) -> None:
    """Work around two pdoc limits, on the imported objects only (no source file changes):

    - pdoc reads a module's ``__dict__``, not its PEP 562 ``__getattr__``: a name in ``__all__``
      that a module imports lazily (``contrib.scrapy.DiscuzRedisSpider``) is loaded first;
    - a ``NamedTuple``'s generated ``__new__`` belongs to no module, so pdoc cannot resolve the
      field annotations of its signature (``datetime | None``): it is attributed to its class's module.
    """
    for module in modules:
        for name in getattr(module, "__all__", []):
            if name not in vars(module):
                setattr(module, name, getattr(module, name))
        for value in list(vars(module).values()):
            if isinstance(value, type) and issubclass(value, tuple) and hasattr(value, "_fields"):
                new = value.__new__
                if getattr(new, "__module__", None) != value.__module__ and hasattr(new, "__code__"):
                    new.__module__ = value.__module__


def build(output: Path, *, show_source: bool = True) -> list[str]:
    """Render the docs into ``output``; the warnings pdoc raised, as text (empty = clean)."""
    pdoc.render.configure(
        docformat="restructuredtext",
        footer_text=f"discuz-scraper {discuz_scraper.__version__}",
        search=True,
        show_source=show_source,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prepare(_walk(discuz_scraper))
        pdoc.pdoc(*public_modules(), output_directory=output)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o", "--output", type=Path, default=HERE / "api", help="output folder (default: docs/api)"
    )
    args = parser.parse_args()
    problems = build(args.output)
    for problem in problems:
        print(problem, file=sys.stderr)
    found = f" with {len(problems)} warnings" if problems else ""
    print(f"API docs in {args.output / 'index.html'}{found}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
