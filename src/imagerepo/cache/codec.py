"""An explicit codec for values that travel through a networked cache (Redis).

Cached values are domain dataclasses (`Image`, `Page`, listings' counts, a user with their token
version ...). Pickle would run whatever a compromised or shared cache server sent back, so values
are encoded as JSON with small type tags instead, and decoding builds only the dataclasses and
enums that were registered: anything else is refused (`CodecError`), which the cache treats as a
miss. Dataclass fields are encoded by name, so adding a field with a default keeps old entries
readable; a renamed or removed field makes them misses.

    {"$d": "Image", "v": {...fields}}    a registered dataclass
    {"$e": "Visibility", "v": "public"}  a registered enum member
    {"$t": "2026-11-30T10:00:00+00:00"}  a datetime (ISO 8601, offset kept)
    {"$tuple": [...]}, {"$set": [...]}   tuples, frozensets (lists and str-keyed dicts are JSON)
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import json
from collections.abc import Iterable
from datetime import datetime
from types import ModuleType
from typing import Any

from imagerepo import models


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that do not decode to a registered type."""


def module_types(module: ModuleType) -> list[type]:
    """Every dataclass and enum defined in `module` (e.g. `imagerepo.models`)."""
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and value.__module__ == module.__name__
        and (dataclasses.is_dataclass(value) or issubclass(value, enum.Enum))
    ]


class JsonCodec:
    """`encode(value) -> bytes`, `decode(bytes) -> value`, for registered types only."""

    def __init__(self, types: Iterable[type] = ()) -> None:
        self._types: dict[str, type] = {}
        for cls in [*module_types(models), *types]:
            known = self._types.setdefault(cls.__name__, cls)
            if known is not cls:
                raise ValueError(f"two cacheable types named {cls.__name__}")

    def encode(self, value: object) -> bytes:
        return json.dumps(self._pack(value), separators=(",", ":")).encode()

    def decode(self, data: bytes | str) -> object:
        try:
            return self._unpack(json.loads(data))
        except CodecError:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise CodecError(f"undecodable cache entry: {exc}") from exc

    def _registered(self, cls: type) -> str:
        if self._types.get(cls.__name__) is not cls:
            raise CodecError(f"{cls.__qualname__} is not a registered cacheable type")
        return cls.__name__

    def _pack(self, value: object) -> Any:
        if value is None or (
            isinstance(value, bool | str | int | float) and not isinstance(value, enum.Enum)
        ):
            return value
        if isinstance(value, enum.Enum):
            return {"$e": self._registered(type(value)), "v": value.value}
        if isinstance(value, datetime):
            return {"$t": value.isoformat()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self._pack(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"$d": self._registered(type(value)), "v": fields}
        if isinstance(value, tuple):
            return {"$tuple": [self._pack(item) for item in value]}
        if isinstance(value, frozenset | set):
            return {"$set": [self._pack(item) for item in value]}
        if isinstance(value, list):
            return [self._pack(item) for item in value]
        if isinstance(value, dict) and all(isinstance(key, str) for key in value):
            if any(key.startswith("$") for key in value):
                raise CodecError("dict keys starting with $ are reserved")
            return {key: self._pack(item) for key, item in value.items()}
        raise CodecError(f"cannot cache a {type(value).__qualname__}")

    def _unpack(self, data: Any) -> object:
        if isinstance(data, list):
            return [self._unpack(item) for item in data]
        if not isinstance(data, dict):
            return data
        if "$d" in data:
            cls = self._lookup(data["$d"])
            if not dataclasses.is_dataclass(cls):
                raise CodecError(f"{data['$d']} is not a dataclass")
            return cls(**{key: self._unpack(item) for key, item in data["v"].items()})
        if "$e" in data:
            return self._lookup(data["$e"])(data["v"])
        if "$t" in data:
            return datetime.fromisoformat(data["$t"])
        if "$tuple" in data:
            return tuple(self._unpack(item) for item in data["$tuple"])
        if "$set" in data:
            return frozenset(self._unpack(item) for item in data["$set"])
        return {key: self._unpack(item) for key, item in data.items()}

    def _lookup(self, name: object) -> type:
        cls = self._types.get(name) if isinstance(name, str) else None
        if cls is None:
            raise CodecError(f"{name!r} is not a registered cacheable type")
        return cls
