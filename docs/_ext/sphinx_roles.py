"""A griffe extension for the docs build: render speechkit's Sphinx-style docstring markup.

speechkit's docstrings are Google style, with Sphinx roles (``:class:`~speechkit.X```,
``:meth:`close```) for cross-references and ``::`` before literal blocks, so they read well in
``help()`` and IDEs. mkdocstrings renders Markdown, so this extension rewrites, before rendering:

* a role into an *optional* autorefs cross-reference around inline code: a link when the target
  is documented on the site, plain code otherwise (never a broken link, never a warning);
* a paragraph ending in ``::`` into one ending in ``:`` (the indented block after it is already
  a Markdown code block).

Enabled in ``mkdocs.yml`` under the python handler's ``extensions``.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|data|exc|mod|obj|const):`(~?)([^`]+)`")
_LITERAL_INTRO = re.compile(r"(?<=\S)::[ \t]*$", re.MULTILINE)
_CALLABLE_ROLES = {"meth", "func"}


def _scope(obj: griffe.Object | griffe.Alias) -> Any:
    """The object whose names a role in ``obj``'s docstring is written relative to."""
    return obj if obj.is_class or obj.is_module else obj.parent


def _resolve(obj: griffe.Object | griffe.Alias, target: str) -> str:
    """The full path of ``target`` as seen from ``obj``, or ``target`` itself."""
    scope = _scope(obj)
    while scope is not None:
        try:
            if target.split(".")[0] in scope.members:
                return f"{scope.path}.{target}"
            return str(scope.resolve(target))
        except (griffe.NameResolutionError, AttributeError, KeyError):
            scope = scope.parent
    return target


def _rewrite(obj: griffe.Object | griffe.Alias, text: str) -> str:
    def role(match: re.Match[str]) -> str:
        kind, short, target = match.groups()
        target = target.strip()
        label = target.rsplit(".", 1)[-1] if short else target
        if kind in _CALLABLE_ROLES:
            label += "()"
        identifier = html.escape(_resolve(obj, target), quote=True)
        code = f"<code>{html.escape(label)}</code>"
        return f'<autoref identifier="{identifier}" optional>{code}</autoref>'

    text = _ROLE.sub(role, text)
    return _LITERAL_INTRO.sub(":", text)


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles and ``::`` literal intros in every docstring of a package."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _rewrite(obj, obj.docstring.value)
        for member in obj.members.values():
            if not member.is_alias:
                self._walk(member, seen)  # type: ignore[arg-type]
