"""The extraction processes' language model cache (worker/stream/langmodel.py)."""

from __future__ import annotations

import os
from pathlib import Path

import py3langid
import pytest
from py3langid import langid

from worker.pipeline.enrich import detect_language, use_language_identifier
from worker.stream import langmodel

TEXTS = [
    "The council said on Tuesday that work on the ageing sea wall would start in May.",
    "Der Stadtrat hat am Dienstag beschlossen, die Hafenmauer im Mai zu reparieren.",
    "Le conseil municipal a annoncé mardi que les travaux commenceraient en mai.",
    "市议会周二表示，海堤维修工程将于五月开始。",
    "Совет заявил во вторник, что работы начнутся в мае.",
    "", "12345 678", "a" * 4000, "ÜBER DIE GRENZE " * 50,
]


def test_py3langid_is_the_version_whose_model_layout_the_cache_reads() -> None:
    assert py3langid.__version__ == langmodel.PINNED, (
        "py3langid moved: check its model layout (modelio.load_model, "
        "LanguageIdentifier.from_model_file) against worker/stream/langmodel.py, then re-pin")


@pytest.fixture(scope="module")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache") / "nw"
    assert langmodel.load_identifier(root) is not None  # writes the cache
    return root


def test_the_cached_model_ranks_exactly_as_py3langids_own(cache_root: Path) -> None:
    own = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE)
    cached = langmodel.load_identifier(cache_root)
    assert cached is not None
    for text in TEXTS:
        assert cached.rank(text) == own.rank(text), text


def test_a_second_load_maps_the_cache_instead_of_writing_it(cache_root: Path) -> None:
    (folder,) = [p for p in cache_root.iterdir() if p.name.startswith("py3langid-")]
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert langmodel.load_identifier(cache_root) is not None
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert not [p for p in cache_root.iterdir() if p.name.startswith(".scratch")]


def test_detect_language_is_the_same_with_the_cached_model(cache_root: Path) -> None:
    samples = [t for t in TEXTS if t.strip()]
    expected = [detect_language(t, hint) for t in samples for hint in (None, "de")]
    use_language_identifier(langmodel.load_identifier(cache_root))
    try:
        assert [detect_language(t, hint) for t in samples for hint in (None, "de")] == expected
    finally:
        use_language_identifier(None)


def test_a_cache_directory_others_can_write_is_not_used(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o777)  # noqa: S103 - the case under test
    assert langmodel.load_identifier(root) is None
    assert list(root.iterdir()) == []


def test_a_damaged_cache_means_no_cache_never_an_error(tmp_path: Path) -> None:
    root = tmp_path / "nw"
    assert langmodel.load_identifier(root) is not None
    (folder,) = list(root.iterdir())
    with open(folder / "nextmove.npy", "r+b") as fh:
        fh.truncate(1000)
    assert langmodel.load_identifier(root) is None


def test_two_processes_writing_the_cache_at_once_both_succeed(tmp_path: Path) -> None:
    root = tmp_path / "nw"
    root.mkdir(mode=0o700)
    model = langid.MODEL_DIR / langid.MODEL_FILE
    folder = root / "py3langid-x"
    langmodel._write(model, folder)
    langmodel._write(model, folder)  # the loser of the rename finds the winner's copy
    assert sorted(p.name for p in root.iterdir()) == ["py3langid-x"]
