"""Refuse text no database can store: NUL bytes and lone surrogates in paths, queries and bodies are a 422.

PostgreSQL refuses U+0000 in `text` and `jsonb`, and neither database can encode a lone UTF-16 surrogate
(`"\\ud800"` in JSON) as UTF-8; left to the database both become a 500. An ASGI middleware checks the query and
the body of every request before any route sees it, and an app-wide dependency (run before every other) the
path parameters, each naming the field: the path or query parameter, or the body's field path
(`answers.0.text`). A JSON body is scanned as bytes for what alone can produce such text (the escapes
`\\u0000` and `\\ud800`…`\\udfff`, or a surrogate's UTF-8-like bytes) and parsed only when one occurs, so
ordinary requests pay one regex scan.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import FieldError, Unprocessable, problem_response

# The escapes that make a NUL or a surrogate, and a surrogate encoded as bytes (which Python's JSON decoder,
# decoding bytes with `surrogatepass`, turns into a lone surrogate too).
_SUSPICIOUS_JSON = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})|\xed[\xa0-\xbf]")
_METHODS_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}
MESSAGE = "must not contain NUL bytes (U+0000) or lone UTF-16 surrogates"


def unstorable(text: str) -> bool:
    """Whether `text` holds a NUL or a lone surrogate (which UTF-8 cannot encode)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _json_fields(value: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """The dotted paths of the strings (keys included) in a parsed JSON document that cannot be stored."""
    if isinstance(value, str):
        if unstorable(value):
            yield ".".join(path) or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if unstorable(key):
                yield ".".join((*path, key))
            yield from _json_fields(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_fields(item, (*path, str(index)))


def body_fields(body: bytes, content_type: str) -> list[str]:
    """The fields of a request body that hold unstorable text (`body` when it cannot be told apart)."""
    if "json" in content_type:
        if not _SUSPICIOUS_JSON.search(body):
            return []
        try:
            document = json.loads(body)
        except ValueError:
            return []  # not JSON at all: the route's own parsing answers that
        return list(dict.fromkeys(_json_fields(document)))
    if "x-www-form-urlencoded" in content_type:
        pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
        return [name for name, value in pairs if unstorable(name) or unstorable(value)]
    return ["body"] if b"\x00" in body else []


def query_fields(query_string: bytes) -> list[str]:
    """The query parameters whose name or value holds unstorable text (decoded as the routes decode them)."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
    return list(dict.fromkeys(name for name, value in pairs if unstorable(name) or unstorable(value)))


async def refuse_unstorable_path(request: Request) -> None:
    """App-wide dependency: 422 naming each path parameter that holds unstorable text (runs before any other)."""
    names = [name for name, value in request.path_params.items() if isinstance(value, str) and unstorable(value)]
    if names:
        errors = [FieldError(field=_shown(name), message=MESSAGE, code="unstorable_text") for name in names]
        raise Unprocessable("; ".join(f"{e.field}: {MESSAGE}" for e in errors), errors=errors)


class UnstorableTextMiddleware:
    """422 problem+json naming each field whose text holds a NUL or a lone surrogate, before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = query_fields(scope.get("query_string", b""))  # path parameters: `refuse_unstorable_path`
        if not fields and scope["method"] in _METHODS_WITH_BODY:
            body, receive = await _buffered(receive)
            fields = body_fields(body, _content_type(scope))
        if not fields:
            await self.app(scope, receive, send)
            return
        errors = [FieldError(field=_shown(field), message=MESSAGE, code="unstorable_text") for field in fields]
        detail = "; ".join(f"{e.field}: {MESSAGE}" for e in errors)[:1000]
        response = problem_response(
            status=422,
            slug="validation",
            title="Validation failed",
            detail=detail,
            request=Request(scope),
            errors=errors,
        )
        await response(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (bounded by the body size limit outside), and a receive channel that replays it."""
    chunks: list[bytes] = []
    replay: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: the app sees that after the body so far
            replay.append(message)
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replay.append({"type": "http.request", "body": body, "more_body": bool(replay)})

    async def replayed() -> Message:
        return replay.pop() if replay else await receive()

    return body, replayed


def _shown(field: str) -> str:
    """A field name as JSON can carry it (a lone surrogate in a key would break the answer itself)."""
    return field.encode("utf-8", "backslashreplace").decode("utf-8")


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"content-type":
            return str(value.decode("latin-1")).lower()
    return ""
