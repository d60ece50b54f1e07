"""Opaque, time-ordered ids: a type prefix and a ULID, so keyset pagination follows creation order."""

from __future__ import annotations

import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_lock = threading.Lock()
_last = 0


def _next_value() -> int:
    """48 bits of milliseconds then 80 random bits, strictly increasing within this process."""
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)
        # Same millisecond (or a clock step back): continue from the last id, so creation order is id order.
        _last = value if value > _last else _last + 1
        return _last


def ulid() -> str:
    """A 26-character monotonic ULID in Crockford base32."""
    value = _next_value()
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as `unit_01JD2…`; the prefix says what kind of object it names."""
    return f"{prefix}_{ulid()}"
