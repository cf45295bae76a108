"""URL canonicalisation: one story URL per article, whatever tracking or host variant we got."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only track the visitor; dropping them never changes the page.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hmb_", "ga_", "_hs", "vero_", "oly_")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mkt_tok", "ref", "ref_src",
    "referrer", "cmpid", "cmp", "ito", "ncid", "ocid", "sr_share", "smid", "smtyp", "share",
    "__twitter_impression", "src", "source", "via", "rss", "partner", "outputtype", "amp",
    "s_cid", "wt.mc_id", "cid", "taid", "guccounter", "guce_referrer", "guce_referrer_sig",
})
# Host prefixes of mobile / AMP mirrors of the same site.
_MIRROR_HOST_PREFIXES = ("www.", "m.", "mobile.", "amp.", "amp-")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def source_domain(url: str) -> str:
    """The site's host without www./m./amp. prefixes, lower-case."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for prefix in _MIRROR_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            host = host[len(prefix):]
            break
    return host


def canonicalize_url(url: str) -> str:
    """Drop tracking parameters, fragments, default ports, AMP paths and mirror hosts."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    host = source_domain(url)
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = parts.path or "/"
    for suffix in ("/amp/", "/amp", ".amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)] or "/"
            break
    if path.startswith("/amp/"):
        path = path[4:]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def make_article_id(canonical_url: str) -> str:
    """Stable article id from the canonical URL (scheme-insensitive)."""
    key = canonical_url.split("://", 1)[-1]
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()
