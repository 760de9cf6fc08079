"""How a backend is found by name: the registries' shared resolver.

Encoders, answer generators and article readers are each a base class and a registry (a dict
filled at import by a register function). A settings string names a backend three ways, tried
in this order:

1. a registered name (the built-ins register themselves the same way a plugin would);
2. an entry point of an installed package, in the group ``newsrag.<kind>s`` (as simonw/llm finds
   its plugins), e.g. in the plugin's ``pyproject.toml``::

       [project.entry-points."newsrag.generators"]
       mine = "my_package.module:MyGenerator"

3. a dotted path to the class, ``package.module:Class`` or ``package.module.Class`` (as txtai
   resolves its backends), for a class in your own code that no package installs.
"""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import Any, Callable, Iterable, TypeVar, cast

from .errors import NewsragError

__all__ = ["entry_points", "import_dotted", "registrar", "resolve_class"]

T = TypeVar("T")
C = TypeVar("C", bound=type)


def registrar(registry: dict[str, Any], attribute: str, name: str) -> Callable[[C], C]:
    """The class decorator every ``register_*`` returns: file the class under ``name`` in
    ``registry`` and tell the class its name (``cls.<attribute> = name``)."""
    def add(cls: C) -> C:
        setattr(cls, attribute, name)
        registry[name] = cls
        return cls
    return add


def entry_points(group: str) -> dict[str, metadata.EntryPoint]:
    """The installed entry points of ``group``, by name (none if the metadata cannot be read)."""
    try:
        return {ep.name: ep for ep in metadata.entry_points(group=group)}
    except Exception:  # a broken distribution's metadata must not stop the built-ins
        return {}


def import_dotted(spec: str) -> Any:
    """The object at ``package.module:Name`` or ``package.module.Name``, or None."""
    module_name, _, attr = spec.partition(":") if ":" in spec else spec.rpartition(".")
    if not module_name or not attr:
        return None
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError, TypeError):
        return None


def resolve_class(spec: str, registry: dict[str, type[T]], base: type, group: str,
                  what: str, also: Iterable[str] = ()) -> type[T]:
    """The ``base`` subclass that ``spec`` names: a ``registry`` name, an entry point in
    ``group`` (loaded once, then kept in the registry) or a dotted path. Anything else is a
    :class:`NewsragError` listing the names that would work (``also``: names the caller handles
    itself, such as ``extractive``)."""
    if spec in registry:
        return registry[spec]
    found = entry_points(group)
    if spec in found:
        try:
            cls = found[spec].load()
        except Exception as exc:
            raise NewsragError(f"{what} {spec!r}: its plugin ({found[spec].value}) failed to "
                               f"load: {type(exc).__name__}: {exc}") from None
        if isinstance(cls, type) and issubclass(cls, base):
            registry[spec] = cast("type[T]", cls)
            return registry[spec]
        raise NewsragError(f"{what} {spec!r}: the plugin's entry point {found[spec].value} is "
                           f"not a {base.__name__} subclass")
    cls = import_dotted(spec)
    if isinstance(cls, type) and issubclass(cls, base):
        return cast("type[T]", cls)
    names = ", ".join(sorted({*also, *registry, *found}))
    raise NewsragError(f"unknown {what} {spec!r}: use one of {names} or the dotted path of a "
                       f"{base.__name__} subclass (package.module:Class)")
