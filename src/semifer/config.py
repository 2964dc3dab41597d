"""Typed run configs: dataclass schema, YAML recipe, ``key=value`` overrides, saved YAML.

Each stage declares its own dataclasses (``SpatialConfig``, ``TemporalConfig``, ...) and
loads them through ``load_config``: OmegaConf merges recipe then command line onto the
schema, so an unknown key or a wrongly typed value stops the run at start-up with a message
naming the key, before any training time is spent.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from semifer.errors import ConfigError

T = TypeVar("T")
E = TypeVar("E", bound=Enum)


def checked_choice(choices: type[E], value: object, key: str) -> E:
    """``value`` as a member of ``choices``, for configs built in Python (OmegaConf checks Enum
    fields of loaded ones); a ``ConfigError`` naming ``key`` and the choices otherwise."""
    try:
        return choices(value)
    except ValueError:
        names = ", ".join(str(member.value) for member in choices)
        raise ConfigError(f"{key} must be one of {names}, not {value!r}") from None


def load_config(schema: type[T], recipe: str | Path | None, overrides: list[str]) -> T:
    """Build a ``schema`` instance from defaults, then the YAML ``recipe``, then ``overrides``.

    ``overrides`` are ``dotted.key=value`` strings, as typed on the command line; the command
    line always wins over the recipe.
    """
    merged = OmegaConf.structured(schema)
    try:
        if recipe is not None:
            path = Path(recipe)
            if not path.is_file():
                raise ConfigError(f"config recipe not found: {path}")
            merged = OmegaConf.merge(merged, OmegaConf.load(path))
        for item in overrides:
            _apply_override(merged, item)
    except OmegaConfBaseException as error:
        where = f" in {recipe}" if recipe else ""
        key = getattr(error, "full_key", None)
        named = f" (key {key})" if key and key not in _first_line(error) else ""
        raise ConfigError(f"invalid config{where}: {_first_line(error)}{named}") from None
    return OmegaConf.to_object(merged)  # type: ignore[return-value]


def _apply_override(config: Any, item: str) -> None:
    """Set one ``dotted.key=value`` on ``config``; a key may index a list (``data.sources.0.path``).

    The value is parsed as OmegaConf parses a command line (numbers, booleans, ``[a, b]``).
    """
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {item!r} is not of the form key=value")
    value = OmegaConf.from_dotlist([f"value={text}"])["value"]
    try:
        OmegaConf.update(config, key, value, merge=True)
    except (IndexError, TypeError, ValueError) as error:
        raise ConfigError(f"invalid override {item!r}: {_first_line(error) or type(error).__name__}") from None


RECIPES = Path(__file__).parent / "configs"


def recipe_path(name_or_path: str | Path) -> Path:
    """A recipe given as a YAML path, or by the name of one shipped with semifer (``demo``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = RECIPES / f"{path.name.removesuffix('.yaml')}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in RECIPES.glob("*.yaml")))
    raise ConfigError(f"config recipe not found: {path} (shipped recipes: {known})")


def config_yaml(config: Any) -> str:
    """The resolved config as YAML: what a run folder and each of its checkpoints keep."""
    return str(OmegaConf.to_yaml(OmegaConf.structured(config)))


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0]
