"""Row ids that sort in the order the rows were written.

MLflow lists a run's dataset inputs in the order they were logged, but the ``inputs`` table
(MLflow's layout, kept as is) has no column that records that order. The input ids carry it
instead: they are UUIDv7 values (RFC 9562), whose leading bits are the creation time.
"""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last_millisecond = 0
_counter = 0
_COUNTER_MAX = 0xFFF  # the 12 bits after the version digit


def time_ordered_hex() -> str:
    """A new UUIDv7 as 32 hex digits: 48 bits of Unix milliseconds, the version, a 12-bit
    counter that keeps ids made within one millisecond in order, the variant, random bits.

    Within a process the ids strictly increase, even if the clock steps back.
    """
    global _last_millisecond, _counter
    with _lock:
        millisecond = time.time_ns() // 1_000_000
        if millisecond > _last_millisecond:
            _last_millisecond, _counter = millisecond, 0
        elif _counter < _COUNTER_MAX:
            _counter += 1
        else:  # 4,096 ids in one millisecond: borrow the next one
            _last_millisecond, _counter = _last_millisecond + 1, 0
        millisecond, counter = _last_millisecond, _counter
    random_bits = int.from_bytes(os.urandom(8), "big") >> 2  # 62 bits
    value = (millisecond << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | random_bits
    return f"{value:032x}"
