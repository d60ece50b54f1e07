"""Strict query strings: an unknown query parameter, or a single-valued one given twice, is a 422 naming it.

Every documented route of every service gets this check from the app factory, so `?audience=employees` on a
route that has no audience, or `group_by=a&group_by=b`, is refused instead of silently ignored or "last wins".
A route that takes open-ended parameters (`attr.<key>`) declares their prefix with `open_query("attr.")`.
The respondents' pages (left out of the OpenAPI documents) are not checked: links in emails gather tracking
parameters that must not break them.
"""

from __future__ import annotations

import collections.abc
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.errors import invalid


@dataclass(frozen=True)
class OpenQuery:
    """A route's marker: query parameters starting with one of `prefixes` are the route's to check."""

    prefixes: tuple[str, ...]

    def __call__(self) -> None:
        """Nothing to do at request time: the marker is read from the route."""


def open_query(*prefixes: str) -> Any:
    """A dependency marking the parameters that start with `prefixes` as accepted (`open_query("attr.")`)."""
    return Depends(OpenQuery(prefixes))


@dataclass(frozen=True)
class QueryShape:
    """What a route accepts in its query string."""

    names: frozenset[str]
    single: frozenset[str]
    prefixes: tuple[str, ...]


SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)


def takes_several(annotation: Any) -> bool:
    """Whether a parameter's annotation takes several values (`list[str]`, `list[str] | None`, …)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return takes_several(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return any(takes_several(arg) for arg in get_args(annotation))
    return isinstance(origin, type) and issubclass(origin, SEQUENCES)


def _walk(dependant: Dependant, names: dict[str, bool], prefixes: list[str]) -> None:
    """Collect the query parameters (name → takes several values) and open prefixes of a dependency tree."""
    if isinstance(dependant.call, OpenQuery):
        prefixes.extend(dependant.call.prefixes)
    for field in dependant.query_params:
        annotation = field.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for name, inner in annotation.model_fields.items():
                names[inner.alias or name] = takes_several(inner.annotation)
        else:
            names[field.alias] = takes_several(annotation)
    for child in dependant.dependencies:
        _walk(child, names, prefixes)


_shapes: dict[int, QueryShape] = {}
MAX_NAME_SHOWN = 100  # a hostile name is cut in the problem document


def query_shape(route: APIRoute) -> QueryShape:
    """The query parameters `route` declares (remembered per route)."""
    shape = _shapes.get(id(route))
    if shape is None:
        names: dict[str, bool] = {}
        prefixes: list[str] = []
        _walk(route.dependant, names, prefixes)
        single = frozenset(name for name, several in names.items() if not several)
        shape = _shapes[id(route)] = QueryShape(frozenset(names), single, tuple(prefixes))
    return shape


def strict_query(request: Request) -> None:
    """422 for a query parameter the route does not declare, or a single-valued one given more than once."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    shape = query_shape(route)
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        shown = name[:MAX_NAME_SHOWN]
        if name in shape.single and name in seen:
            raise invalid(shown, "given more than once; it takes one value", "repeated_parameter")
        seen.add(name)
        if name not in shape.names and not name.startswith(shape.prefixes):
            accepted = ", ".join(sorted(shape.names | {f"{p}<key>" for p in shape.prefixes})) or "none"
            raise invalid(shown, f"unknown query parameter; this operation takes: {accepted}", "unknown_parameter")
