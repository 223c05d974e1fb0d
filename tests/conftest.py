"""Collection rules shared by the whole suite."""

import importlib.util

import pytest

# The MMAction2 tests need mmaction2 1.2.0 (numpy < 2): they run in .venv-mmaction, started
# by tests/test_mmaction_suite.py (which fails if any of them skips, and skips with the
# installer's reason where that venv cannot be built). In any other environment they are
# not collected, rather than reported as skips.
if importlib.util.find_spec("mmaction") is None:
    collect_ignore_glob = ["test_mm_*.py"]

# The stand-in PySlowFast checkout is a host's source tree, not tests: its tools/test_net.py
# is PySlowFast's test loop (tests/test_host_standin.py runs it).
collect_ignore = ["host_standin"]


@pytest.fixture(scope="session")
def mediapipe_task(tmp_path_factory):
    """The test PoseLandmarker bundle (tests/mediapipe_model.py); skips without mediapipe
    or the wheel its weights come from."""
    pytest.importorskip("mediapipe", reason="the mediapipe pose backend is not installed")
    from mediapipe_model import build_test_task

    return build_test_task(tmp_path_factory.mktemp("mediapipe_task") / "pose_test.task")


@pytest.fixture
def mediapipe_model_env(mediapipe_task, monkeypatch):
    """``$RGBPOSE_MEDIAPIPE_MODEL`` pointing at the test bundle, as on a machine without
    internet where the user gives the model that way."""
    monkeypatch.setenv("RGBPOSE_MEDIAPIPE_MODEL", str(mediapipe_task))
    return mediapipe_task
