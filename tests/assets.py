"""What tests share beyond fixtures: real test media and the command-line scripts.

Real media are downloaded once and cached under ``~/.cache/rgbpose_plugin_tests/``. The
Pose2Sim wheel on PyPI ships a short single-person clip (``cam01.mp4``: 1080x1920
portrait, 60 fps, 100 frames, static camera). Tests that need it call
:func:`pose2sim_video`, which skips the test when the clip cannot be fetched (offline).

The scripts under ``tools/`` are not a package: :func:`load_tool` imports one as a module
and :func:`run_tool` runs its ``main`` as ``python tools/<name>.py`` would, with the same
exit status and one-line error reports.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Sequence

import pytest

from rgbpose_plugin.cli import report_errors

TOOLS_DIR = Path(__file__).resolve().parents[1] / "tools"

CACHE_DIR = Path.home() / ".cache" / "rgbpose_plugin_tests"
_POSE2SIM = "pose2sim==0.10.49"
_MEMBER = "Pose2Sim/Demo_SinglePerson/videos/cam01.mp4"


def pose2sim_video(member: str = _MEMBER) -> Path:
    """Path of a cached clip of the Pose2Sim wheel (default: the single-person one; the
    multi-person clips are ``Pose2Sim/Demo_MultiPerson/videos/cam0N.mp4``); skips the
    test if unavailable."""
    multi = "_multi" if "MultiPerson" in member else ""
    target = CACHE_DIR / f"pose2sim{multi}_{Path(member).name}"
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
            partial.write_bytes(wheel.read(member))
            partial.replace(target)  # Atomic, so parallel runs never see half a file.
    return target


@functools.cache
def load_tool(name: str) -> ModuleType:
    """The script ``tools/<name>.py`` as a module (loaded once)."""
    spec = importlib.util.spec_from_file_location(f"{name}_tool", TOOLS_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(name: str, argv: Sequence[str]) -> int:
    """The exit status of ``python tools/<name>.py ARGV``, run in this process: a user's
    mistake is one ``error: ...`` line on stderr and status 2."""
    return report_errors(load_tool(name).main, list(argv))
