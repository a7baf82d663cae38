"""Private copies of the implementation's modules, whose imports see the virtual standard library.

``PrivateModules(roots, virtual)`` loads each module named by *roots* (a package name covers
its submodules) from its source as a new module object that is not in ``sys.modules``. Its
``__builtins__`` carries a private ``__import__``: ``threading``, ``_thread``, ``queue``,
``time``, ``datetime`` and ``concurrent.futures`` resolve to *virtual*, the roots' modules to
their private copies (relative imports included), anything else to the real module. It
covers every import statement form, ``from x import y`` and imports inside functions, since
functions look names up in their module's builtins. Objects the module creates at import
time (class-level queues and locks) are therefore virtual too, and fresh for every
``PrivateModules``: nothing is shared between two sessions.

Not covered: ``importlib.import_module`` and ``sys.modules[...]`` lookups made by the
implementation (they return real modules), and modules outside *roots* (a helper module
that uses ``threading`` must be under a root, or it gets the real one).

With ``deterministic_hash`` set, classes the private modules define that hash by identity
hash by serial number instead (``sim.interpose.stdlib.serial_hash``): sets of the
implementation's objects then iterate in an order that does not depend on memory addresses.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib.machinery import ModuleSpec, PathFinder
from types import CodeType, ModuleType
from typing import Any

__all__ = ["PrivateModules"]

_ABSENT = object()
_code_cache: dict[str, CodeType] = {}  # origin path -> compiled module body


def _find_spec(name: str) -> ModuleSpec:
    """The spec of *name* without importing (executing) any of its parent packages."""
    parts = name.split(".")
    spec = importlib.util.find_spec(parts[0])
    for i in range(1, len(parts)):
        if spec is None or spec.submodule_search_locations is None:
            break
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return spec


class PrivateModules(Mapping[str, ModuleType]):
    """One set of private module copies; ``mods["pkg.mod"]`` loads on first use."""

    def __init__(
        self,
        roots: Sequence[str],
        virtual: Mapping[str, ModuleType] | None = None,
        class_hook: Callable[[type], None] | None = None,
    ) -> None:
        if isinstance(roots, str):
            raise TypeError("roots must be a sequence of module names, not one string")
        self.roots = tuple(roots)
        self.virtual = dict(virtual or {})
        self.modules: dict[str, ModuleType] = {}
        self.builtins: dict[str, Any] = dict(vars(builtins))
        self.builtins["__import__"] = self._import
        if class_hook is not None:
            build_class = builtins.__build_class__

            def __build_class__(*args: Any, **kwargs: Any) -> Any:
                cls = build_class(*args, **kwargs)
                if isinstance(cls, type):
                    class_hook(cls)
                return cls

            self.builtins["__build_class__"] = __build_class__

    # Mapping ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> ModuleType:
        return self.load(name)

    def __iter__(self) -> Any:
        return iter(self.modules)

    def __len__(self) -> int:
        return len(self.modules)

    # loading ------------------------------------------------------------------------------
    def owns(self, name: str) -> bool:
        return any(name == r or name.startswith(r + ".") for r in self.roots)

    def load(self, name: str) -> ModuleType:
        """The module *name* as the private modules see it: virtual, private or real."""
        found = self.virtual.get(name) or self.modules.get(name)
        if found is not None:
            return found
        if not self.owns(name):
            return importlib.import_module(name)
        parent, _, child = name.rpartition(".")
        parent_module = self.load(parent) if parent and self.owns(parent) else None
        spec = _find_spec(name)
        module = importlib.util.module_from_spec(spec)
        module.__builtins__ = self.builtins  # type: ignore[attr-defined]
        self.modules[name] = module
        # While its body runs, the copy stands in sys.modules for the real module: what the
        # body calls may look its own module up there (``@dataclass`` does, to read string
        # annotations under ``from __future__ import annotations``). The real entry, if any,
        # is put back at once, so the copy is never seen from outside.
        real = sys.modules.get(name, _ABSENT)
        sys.modules[name] = module
        try:
            exec(self._code(spec, name), vars(module))
        except BaseException:
            del self.modules[name]
            raise
        finally:
            if real is _ABSENT:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = real  # type: ignore[assignment]
        if parent_module is not None:
            setattr(parent_module, child, module)
        return module

    def _code(self, spec: ModuleSpec, name: str) -> CodeType:
        key = spec.origin or name
        code = _code_cache.get(key)
        if code is None:
            loader: Any = spec.loader
            if not hasattr(loader, "get_code") and spec.origin:  # e.g. pytest's rewriting hook
                loader = importlib.machinery.SourceFileLoader(name, spec.origin)
            code = loader.get_code(name)
            if code is None:
                raise ImportError(f"{name}: no source or byte code to load privately", name=name)
            _code_cache[key] = code
        return code

    def _import(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: Sequence[str] | None = (),
        level: int = 0,
    ) -> ModuleType:
        if level > 0:
            package = (globals or {}).get("__package__") or ""
            bits = package.rsplit(".", level - 1)
            if len(bits) < level:
                raise ImportError("attempted relative import beyond top-level package")
            absolute = f"{bits[0]}.{name}" if name else bits[0]
        else:
            absolute = name
        top = absolute.partition(".")[0]
        mine = self.owns(absolute) or absolute in self.virtual or top in self.virtual
        if not mine and level == 0 and not self.owns(top):
            return builtins.__import__(name, globals, locals, fromlist or (), 0)
        module = self.load(absolute)
        if fromlist:
            for item in fromlist:
                if item != "*" and not hasattr(module, item) and hasattr(module, "__path__"):
                    sub = f"{absolute}.{item}"
                    if self.owns(sub):
                        self.load(sub)
            return module
        if level == 0:
            return self.load(top)
        return self.load(absolute[: len(absolute) - len(name) + len(name.partition(".")[0])])
