"""The identity state as bytes, behind a typed store; the incremental expiry sweep.

    key                      value
    b"u:" + article id       FORMAT | expires_at | UrlEntry JSON      (the URL stage)
    b"h:" + headline key     FORMAT | expires_at | IndexEntry JSON    (the headline index)
    b"b:" + body key         FORMAT | expires_at | IndexEntry JSON    (the body index)
    b"p:" + id + ":" + origin  the stories record of a page parked behind its URL's probe
    b"\\x00clock:<p>"        FORMAT | data time                       (partition p's data clock)

FORMAT is one byte (1 today) and expires_at 8 bytes (big-endian epoch seconds): the sweep
reads them without decoding the JSON, so a key that is not due costs a prefix compare. A value
with another format byte (written by a newer release) or that does not decode is *unreadable*:
it is reported through `on_unreadable` (the worker counts it and logs once), treated as absent
by the decisions (the key starts afresh), and left in place by the sweep (a newer worker may
still read it). Nothing here raises on stored bytes.

`RawStore` is what a backend provides: get/put/delete and `items_in(partition, after)` (the
partition's keys in byte order, from after `after`). `DictStore` is the dict one (`process`,
tests); worker/stream/store.py wraps the Faust table. `Staged` holds one event's writes back
(reads see them) until `commit()`: the worker commits only after the event's outputs were
acknowledged, so the state never runs ahead of what was published, and a replay decides
again from the state before the event. `Staged.writes_for` is what the publisher calls with
the outputs that landed: the record's writes, or its fallback (worker/pipeline/route.py Step).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

from worker.pipeline.identity import IndexEntry, UrlEntry, live_index
from worker.pipeline.options import PipelineOptions

FORMAT = 1
_PREFIX = struct.Struct(">BQ")
URL, HEADLINE, BODY = "url", "headline", "body"
STAGES = (URL, HEADLINE, BODY)
_KEY_PREFIX = {URL: b"u:", HEADLINE: b"h:", BODY: b"b:"}
_STAGE_OF = {v: k for k, v in _KEY_PREFIX.items()}
INDEX_STAGES = {"h": HEADLINE, "b": BODY}
RESERVED = b"\x00"
_CHECK_EVERY = 32  # keys between two looks at the sweep's time budget
# The expiry 3c14307 (2026-11-29) stored for a URL probing or with pages parked: such an
# entry's real expiry is read from the entry itself (waiting URLs expire now, see identity.py).
_NEVER = 2**62
_DEPENDS_ON = (b"u:", b"p:")  # keys whose writes a batch's later record may not build on

Unreadable = Callable[[str, bytes], None]  # (stage, key)
T = TypeVar("T")


class RawStore(Protocol):
    """Bytes in, bytes out, one partition's keys in order."""

    def get(self, key: bytes) -> bytes | None: ...
    def put(self, key: bytes, value: bytes) -> None: ...
    def delete(self, key: bytes) -> None: ...
    def items_in(self, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]: ...


def url_key(story_id: str) -> bytes:
    return _KEY_PREFIX[URL] + story_id.encode("ascii")


def index_key(index: str, key: str) -> bytes:
    """`index` is "h" (headline) or "b" (body)."""
    return _KEY_PREFIX[INDEX_STAGES[index]] + key.encode("ascii")


def parked_key(story_id: str, origin: str) -> bytes:
    return b"p:" + story_id.encode("ascii") + b":" + origin.encode("utf-8")


def clock_key(partition: int) -> bytes:
    return RESERVED + b"clock:" + str(partition).encode("ascii")


def stage_of(key: bytes) -> str | None:
    """"url", "headline", "body", or None for a reserved or foreign key."""
    return _STAGE_OF.get(key[:2])


def encode(entry: UrlEntry | IndexEntry, options: PipelineOptions) -> bytes:
    payload = orjson.dumps(entry.to_dict())
    return _PREFIX.pack(FORMAT, max(0, entry.expires_at(options))) + payload


