"""The base every speechkit response model inherits: validated, but lenient.

APIs drift and relayed payloads carry extra keys, so models keep unknown fields (reachable through
``model_extra`` and :attr:`SpeechkitModel.raw`) and enum-typed fields also accept unknown strings
(fields are typed ``SomeEnum | str``), so a new server value never crashes a parse.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

__all__ = ["SpeechkitModel"]

#: Bodies at least this large are validated with the cyclic garbage collector paused.
LARGE_BODY_BYTES = 256 * 1024

_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large response is validated.

    Validating a long transcript creates a few hundred thousand objects, none of them garbage,
    and the collector's repeated full passes over that growing heap cost as much as the
    validation itself. Nested and concurrent pauses are counted: the collector is enabled again
    by the last one out, and only if it was enabled before the first one in.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


class SpeechkitModel(BaseModel):
    """A lenient pydantic model: unknown fields are kept, the raw JSON stays reachable."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        ser_json_inf_nan="constants",
    )

    _raw: Any = PrivateAttr(default=None)
    _raw_json: bytes | None = PrivateAttr(default=None)

    @classmethod
    def from_json_data(cls, data: Any) -> Self:
        """Validate decoded JSON and remember it, so :attr:`raw` returns exactly what was sent."""
        model = cls.model_validate(data)
        model._raw = data
        return model

    @classmethod
    def from_json_bytes(cls, content: bytes) -> Self:
        """Validate a JSON body straight from its bytes (no intermediate dicts).

        The bytes are kept and decoded only if :attr:`raw` is read. Raises ``ValueError``
        (pydantic's ``ValidationError``) when the body is not JSON or not the model's shape.
        """
        if len(content) >= LARGE_BODY_BYTES:
            with _gc_paused():
                model = cls.model_validate_json(content)
        else:
            model = cls.model_validate_json(content)
        model._raw_json = content
        return model

    def __eq__(self, other: object) -> bool:
        # Equality is about content: where a model came from (its stored raw JSON) is not.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )

    __hash__ = None  # type: ignore[assignment]  # mutable models are not hashable

    @property
    def raw(self) -> Any:
        """The JSON this model was parsed from (or, when built in code, its JSON form)."""
        if self._raw is None and self._raw_json is not None:
            self._raw, self._raw_json = json.loads(self._raw_json), None
        if self._raw is not None:
            return self._raw
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
