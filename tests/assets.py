"""Real test media, downloaded once and cached under ``~/.cache/rgbpose_plugin_tests/``.

The Pose2Sim wheel on PyPI ships a short single-person clip (``cam01.mp4``: 1080x1920
portrait, 60 fps, 100 frames, static camera). Tests that need it call
:func:`pose2sim_video`, which skips the test when the clip cannot be fetched (offline).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

CACHE_DIR = Path.home() / ".cache" / "rgbpose_plugin_tests"
_POSE2SIM = "pose2sim==0.10.49"
_MEMBER = "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4"


def pose2sim_video() -> Path:
    """Path of the cached Pose2Sim single-person clip; skips the test if unavailable."""
    target = CACHE_DIR / "pose2sim_cam01.mp4"
    if target.is_file():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", _POSE2SIM, "-d", tmp]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as err:
            pytest.skip(f"cannot download {_POSE2SIM} for its test clip (offline?): {err}")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            pytest.skip(f"pip download of {_POSE2SIM} produced no wheel")
        with zipfile.ZipFile(wheels[0]) as wheel:
            partial = target.with_suffix(".part")
            partial.write_bytes(wheel.read(_MEMBER))
            partial.replace(target)  # Atomic, so parallel runs never see half a file.
    return target
