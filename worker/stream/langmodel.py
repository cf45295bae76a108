"""py3langid's language model for the extraction processes, decompressed once per machine.

py3langid 0.4.0 ships its model LZMA-compressed (4.5 MB on disk, 68 MB of numpy arrays) and
decompresses it on the first `rank()`: about 0.6 s of CPU in every extraction process that
starts (measured: half of a process's 1.1 s start-up; `process -j2` pays it twice, the worker
again for every process it replaces). The first process writes the decompressed arrays as
.npy files into a private cache directory; every later one maps them (mmap, ~0.05 s) and builds
the same `LanguageIdentifier` py3langid builds from its own file, so scores are identical
(tests/unit/test_langmodel.py compares them).

    load_identifier()  ->  a py3langid LanguageIdentifier, or None (then py3langid loads its
                           own on first use, exactly as before): never raises

The cache is `<tempdir>/news-worker-<uid>/py3langid-<version>-<sha256 of the model file>`,
written into a scratch directory and renamed into place (a reader sees all of it or none), in a
directory only this user can write (any other owner or mode: no cache, py3langid's own load).

Leans on py3langid's model layout, which is not API: the keys of the .npz inside its .xz
(ptc, pc, classes, nextmove, nextmove_row, out_feat) and how `from_model_file` turns them into
`LanguageIdentifier(...)` arguments. py3langid is pinned (requirements/constraints.txt);
tests/unit/test_langmodel.py fails on any other version.
"""

from __future__ import annotations

import hashlib
import io
import logging
import lzma
import os
import shutil
import stat
import tempfile
from array import array
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PINNED = "0.4.0"
_KEYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
_TYPECODE = {2: "H", 4: "I", 8: "L"}


def load_identifier(cache_root: Path | None = None) -> Any:
    """py3langid's LanguageIdentifier from the cache (made first if missing); None on any
    problem, so the caller falls back to py3langid's own loading."""
    try:
        import py3langid
        from py3langid import langid

        if py3langid.__version__ != PINNED:
            return None  # another layout may hide behind the same file names
        model = langid.MODEL_DIR / langid.MODEL_FILE
        root = cache_root or Path(tempfile.gettempdir()) / f"news-worker-{os.getuid()}"
        if not _private_dir(root):
            return None
        digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
        folder = root / f"py3langid-{PINNED}-{digest}"
        if not folder.is_dir():
            _write(model, folder)
        return _build(langid.LanguageIdentifier, folder)
    except Exception as exc:  # a cache is an optimisation: any failure means no cache
        log.info("language model cache not used: %s", exc)
        return None


def _private_dir(root: Path) -> bool:
    """`root` exists (made if not), is ours, and nobody else can write into it."""
    root.mkdir(mode=0o700, exist_ok=True)
    info = root.lstat()
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _write(model: Path, folder: Path) -> None:
    """Decompress the model's arrays into `folder` (atomically: scratch dir, then rename)."""
    import numpy as np

    with lzma.open(model) as src, np.load(io.BytesIO(src.read()), allow_pickle=False) as data:
        arrays = {key: data[key] for key in _KEYS}
    scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=folder.parent))
    try:
        for key, value in arrays.items():
            np.save(scratch / f"{key}.npy", value, allow_pickle=False)
        try:
            scratch.rename(folder)
        except OSError:
            if not folder.is_dir():  # not another process's finished copy: a real failure
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build(identifier_class: Any, folder: Path) -> Any:
    """The identifier `LanguageIdentifier.from_model_file` builds, from the mapped arrays."""
    import numpy as np

    data = {key: np.load(folder / f"{key}.npy", mmap_mode="r", allow_pickle=False)
            for key in _KEYS}
    ptc, pc = data["ptc"], data["pc"]
    if not (ptc.ndim == 2 and ptc.shape[1] == len(pc) == len(data["classes"])
            and len(data["nextmove_row"]) == len(data["out_feat"])):
        raise ValueError(f"{folder}: arrays of inconsistent shapes")
    return identifier_class(
        np.asarray(ptc), np.asarray(pc), np.asarray(data["classes"]).tolist(),
        _to_array(data["nextmove"]), np.asarray(data["out_feat"]).tolist(),
        tk_row=_to_array(data["nextmove_row"]),
    )


def _to_array(values: Any) -> array[int]:
    """numpy unsigned ints -> stdlib array, as py3langid's modelio._to_array."""
    out = array(_TYPECODE[values.dtype.itemsize])
    out.frombytes(memoryview(values).cast("B"))
    return out
