"""Text decoded twice: UTF-8 bytes read as Latin-1 by a crawler or a CMS ("weâ\\x80\\x99ll").

    "doesnâ\\x80\\x99t"  --each Latin-1 run that spells one UTF-8 sequence-->  "doesn’t"
    a stray C1 character left (a Windows-1252 byte read as Latin-1)  -->  its cp1252 character

Evidence first: C1 control characters (U+0080-U+009F) are never text; a page that holds one
inside such a run was decoded twice. Only then is every run re-decoded (a run that is not valid
UTF-8 stays as it is), so a page in any other state is never touched. 14 of the 364 wcxb-dev
pages are double-decoded (curly quotes, dashes, registered signs, a Hebrew menu); aeb-dev has
none. Browsers show these pages right because they read the original bytes; we get text.
"""

from __future__ import annotations

import re

_C1 = re.compile("[\x80-\x9f]")
# The Latin-1 spelling of one UTF-8 sequence (lead byte, then its continuation bytes).
_SEQUENCE = re.compile("[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _redecode(match: re.Match[str]) -> str:
    try:
        return match.group().encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:  # not one UTF-8 character after all
        return match.group()


def _cp1252(match: re.Match[str]) -> str:
    try:
        return match.group().encode("latin-1").decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d: undefined in cp1252
        return ""


def repair_mojibake(text: str) -> str:
    """The text with double-decoded UTF-8 undone; unchanged unless it shows the evidence."""
    if not _C1.search(text):  # the common case: one scan, at C speed
        return text
    if any(_C1.search(run.group()) for run in _SEQUENCE.finditer(text)):
        text = _SEQUENCE.sub(_redecode, text)
    return _C1.sub(_cp1252, text)