def expires_of(value: bytes) -> int | None:
    """The expiry of a stored value, or None when its format is not ours."""
    if len(value) < _PREFIX.size or value[0] != FORMAT:
        return None
    return int(_PREFIX.unpack_from(value)[1])


def _payload(value: bytes) -> dict[str, Any]:
    if expires_of(value) is None:
        raise ValueError(f"unknown state format {value[:1]!r}")
    data = orjson.loads(value[_PREFIX.size:])
    if not isinstance(data, dict):
        raise ValueError("state value is not an object")
    return data


class IdentityState:
    """Typed access to the identity state in a `RawStore`."""

    def __init__(self, raw: RawStore, options: PipelineOptions,
                 on_unreadable: Unreadable | None = None) -> None:
        self.raw = raw
        self.options = options
        self.on_unreadable = on_unreadable

    def _read(self, stage: str, key: bytes, parse: Callable[[dict[str, Any]], T]) -> T | None:
        """The entry under `key`, or None when absent or unreadable (reported)."""
        value = self.raw.get(key)
        if value is None:
            return None
        try:
            return parse(_payload(value))
        except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError):
            if self.on_unreadable is not None:
                self.on_unreadable(stage, key)
            return None

    def url(self, story_id: str) -> UrlEntry | None:
        return self._read(URL, url_key(story_id), UrlEntry.from_dict)

    def put_url(self, story_id: str, entry: UrlEntry) -> None:
        self.raw.put(url_key(story_id), encode(entry, self.options))

    def index(self, index: str, key: str) -> IndexEntry | None:
        return self._read(INDEX_STAGES[index], index_key(index, key), IndexEntry.from_dict)

    def put_index(self, index: str, key: str, entry: IndexEntry) -> None:
        self.raw.put(index_key(index, key), encode(entry, self.options))

    def delete_url(self, story_id: str) -> None:
        self.raw.delete(url_key(story_id))

    def is_parked(self, story_id: str, origin: str) -> bool:
        return self.raw.get(parked_key(story_id, origin)) is not None

    def park(self, story_id: str, origin: str, record: bytes) -> None:
        """Keep a page's stories record until its URL's probe comes back."""
        self.raw.put(parked_key(story_id, origin), record)

    def unpark(self, story_id: str, origin: str) -> bytes | None:
        """A parked page's record, removed from the state (None if it is not there)."""
        key = parked_key(story_id, origin)
        record = self.raw.get(key)
        self.raw.delete(key)
        return record

    def clock(self, partition: int) -> int | None:
        """The partition's data time: the latest fetch time of a record it processed."""
        value = self.raw.get(clock_key(partition))
        return expires_of(value) if value is not None else None

    def advance_clock(self, partition: int, seconds: int) -> int:
        """Move the partition's data clock to `seconds` if that is later; the clock after."""
        current = self.clock(partition)
        if current is not None and current >= seconds:
            return current
        self.raw.put(clock_key(partition), _PREFIX.pack(FORMAT, max(0, seconds)))
        return seconds


