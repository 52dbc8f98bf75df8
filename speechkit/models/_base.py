"""The base every speechkit response model inherits: validated, but lenient.

APIs drift and relayed payloads carry extra keys, so models keep unknown fields (reachable through
``model_extra`` and :attr:`SpeechkitModel.raw`) and enum-typed fields also accept unknown strings
(fields are typed ``SomeEnum | str``), so a new server value never crashes a parse.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

__all__ = ["SpeechkitModel"]


class SpeechkitModel(BaseModel):
    """A lenient pydantic model: unknown fields are kept, the raw JSON stays reachable."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        ser_json_inf_nan="constants",
    )

    _raw: Any = PrivateAttr(default=None)

    @classmethod
    def from_json_data(cls, data: Any) -> Self:
        """Validate decoded JSON and remember it, so :attr:`raw` returns exactly what was sent."""
        model = cls.model_validate(data)
        model._raw = data
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
        if self._raw is not None:
            return self._raw
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
