"""Typed config values: conversion from YAML and command-line text, and range constraints.

A config class annotates each key with its type; ``coerce`` converts a raw value to
that type or raises ValueError saying why. Range constraints ride on ``Annotated``::

    lr: Annotated[float, greater_than(0)] = 1e-3  # Adam learning rate
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

import yaml


@dataclass(frozen=True)
class Range:
    """A numeric bound for ``Annotated[int | float, Range(...)]``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    minus_one_means_unlimited: bool = False

    def violation(self, value: float) -> str | None:
        if self.minus_one_means_unlimited and value == -1:
            return None
        unlimited = " (or -1 for no limit)" if self.minus_one_means_unlimited else ""
        if self.low is not None:
            if self.low_open and not value > self.low:
                return f"must be > {self.low:g}{unlimited}"
            if not self.low_open and not value >= self.low:
                return f"must be >= {self.low:g}{unlimited}"
        if self.high is not None and not value <= self.high:
            return f"must be <= {self.high:g}"
        return None


def at_least(low: float) -> Range:
    return Range(low=low)


def greater_than(low: float) -> Range:
    return Range(low=low, low_open=True)


def between(low: float, high: float) -> Range:
    return Range(low=low, high=high)


def at_least_or_unlimited(low: int) -> Range:
    """For counts where -1 means 'no limit'."""
    return Range(low=low, minus_one_means_unlimited=True)


class InvalidValue(ValueError):
    """Raised by a config class's ``check(cfg)`` for one key; the error names where it was set."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _is_optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType) and type(None) in typing.get_args(annotation)


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _describe(typing.get_args(annotation)[0])
    if origin is Literal:
        return "one of " + ", ".join(repr(choice) for choice in typing.get_args(annotation))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(annotation))
    if origin is list:
        return "a list"
    if origin is dict or annotation is dict:
        return "a mapping"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def coerce(value: Any, annotation: Any, from_text: bool = False) -> Any:
    """Return ``value`` converted to ``annotation``, or raise ValueError saying why.

    ``from_text`` marks a raw command-line string: it is parsed as YAML unless the
    key is a plain string. Numbers written as ``1e-4`` (a string to YAML 1.1) are
    accepted for float and integer keys.
    """
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *constraints = typing.get_args(annotation)
        result = coerce(value, base, from_text)
        for constraint in constraints:
            problem = constraint.violation(result) if result is not None else None
            if problem:
                raise ValueError(f"{result!r} {problem}")
        return result
    if from_text and _is_optional_str(annotation):
        return None if value.strip() in ("", "null", "~", "None") else value
    if from_text and annotation is not str:
        value = _parse_text(value)
    if value is None and _is_optional(annotation):
        return None
    if origin in (Union, types.UnionType):
        return _coerce_union(value, annotation)
    if origin is Literal:
        return _coerce_literal(value, annotation)
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list, got {value!r}")
        (item_type,) = typing.get_args(annotation) or (Any,)
        return [coerce(item, item_type) for item in value]
    if origin is dict or annotation is dict:
        return _coerce_dict(value, annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation](value)
    raise TypeError(f"unsupported config annotation {annotation!r}")


def _is_optional_str(annotation: Any) -> bool:
    return _is_optional(annotation) and [arm for arm in typing.get_args(annotation) if arm is not type(None)] == [str]


def _parse_text(text: str) -> Any:
    try:
        return load_yaml(text) if text.strip() else text
    except yaml.YAMLError:
        return text


def load_yaml(text: str) -> Any:
    """``yaml.safe_load``, raising only yaml.YAMLError for a document it cannot read.

    PyYAML's constructors let other errors through for scalars they match but cannot build
    (``2024-13-45``, ``!!int 0x``, ``!!float``, ``!!bool x``, ``!!timestamp x``, 5000-digit integers),
    and deeply nested flow collections exhaust the recursion limit.
    """
    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise yaml.YAMLError("nested too deeply") from None
    except (ValueError, LookupError, AttributeError) as error:
        raise yaml.YAMLError(f"cannot build a value ({type(error).__name__}: {error})") from None


def _coerce_union(value: Any, annotation: Any) -> Any:
    arms = [arm for arm in typing.get_args(annotation) if arm is not type(None)]
    if len(arms) == 1:  # X | None: X's own message is the clearer one
        return coerce(value, arms[0])
    errors = {}
    for index, arm in enumerate(arms):
        try:
            return coerce(value, arm)
        except ValueError as error:
            errors[index] = error
    # A list given where a list or a mapping fits: the list arm's own message says what is wrong inside it
    shaped = [index for index, arm in enumerate(arms) if _container_fits(value, arm)]
    if len(shaped) == 1:
        raise errors[shaped[0]]
    raise ValueError(f"expected {_describe(annotation)}, got {value!r}")


def _container_fits(value: Any, annotation: Any) -> bool:
    """Whether ``value`` is the container ``annotation`` asks for (a list for list[...], a dict for dict[...])."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _container_fits(value, typing.get_args(annotation)[0])
    return (origin is list and isinstance(value, (list, tuple))) or (
        (origin is dict or annotation is dict) and isinstance(value, dict)
    )


def _coerce_dict(value: Any, annotation: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {value!r}")
    key_type, item_type = typing.get_args(annotation) or (Any, Any)
    result = {}
    for key, item in value.items():  # keys are checked too: dict[str, Any] takes no 1: or null: keys
        try:
            result[coerce(key, key_type)] = coerce(item, item_type)
        except ValueError as error:
            raise ValueError(f"at key {key!r}: {error}") from None
    return result


def _coerce_literal(value: Any, annotation: Any) -> Any:
    choices = typing.get_args(annotation)
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"expected {_describe(annotation)}, got {value!r}{hint}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"expected true or false, got {value!r}")


def _to_int(value: Any) -> int:
    number = _number(value)
    if number is None or (isinstance(number, float) and not number.is_integer()):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(number)


def _to_float(value: Any) -> float:
    number = _number(value)
    try:
        result = math.nan if number is None else float(number)
    except OverflowError:  # an integer beyond float's range, e.g. 10**400
        result = math.inf
    if math.isnan(result):
        raise ValueError(f"expected a number, got {value!r}")
    if math.isinf(result):  # 1e400 and 10**400 included: no hyperparameter is meant to be infinite
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"expected a string, got {value!r}")


_SCALARS = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str, Any: lambda value: value}


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            return None
    return None
