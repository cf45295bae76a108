"""news-worker: raw news pages in, clean enriched article events out."""

__version__ = "0.1.0"
