"""Opaque, time-ordered ids: a type prefix and a ULID, so keyset pagination follows creation order."""

from __future__ import annotations

import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]  # every 10-bit value as two base32 digits
_SHIFTS = range(120, -1, -10)  # 26 digits = 130 bits, the top two always zero
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
    return "".join([_PAIRS[(value >> shift) & 0x3FF] for shift in _SHIFTS])


def new_id(prefix: str) -> str:
    """A new id such as `unit_01JD2…`; the prefix says what kind of object it names."""
    return f"{prefix}_{ulid()}"
