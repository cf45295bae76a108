"""The page's marked elements (class, id, itemprop, rel), collected once and only when needed.

Dates and bylines the page shows are found by what its markup calls them ("post-date",
"Contributors-Date", itemprop="author"). libxml2's XPath is slow at case-insensitive substring
tests over every element (10-25 ms a page with translate()); one pass that collects the marked
elements and matches them with Python regular expressions costs about 2 ms, and is made only
for pages that declare no date or no author.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from lxml.html import HtmlElement

_CLASSED = etree.XPath("//*[@class or @id]")
_PROPERTIES = etree.XPath("//*[@itemprop or @rel]")


class PageMarks:
    """Lazy views of a parsed page's marked elements, in document order."""

    def __init__(self, tree: HtmlElement) -> None:
        self._tree = tree
        self._classed: list[tuple[HtmlElement, str]] | None = None
        self._properties: list[HtmlElement] | None = None

    @property
    def tree(self) -> HtmlElement:
        """The page itself."""
        return self._tree

    def classed(self, pattern: re.Pattern[str], limit: int) -> Iterator[HtmlElement]:
        """Elements whose class or id (lower case) matches `pattern`, at most `limit`."""
        if self._classed is None:
            self._classed = [
                (el, f"{el.get('class', '')} {el.get('id', '')}".lower())
                for el in _CLASSED(self._tree) if isinstance(el, HtmlElement)
            ]
        found = 0
        for el, marks in self._classed:
            if found < limit and pattern.search(marks):
                found += 1
                yield el

    def properties(self) -> list[HtmlElement]:
        """Elements with an itemprop or rel attribute."""
        if self._properties is None:
            self._properties = [el for el in _PROPERTIES(self._tree)
                                if isinstance(el, HtmlElement)]
        return self._properties
