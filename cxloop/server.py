"""uvicorn's HTTP protocol with a limit on the request head: an oversize one is a 431 before anything parses it.

uvicorn's httptools protocol has no header size limit (and its h11 one answers 400), so a 40 MB
`Authorization` header would be buffered and decoded on the event loop. This protocol counts the bytes of each
request head as they arrive and, past the limit (uvicorn's `h11_max_incomplete_event_size` option, set by
`cxloop serve` from `CXLOOP_MAX_HEADER_BYTES`), answers 431 problem+json and closes the connection.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

DEFAULT_MAX_HEAD_BYTES = 32 * 1024


def too_large_response(limit: int) -> bytes:
    """The raw 431 answer (problem+json), closing the connection."""
    body = json.dumps(
        {
            "type": "https://cxloop.dev/problems/header-too-large",
            "title": "Request header fields too large",
            "status": 431,
            "detail": f"The request line and headers exceed {limit} bytes",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class HeaderLimitedProtocol(HttpToolsProtocol):
    """httptools' protocol that refuses a request head (request line and headers) longer than the limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes = self.config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        self.head_bytes = 0
        self.reading_head = True
        self.heads_read = 0

    def data_received(self, data: bytes) -> None:
        """Count the head's bytes before the parser sees them; 431 and close past the limit."""
        if not self.reading_head:
            super().data_received(data)
            return
        room = self.max_head_bytes - self.head_bytes
        if len(data) <= room:
            self.head_bytes += len(data)
            super().data_received(data)
            return
        heads = self.heads_read
        super().data_received(data[:room])  # a chunk may hold the end of the head and the start of the body
        if self.transport.is_closing():
            return
        if self.heads_read == heads:
            self.transport.write(too_large_response(self.max_head_bytes))
            self.transport.close()
            return
        self.data_received(data[room:])

    def on_headers_complete(self) -> None:
        """The head is in: the body that follows is limited elsewhere (the app's body size limit)."""
        self.reading_head = False
        self.heads_read += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The next bytes on this connection are the next request's head."""
        super().on_message_complete()
        self.reading_head, self.head_bytes = True, 0
