"""URL canonicalisation: one story URL per article, whatever tracking or host variant we got.

    canonicalize_url: lower-case scheme and host, no default port, no fragment, no tracking
        parameters (utm_*, fbclid, gclid, mc_cid, ref, ...), remaining parameters sorted as
        they were encoded, mobile/AMP mirrors folded into the main site ("m.", "amp." hosts,
        "/amp" path segments, "?outputType=amp", "?amp=1", "story.amp.html").
    make_article_id: the canonical URL without scheme and "www.", hashed; so http/https and
        www/bare-host variants of one story share an id.

Everything here is pure and never raises on a malformed URL: it keeps what it cannot parse.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote_plus, urlsplit, urlunsplit

# Query parameters that only track the visitor; dropping them never changes the page.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hmb_", "ga_", "_hs", "vero_", "oly_", "ns_", "at_",
                      "fb_", "soc_", "trk", "wt.", "wt_", "itm_", "sr_", "gclsrc")
_TRACKING_NAMES = frozenset({
    "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "twclid", "ttclid", "li_fat_id",
    "mkt_tok", "ref", "ref_src", "ref_url", "referrer", "referer", "cmpid", "cmp", "intcmp", "ito",
    "ncid", "ocid", "smid", "smtyp", "share", "__twitter_impression", "src", "source", "via",
    "rss", "partner", "s_cid", "s_kwcid", "spm", "taid", "guccounter", "guce_referrer",
    "guce_referrer_sig", "_ga", "_gl", "_ke", "cb", "feature", "xtor", "cmp_id", "dicbo",
})
# An AMP/mobile switch in the query: name -> values that only mean "the AMP page".
_AMP_PARAMS = {"outputtype": ("amp",), "amp": ("", "1", "true", "yes"), "output": ("amp",),
               "view": ("amp", "mobile")}
# Host prefixes of mobile / AMP mirrors of the same site, dropped from the canonical host.
_MIRROR_HOST_PREFIXES = ("m.", "mobile.", "amp.", "amp-")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _is_tracking(name: str, value: str) -> bool:
    lowered = name.lower()
    if lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES):
        return True
    return value.lower() in _AMP_PARAMS.get(lowered, ())


def _strip_mirror(host: str) -> str:
    for prefix in _MIRROR_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def _host(url: str) -> str:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def source_domain(url: str) -> str:
    """The site's host without www./m./amp. prefixes, lower-case."""
    host = _strip_mirror(_host(url))
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def _clean_path(path: str) -> str:
    """Drop AMP markers from the path: "/amp" segments and ".amp" before the extension."""
    segments = path.split("/")
    kept = [s for s in segments if s.lower() != "amp"]
    if len(kept) != len(segments) and any(kept):
        if path.rstrip("/").lower().endswith("/amp"):  # "/story/amp/" -> "/story"
            while kept and kept[-1] == "":
                kept.pop()
        segments = kept
    last = segments[-1] if segments else ""
    for marker in (".amp.html", ".amp.htm", ".amp"):
        if last.lower().endswith(marker) and len(last) > len(marker):
            segments[-1] = last[: -len(marker)] + marker[4:]
            break
    cleaned = "/".join(segments)
    return cleaned if cleaned.startswith("/") else "/" + cleaned


def _clean_query(query: str) -> str:
    """Tracking parameters out, the rest sorted and kept exactly as they were encoded."""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if not _is_tracking(unquote_plus(name), unquote_plus(value)):
            kept.append(pair)
    return "&".join(sorted(kept))


def canonicalize_url(url: str) -> str:
    """Drop tracking parameters, fragments, default ports, AMP paths and mirror hosts."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[::1", "http://host:99999": keep it, minus the fragment
        return url.split("#", 1)[0].strip()
    scheme = parts.scheme.lower()
    host = _strip_mirror((parts.hostname or "").lower().rstrip("."))
    if not host:  # a relative or opaque URL: nothing to normalise safely
        relative = (scheme, parts.netloc, parts.path, _clean_query(parts.query), "")
        return urlunsplit(relative).strip()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path, query = _clean_path(parts.path), _clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, "")).strip()


def usable_canonical(declared: str | None, page_url: str) -> str | None:
    """The page's declared canonical URL, unless it is its site's home page.

    A site whose every article declares the home page (`/`) as canonical (a common
    misconfiguration, og:url more often than link rel) would otherwise make all its stories
    one id; such a declaration says nothing about the story, so the page's own URL is used.
    """
    if not declared:
        return None
    try:
        declared_path = urlsplit(declared.strip()).path
        page_path = urlsplit(page_url.strip()).path
    except ValueError:
        return declared
    if declared_path.strip("/") == "" and page_path.strip("/") != "":
        return None
    return declared


def make_article_id(canonical_url: str) -> str:
    """Stable article id from the canonical URL (scheme- and www-insensitive)."""
    key = canonical_url.split("://", 1)[-1]
    if key.startswith("www."):
        key = key[4:]
    return hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()
