"""The base of speechkit's request models: validated on construction and on assignment.

Unlike response models (lenient, they must parse whatever the server sends), request models check
what the caller built before anything is sent, and report it as
:class:`~speechkit.errors.InvalidInputError` (a ``ValueError``) naming the option, never as
pydantic's ``ValidationError``. Unknown options are kept and sent, so a server option newer than
speechkit still works.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from speechkit.errors import InvalidInputError

__all__ = ["RequestModel", "describe_validation_error"]


class RequestModel(BaseModel):
    """A request model whose invalid input raises :class:`~speechkit.errors.InvalidInputError`.

    Validation runs in ``__init__`` and on every attribute assignment. Subclasses add checks that
    span several options in :meth:`_check_consistency`, which ``__init__`` calls; it is not run
    on single assignments, because related options are usually set one after the other.
    ``model_validate()`` is pydantic's raw path: it raises ``ValidationError`` and skips
    :meth:`_check_consistency`; construct the model instead.
    """

    model_config = ConfigDict(
        extra="allow",
        validate_assignment=True,
        populate_by_name=True,
        protected_namespaces=(),
        # Values stay out of pydantic's error text: a chained ValidationError must not leak a
        # secret into a traceback or a log.
        hide_input_in_errors=True,
    )

    _secret_options: ClassVar[frozenset[str]] = frozenset()
    """Options whose values never appear in repr or error messages."""

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as err:
            raise InvalidInputError(describe_validation_error(self, err)) from err
        self._check_consistency()

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as err:
            raise InvalidInputError(describe_validation_error(self, err)) from err

    def _check_consistency(self) -> None:
        """Raise :class:`InvalidInputError` when options contradict each other. No-op here."""


def describe_validation_error(model: RequestModel, err: ValidationError) -> str:
    """Turn pydantic's errors into one readable message naming each bad option."""
    name = type(model).__name__
    secrets = type(model)._secret_options
    problems: list[str] = []
    for error in err.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            problems.append(f"`{loc}` is required")
            continue
        shown = "" if not loc or error["loc"][0] in secrets else f" (got {error['input']!r})"
        problems.append(f"`{loc}`: {message}{shown}" if loc else message)
    return f"Invalid {name}: " + "; ".join(problems)
