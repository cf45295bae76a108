"""One worker per NEWS_DATA_DIR: the second one stops at once, naming the first one's pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from worker.errors import ToolError
from worker.settings import Settings
from worker.stream.ready import lock_data_dir


def test_a_second_worker_on_the_same_data_dir_stops_naming_the_first(tmp_path: Path) -> None:
    settings = Settings(store="memory", data_dir=str(tmp_path / "data"), web_port=0)
    held = lock_data_dir(settings)
    try:
        with pytest.raises(ToolError) as refused:
            lock_data_dir(settings)  # another open file description: as another process
        assert str(refused.value) == (
            f"NEWS_DATA_DIR={settings.data_dir} is in use by another worker (pid {os.getpid()}): "
            "give each worker on this host its own NEWS_DATA_DIR")
    finally:
        os.close(held)
    os.close(lock_data_dir(settings))  # released with its process (here: its fd)
