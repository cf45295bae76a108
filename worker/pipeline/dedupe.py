"""Headline keys: the normalised form of a headline and its hash.

`make_dedupe_key` is the article's `dedupe_key` and the key of the headline index
(worker/pipeline/identity.py): two headlines that differ only in case, punctuation, Unicode
forms or wire-service prefixes ("UPDATE 1-") share it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Wire-service prefixes such as "UPDATE 1-", "EXCLUSIVE-", "CORRECTED-", "WRAPUP 2-".
WIRE_PREFIX = re.compile(
    r"^\s*(?:(?:UPDATE|REFILE|CORRECTED|EXCLUSIVE|WRAPUP|ANALYSIS|INSIGHT|FACTBOX|BREAKINGVIEWS|"
    r"RPT|CORRECTION|BREAKING|LIVE|VIDEO|WATCH|UPDATED)(?:\s*\d+)?\s*[-:|–—]+\s*)+",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalize_headline(headline: str) -> str:
    """Case-, punctuation- and Unicode-insensitive form of a (cleaned) headline."""
    text = unicodedata.normalize("NFKC", headline)
    text = WIRE_PREFIX.sub("", text)
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", text).split())


def make_dedupe_key(headline: str) -> str:
    """Stable key of a story's headline: the article's `dedupe_key`, the headline index key."""
    digest = hashlib.blake2b(normalize_headline(headline).encode("utf-8"), digest_size=10)
    return digest.hexdigest()
