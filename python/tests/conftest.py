"""Fixtures: FFmpeg, the referee decoder."""

from __future__ import annotations

import os

import pytest
from media import find_ffmpeg


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    path = find_ffmpeg()
    if path is None:
        if os.environ.get("FRAMEPRESS_REQUIRE_TOOLS") == "1":
            pytest.fail("FFmpeg is required (FRAMEPRESS_REQUIRE_TOOLS=1) but was not found")
        pytest.skip("FFmpeg not found (set FRAMEPRESS_FFMPEG or run scripts/fetch-tools.sh)")
    return path