class Staged:
    """A `RawStore` whose writes wait until `commit()`; reads see them meanwhile.

    Writes are grouped by the record that made them (`begin(tag)`), so the shell can apply
    each group in that record's own context (the worker: the Faust event whose partition the
    writes belong to). Reads see every write made so far, whatever its group.
    """

    def __init__(self, raw: RawStore) -> None:
        self.raw = raw
        self.overlay: dict[bytes, bytes | None] = {}
        self.groups: list[tuple[object, dict[bytes, bytes | None]]] = []
        # Groups that read a URL entry or parked record another waiting group wrote: their
        # decisions hold only if that group's writes are applied, not its fallback. (Index
        # entries and data clocks do not count: a registration kept from a refused probe only
        # names a story published once its page is redriven, and a clock only moves on.)
        self.dependent: set[int] = set()

    def begin(self, tag: object) -> None:
        """Writes from now on belong to `tag` (a new group; an earlier one of `tag` is
        dropped first: a retried record starts again from the state before it)."""
        self.discard(tag)
        self.groups.append((tag, {}))

    def discard(self, tag: object) -> None:
        """Forget the writes of `tag` (a record whose handling failed)."""
        self.dependent.discard(id(tag))
        if any(t is tag for t, _ in self.groups):
            self.groups = [(t, w) for t, w in self.groups if t is not tag]
            self.overlay = {k: v for _, w in self.groups for k, v in w.items()}

    def clear(self) -> None:
        """Forget every waiting write (those a publish call did not apply will not be)."""
        self.overlay, self.groups = {}, []
        self.dependent.clear()

    def depends(self, tag: object) -> bool:
        """Whether `tag`'s group read what another group, not applied yet, wrote."""
        return id(tag) in self.dependent

    def get(self, key: bytes) -> bytes | None:
        if key not in self.overlay:
            return self.raw.get(key)
        if self.groups and key[:2] in _DEPENDS_ON and key not in self.groups[-1][1]:
            self.dependent.add(id(self.groups[-1][0]))
        return self.overlay[key]

    def _write(self, key: bytes, value: bytes | None) -> None:
        if not self.groups:
            self.begin(None)
        self.groups[-1][1][key] = value
        self.overlay[key] = value

    def put(self, key: bytes, value: bytes) -> None:
        self._write(key, value)

    def delete(self, key: bytes) -> None:
        self._write(key, None)

    @property
    def writes(self) -> dict[bytes, bytes | None]:
        """Every waiting write, the latest per key."""
        return dict(self.overlay)

    def items_in(self, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        # The stored keys only: the sweep reads its partition from below and stages its writes
        # here (a key it already wrote in this group is read through `get`).
        return self.raw.items_in(partition, after)

    def commit(self, enter: Callable[[object], AbstractContextManager[object]] | None = None,
               ) -> int:
        """Apply every waiting write, group by group in order (inside `enter(tag)` if
        given); how many there were."""
        return sum(self.commit_group(tag, enter) for tag, _ in list(self.groups))

    def writes_for(self, tag: object, needs: int | None, fallback: dict[bytes, bytes | None],
                   enter: Callable[[object], AbstractContextManager[object]] | None = None,
                   ) -> Callable[..., int]:
        """What the publisher calls once it knows which outputs of `tag`'s record landed
        (`landed`: their indexes; omitted: all of them): the record's writes if output
        `needs` landed (or `needs` is None), else `fallback` instead."""

        def apply(landed: Collection[int] | None = None) -> int:
            if needs is None or landed is None or needs in landed:
                return self.commit_group(tag, enter)
            self.discard(tag)
            with enter(tag) if enter is not None else nullcontext():
                for key, value in fallback.items():
                    if value is None:
                        self.raw.delete(key)
                    else:
                        self.raw.put(key, value)
            return len(fallback)

        return apply

    def commit_group(self, tag: object,
                     enter: Callable[[object], AbstractContextManager[object]] | None = None,
                     ) -> int:
        """Apply the writes of `tag` (inside `enter(tag)` if given); how many there were."""
        mine = [w for t, w in self.groups if t is tag]
        self.groups = [(t, w) for t, w in self.groups if t is not tag]
        count = 0
        for writes in mine:
            with enter(tag) if enter is not None else nullcontext():
                for key, value in writes.items():
                    if self.overlay.get(key, value) is value and key in self.overlay:
                        del self.overlay[key]  # no later group wrote it: read it from below
                    if value is None:
                        self.raw.delete(key)
                    else:
                        self.raw.put(key, value)
            count += len(writes)
        return count


@dataclass
class DictStore:
    """A `RawStore` in a dict; `partition_of(key)` says which partition a key belongs to."""

    partition_of: Callable[[bytes], int]
    data: dict[bytes, bytes] = field(default_factory=dict)

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def put(self, key: bytes, value: bytes) -> None:
        self.data[key] = value

    def delete(self, key: bytes) -> None:
        self.data.pop(key, None)

    def items_in(self, partition: int, after: bytes | None) -> Iterator[tuple[bytes, bytes]]:
        # Sorted on every call: fine for `process` and tests, not for millions of keys.
        keys = sorted(k for k in self.data if (after is None or k > after)
                      and not k.startswith(RESERVED) and self.partition_of(k) == partition)
        for key in keys:
            value = self.data.get(key)
            if value is not None:
                yield key, value


@dataclass
class SweepProgress:
    """Where a sweep pass of one partition is, and what it found so far."""

    after: bytes | None = None  # the last key looked at; None when the pass is complete
    checked: int = 0
    removed: int = 0
    trimmed: int = 0
    entries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAGES, 0))
    # URLs (story ids) to release, in the order found, each with its wait (UrlEntry.probe)
    stalled: dict[str, list[Any]] = field(default_factory=dict)


