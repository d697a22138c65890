"""An application, described once: its name, its entities and its migrations.

An application is a Python package whose `application` attribute is an
`Application`; its `entities` subpackage holds one package per entity (its
contract in `__init__.py`, its rules in `rules.py`) and its
`migrations/versions` folder the Alembic revisions. Every function, tool and
the infrastructure find it the same way (`load_application`): the module named
by `QUEUEFIRST_APPLICATION` (`myapp`, or `myapp:application`), else the one named
by `[tool.queuefirst] application` in the project's `pyproject.toml`.

A worker asks for its own entity only, rules and all (`load_entity(name,
rules=True)`), so its image needs no other entity's package; the api, the
console and the infra discover every entity's contract (the whole registry)
and no entity's rules, which their images do not carry.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass
from pathlib import Path

from queuefirst.model.entity import Entity
from queuefirst.model.registry import Registry, RegistryError

ENV_VARIABLE = "QUEUEFIRST_APPLICATION"
ENTITIES = "entities"
RULES = "rules"  # the module of an entity's package holding its rules
MIGRATIONS = "migrations"


class ApplicationError(RuntimeError):
    """No application can be found, or it is not laid out as the kit expects."""


@dataclass(frozen=True)
class Application:
    """`name` prefixes every resource (queues, functions, images, stacks);
    `package` is the Python package that holds the entities and migrations;
    `schema_baseline` is the last revision applied before any image depended on
    the schema: the expand/contract check starts after it."""

    name: str
    package: str
    schema_baseline: str | None = None

    @property
    def entities_package(self) -> str:
        return f"{self.package}.{ENTITIES}"

    @property
    def package_dir(self) -> Path:
        module = importlib.import_module(self.package)
        if module.__file__ is None:
            raise ApplicationError(f"{self.package} is a namespace package; give it an __init__.py")
        return Path(module.__file__).resolve().parent

    @property
    def migrations_dir(self) -> Path:
        """Where the application's Alembic revisions live (created when missing)."""
        return self.package_dir / MIGRATIONS / "versions"

    def entity_names(self) -> list[str]:
        """The entity modules present, sorted: the one list of the app's entities."""
        try:
            package = importlib.import_module(self.entities_package)
        except ModuleNotFoundError as error:
            raise ApplicationError(f"{self.entities_package} cannot be imported: {error}") from error
        return entity_modules(*package.__path__)

    def load_entity(self, name: str, *, rules: bool = False) -> Entity:
        """Import one entity's contract (and, with `rules`, its rules), nothing of the others."""
        contract = f"{self.entities_package}.{name}"
        logic = f"{contract}.{RULES}"
        loaded_before = logic in sys.modules
        module = importlib.import_module(contract)
        if not rules and not loaded_before and logic in sys.modules:
            raise RegistryError(
                f"{contract} imports its rules ({logic}): a contract must stand without them, "
                "since the api's and the console's images carry no rules"
            )
        found = [value for value in vars(module).values() if isinstance(value, Entity)]
        own = [entity for entity in found if entity.name == name]
        if len(own) != 1:
            raise RegistryError(
                f"{module.__name__} must declare exactly one Entity named {name!r}; "
                f"found {[entity.name for entity in found] or 'none'}"
            )
        if rules and hasattr(module, "__path__") and importlib.util.find_spec(logic) is not None:
            importlib.import_module(logic)  # (a module entity, not a package, has a contract alone)
        return own[0]

    def registry(self, *, rules: bool = False) -> Registry:
        """Every entity's contract (and, with `rules`, its rules), checked as one graph."""
        return Registry(self.name, [self.load_entity(name, rules=rules) for name in self.entity_names()])


def entity_modules(*directories: str | Path) -> list[str]:
    """Entity names in an entities folder: every package (or module) not starting with `_`."""
    found = pkgutil.iter_modules([str(d) for d in directories])
    return sorted(info.name for info in found if not info.name.startswith("_"))


def load_application(spec: str | None = None, *, project: Path | None = None) -> Application:
    """The application named by `spec`, `QUEUEFIRST_APPLICATION` or pyproject.toml."""
    spec = spec or os.environ.get(ENV_VARIABLE) or _from_pyproject(project or Path.cwd())
    if not spec:
        raise ApplicationError(
            f"no application: set {ENV_VARIABLE}=<package> or add [tool.queuefirst] "
            'application = "<package>" to pyproject.toml'
        )
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise ApplicationError(f"application {spec!r} cannot be imported: {error}") from error
    application = getattr(module, attribute or "application", None)
    if not isinstance(application, Application):
        raise ApplicationError(f"{module_name}.{attribute or 'application'} is not a queuefirst Application")
    return application


def _from_pyproject(start: Path) -> str | None:
    import tomllib  # the tools' way in; functions name their application in the environment

    for directory in [start, *start.resolve().parents]:
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            tool = tomllib.loads(pyproject.read_text()).get("tool", {}).get("queuefirst", {})
            value = tool.get("application")
            return str(value) if value else None
    return None
