"""rejection.v2 on the wire: whatever the message, the record is valid, fits its limit when it
can, and gives back the original value, key and headers exactly (or says it left them out)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
from aiokafka.structs import ConsumerRecord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.commands.rejections import Stored, read_rejection
from worker.errors import RejectReason
from worker.pipeline.types import Rejection, Source
from worker.stream.wire import encode_rejection

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
V2 = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "rejection.v2.json").read_text()))
V1 = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "rejection.v1.json").read_text()))

# Text that JSON escaping blows up (quotes, backslashes, control characters), and raw bytes.
escapy = st.text(st.sampled_from('"\\\n\x01ab€<'), max_size=3000).map(str.encode)
originals = st.binary(max_size=3000) | escapy | st.text(max_size=500).map(str.encode)
keys = st.none() | st.binary(max_size=200) | st.just(b"https://www.gazette.example/a")
headers = st.lists(st.tuples(st.text(max_size=20), st.none() | st.binary(max_size=100)),
                   max_size=5)


def _record(value: bytes) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord("pages.rejected", 0, 5, 1_700_000_000_000, 0, None, value, None, 0,
                          len(value), [])


def _minimal(rejection: Rejection) -> int:
    """Size of the record with the original, key and headers all left out."""
    data = rejection.to_dict()
    data.update(original=None, original_encoding=None, original_omitted="size", key=None,
                key_encoding=None, headers=None)
    return len(orjson.dumps(data))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(original=originals, key=keys, header_list=headers,
       limit=st.integers(min_value=300, max_value=12_000))
def test_encoded_rejection_is_valid_bounded_and_exact(
    original: bytes, key: bytes | None, header_list: list[tuple[str, bytes | None]], limit: int
) -> None:
    rejection = Rejection(
        RejectReason.INVALID_JSON, "not JSON", original,
        source=Source("pages.raw", 2, 41),
    ).with_message(key, header_list, 1_700_000_000.123)
    value = encode_rejection(rejection, limit)
    data = orjson.loads(value)
    V2.validate(data)
    assert len(value) <= max(limit, _minimal(rejection))
    stored = read_rejection(_record(value))
    assert isinstance(stored, Stored)
    assert stored.size == len(original)
    assert stored.source == ("pages.raw", 2, 41) and stored.timestamp_ms == 1_700_000_000_123
    if data["original"] is not None:
        assert stored.value == original and data["original_omitted"] is None
    else:
        assert data["original_omitted"] == "size" and not stored.complete
        # Left out only when it had to be: the base64 form did not fit.
        assert len(orjson.dumps(dict(rejection.to_dict(), original="A" * (
            (len(original) + 2) // 3 * 4), original_encoding="base64"))) > limit
    if data["headers"] is not None:
        assert stored.key == key
        assert stored.headers == tuple(header_list)


def test_a_v1_record_still_reads() -> None:
    v1 = {"schema": "rejection.v1", "reason": "timeout", "detail": "x", "page_id": None,
          "url": "https://a.example/x", "original": '{"url": "https://a.example/x"}',
          "original_encoding": "utf-8", "source": {"topic": "pages.raw", "partition": 0,
                                                   "offset": 7}, "rejected_at": None}
    V1.validate(v1)
    stored = read_rejection(_record(orjson.dumps(v1)))
    assert isinstance(stored, Stored) and stored.v1 and stored.complete
    assert stored.value == b'{"url": "https://a.example/x"}' and stored.key is None
    assert stored.origin == "pages.raw/0@7"