def sweep_slice(state: IdentityState, partition: int, clock: int, progress: SweepProgress,
                should_stop: Callable[[], bool]) -> SweepProgress:
    """Expire what is due in `partition` as of `clock`, from `progress.after` on.

    Returns when the partition is done (`after` None) or `should_stop()` says so (checked
    every few keys; the caller gives it a time budget). An entry not due costs a prefix read;
    a due URL entry is deleted, unless pages wait on its probe: then it is *stalled*, listed
    in `progress.stalled` for the caller to release (route.release_records); a due index entry
    loses its stale stories (deleted when none is left). The decisions treat due entries as
    absent already, so when the sweep runs changes nothing but the size of the state.
    """
    raw = state.raw
    seen = 0
    for key, value in raw.items_in(partition, progress.after):
        if seen and seen % _CHECK_EVERY == 0 and should_stop():
            return progress  # `after` is the last key handled: the next slice goes on from it
        seen += 1
        progress.after = key
        stage = stage_of(key)
        if stage is None:
            continue
        progress.checked += 1
        expires = expires_of(value)
        if expires is None:  # another release's format: not ours to delete
            if state.on_unreadable is not None:
                state.on_unreadable(stage, key)
            continue
        if expires == _NEVER and stage == URL:  # written when waiting URLs never expired
            expires = _expiry(state, key, value)
        if clock <= expires:
            progress.entries[stage] += 1
        elif stage == URL and (wait := _waiting(state, key, value)) is not None:
            progress.entries[stage] += 1
            progress.stalled[key[len(_KEY_PREFIX[URL]):].decode("ascii")] = wait
        elif stage == URL:
            raw.delete(key)
            progress.removed += 1
        else:
            _trim_index(state, key, value, clock, progress)
    progress.after = None
    return progress


def _expiry(state: IdentityState, key: bytes, value: bytes) -> int:
    try:
        return UrlEntry.from_dict(_payload(value)).expires_at(state.options)
    except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError):
        return _NEVER  # reported by the decisions when they read it


def _waiting(state: IdentityState, key: bytes, value: bytes) -> list[Any] | None:
    """The wait of a URL entry waiting on a probe (UrlEntry.probe), else None."""
    try:
        entry = UrlEntry.from_dict(_payload(value))
    except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError):
        if state.on_unreadable is not None:
            state.on_unreadable(URL, key)
        return None
    return entry.probe() if entry.waiting else None


def _trim_index(state: IdentityState, key: bytes, value: bytes, clock: int,
                progress: SweepProgress) -> None:
    stage = stage_of(key) or HEADLINE
    try:
        entry = IndexEntry.from_dict(_payload(value))
    except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError):
        if state.on_unreadable is not None:
            state.on_unreadable(stage, key)
        return
    kept = live_index(entry, clock, state.options)
    if not kept.stories:
        state.raw.delete(key)
        progress.removed += 1
        return
    state.raw.put(key, encode(kept, state.options))
    progress.trimmed += 1
    progress.entries[stage] += 1
