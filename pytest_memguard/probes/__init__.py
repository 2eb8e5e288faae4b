"""Probes: each measures one thing about a stretch of code, knows no hooks, and restores what it changed."""

from __future__ import annotations

from .gcprobe import GCProbe
from .heap import HeapProbe, TracingState
from .rss import RSSProbe, current_rss, native_in_use

__all__ = ["GCProbe", "HeapProbe", "RSSProbe", "TracingState", "current_rss", "native_in_use"]
