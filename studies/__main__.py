"""``python -m studies``: list the study modules (those defining a ``STUDY`` object of :mod:`studies.engine`).

``python -m studies NAME [OPTIONS...]`` runs one of them (same as ``python -m studies.NAME``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from types import ModuleType

import studies


def discover() -> dict[str, ModuleType]:
    """Import every non-private module of the ``studies`` package; keep those defining a study (``STUDY``)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(studies.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        mod = importlib.import_module(f"studies.{info.name}")
        from studies.engine import Study

        if isinstance(getattr(mod, "STUDY", None), Study) and callable(getattr(mod, "main", None)):
            found[info.name] = mod
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    mods = discover()
    if argv and argv[0] not in ("-h", "--help"):
        name = argv[0]
        if name not in mods:
            print(f"unknown study {name!r}; available: {', '.join(mods) or 'none'}", file=sys.stderr)
            return 2
        return mods[name].main(argv[1:]) or 0
    width = max((len(n) for n in mods), default=0)
    print("Available studies (run: python -m studies.NAME [--help]):")
    for name, mod in mods.items():
        print(f"  {name:<{width}}  {mod.STUDY.description.strip().splitlines()[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
