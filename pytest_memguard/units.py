"""Sizes and durations: parse what users write, format what users read.

``KB``/``MB``/``GB`` are powers of 1000 and ``KiB``/``MiB``/``GiB`` powers of 1024, as the SI and IEC say;
units are case-insensitive and the space between number and unit is optional.
"""

from __future__ import annotations

import math
import re

__all__ = ["format_duration", "format_size", "parse_duration", "parse_size"]

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_DURATION_UNITS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
    "m": 60.0,
    "min": 60.0,
}
_NUMBER_UNIT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*([a-zµ]*)\s*$", re.IGNORECASE)


def parse_size(value: object) -> int:
    """Return ``value`` (an int of bytes, or a string like ``"64 MiB"``) as a whole number of bytes.

    Raises ``ValueError`` with the offending value quoted when it is not a size or is negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 1048576 or '64 MiB', got {value!r}")
    if isinstance(value, int):
        number: float = value
    elif isinstance(value, float):
        number = value
    elif isinstance(value, str):
        match = _NUMBER_UNIT.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _SIZE_UNITS:
            raise ValueError(f"expected a size such as 1048576 or '64 MiB', got {value!r}")
        number = float(match.group(1)) * _SIZE_UNITS[unit]
    else:
        raise ValueError(f"expected a size such as 1048576 or '64 MiB', got {value!r}")
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"a size must be a finite number of bytes >= 0, got {value!r}")
    return round(number)


def parse_duration(value: object) -> float:
    """Return ``value`` (a number of seconds, or a string like ``"5 ms"``) in seconds.

    Raises ``ValueError`` with the offending value quoted when it is not a duration or is negative.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 0.005 or '5 ms', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        match = _NUMBER_UNIT.match(value)
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _DURATION_UNITS:
            raise ValueError(f"expected a duration such as 0.005 or '5 ms', got {value!r}")
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    else:
        raise ValueError(f"expected a duration such as 0.005 or '5 ms', got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration must be a finite number of seconds >= 0, got {value!r}")
    return seconds


def format_size(size: float) -> str:
    """Format a byte count in IEC units with three significant figures: ``'1.50 MiB'``, ``'-12.0 KiB'``."""
    sign = "-" if size < 0 else ""
    magnitude = abs(float(size))
    if magnitude < 1024:
        return f"{sign}{magnitude:.0f} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        magnitude /= 1024
        if magnitude < 1024 or unit == "TiB":
            break
    digits = 2 if magnitude < 10 else 1 if magnitude < 100 else 0
    return f"{sign}{magnitude:.{digits}f} {unit}"


def format_duration(seconds: float) -> str:
    """Format seconds in the unit that reads best: ``'250 us'``, ``'4.20 ms'``, ``'1.30 s'``."""
    sign = "-" if seconds < 0 else ""
    magnitude = abs(float(seconds))
    if magnitude < 1e-3:
        return f"{sign}{magnitude * 1e6:.0f} us"
    if magnitude < 1.0:
        value, unit = magnitude * 1e3, "ms"
    else:
        value, unit = magnitude, "s"
    digits = 2 if value < 10 else 1 if value < 100 else 0
    return f"{sign}{value:.{digits}f} {unit}"
