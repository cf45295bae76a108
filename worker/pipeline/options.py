"""One options object for the pipeline, built once at start-up from settings (trafilatura-style)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Knobs of the pure pipeline; the I/O shell builds this once from `Settings`."""

    # Pages larger than this (bytes of the raw message) are rejected before any parsing.
    max_page_bytes: int = 5_000_000
    # A body shorter than this many words is not an article (index pages, login forms).
    min_body_words: int = 40
    # Dedupe: two pages with the same normalised headline are one story when their declared
    # publication times are within `dedupe_tolerance`, or, lacking declared times, their
    # fetch times are within `dedupe_fallback_tolerance` (wider: crawls lag publication).
    dedupe_tolerance: timedelta = timedelta(hours=6)
    dedupe_fallback_tolerance: timedelta = timedelta(hours=18)
    # How long a story stays matchable by headline or body from other URLs (data time).
    dedupe_window: timedelta = timedelta(days=7)
    # How long a URL keeps its story id and latest version after it was last seen: within it,
    # a returning URL continues its versions and never publishes version 1 again.
    identity_horizon: timedelta = timedelta(days=90)
    # A crawler's fetched_at may be at most this far ahead of the receive time (the Kafka
    # message timestamp, or `process --clock`); later ones are clamped to it.
    fetch_skew: timedelta = timedelta(minutes=5)
    # Reading speed for reading_time_seconds.
    words_per_minute: int = 230
