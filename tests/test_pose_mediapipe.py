"""The MediaPipe backend on real clips, with a PoseLandmarker model built by these tests.

The published ``pose_landmarker_*.task`` bundles are downloads from Google's storage,
which neither this machine nor CI can reach. mediapipe 0.10.21's wheel (on PyPI; ``make
install`` downloads it into ``~/.cache/rgbpose_plugin_tests/``) ships the BlazePose
detector and landmark models that its legacy API runs. The tests add the image-input
metadata the Tasks API needs (normalisation: the detector takes [-1, 1], the landmark
model [0, 1]) with mediapipe's own flatbuffers schema, bundle both files the way a
``.task`` is laid out (``pose_detector.tflite``, ``pose_landmarks_detector.tflite``) and
run the real Tasks ``PoseLandmarker`` on that. Not exercised: the published bundles.

Real-clip check: the Pose2Sim demo clip (static camera, one moving person; a second
person stands still in the background) gives a person mask without any pose model: a
pixel belongs to the moving person in frame t when it differs from both frame t-15 and
frame t+15 (the minimum of the two differences removes the "ghosts" that plain frame
differencing leaves where the person was before or will be after). MediaPipe's
keypoints must fall on that mask, and, as a control that the check can fail, the same
keypoints shifted sideways must not. Pose2Sim's multi-person clip checks two persons.

``python tests/test_pose_mediapipe.py OUT.task`` writes the test model (used for the
accuracy figure in docs/data_preparation.md).
"""

import hashlib
import logging
import pickle
import re
import subprocess
import sys
import types
from pathlib import Path

import av
import numpy as np
import pytest
from assets import load_tool, pose2sim_video, run_tool
from mediapipe_model import build_test_task

from rgbpose_dataprep.pose import backend_options, create_pose_backend
from rgbpose_dataprep.pose import mediapipe_backend as mpb
from rgbpose_dataprep.pose.mediapipe_backend import (
    MEDIAPIPE_TO_COCO17,
    landmarks_to_coco17,
    resolve_task_model,
)

REPO = Path(__file__).resolve().parents[1]

INSTALL = "mediapipe is not installed; install it with: pip install 'rgbpose-plugin[mediapipe]'"
MULTI_MEMBER = "Pose2Sim/Demo_MultiPerson/videos/cam04.mp4"  # two persons, 1088 x 1920

SCALE = 4  # Masks are computed at 1/4 resolution (270 x 480 for the 1080 x 1920 clip).
GAP = 15  # Frames between the compared frames (1/4 s at 60 fps).


@pytest.fixture(scope="module")
def mediapipe_ok():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        pytest.skip(INSTALL)


@pytest.fixture(scope="module")
def task_file(mediapipe_task):
    """The test PoseLandmarker bundle; skips where this mediapipe has no working Tasks API."""
    path = mediapipe_task
    try:
        create_pose_backend("mediapipe", api="tasks", task_model=str(path)).close()
    except (ImportError, RuntimeError) as err:
        pytest.skip(f"this mediapipe's Tasks PoseLandmarker does not run: {err}")
    return path


@pytest.fixture(scope="module")
def legacy_ok(mediapipe_ok):
    try:
        create_pose_backend("mediapipe", api="legacy").close()
    except (ImportError, RuntimeError, OSError) as err:
        pytest.skip(f"no working legacy solutions.pose in this mediapipe (<= 0.10.21 has it): {err}")


# -- without a model ----------------------------------------------------------------------

def motion_masks(path: Path, threshold: int = 25) -> np.ndarray:
    """``[T, H/4, W/4]`` bool: pixels of the moving person in each frame."""
    with av.open(str(path)) as container:
        gray = np.stack([
            f.to_ndarray(format="gray")[::SCALE, ::SCALE] for f in container.decode(video=0)
        ]).astype(np.int16)
    total = len(gray)
    masks = np.zeros(gray.shape, bool)
    for t in range(total):
        # Near the ends, compare with frames twice as far on the side that exists.
        before = t - GAP if t >= GAP else t + 2 * GAP
        after = t + GAP if t + GAP < total else t - 2 * GAP
        diff = np.minimum(np.abs(gray[t] - gray[before]), np.abs(gray[t] - gray[after]))
        masks[t] = diff > threshold
    return masks


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Square dilation of a 2D bool mask: rows, then columns (separable)."""
    rows = mask.copy()
    for s in range(1, radius + 1):
        rows[s:] |= mask[:-s]
        rows[:-s] |= mask[s:]
    out = rows.copy()
    for s in range(1, radius + 1):
        out[:, s:] |= rows[:, :-s]
        out[:, :-s] |= rows[:, s:]
    return out


def fraction_on_mask(points: np.ndarray, mask: np.ndarray) -> float:
    """Share of ``points`` (x, y in mask pixels) that land on ``mask``."""
    h, w = mask.shape
    xs = np.clip(points[:, 0].astype(int), 0, w - 1)
    ys = np.clip(points[:, 1].astype(int), 0, h - 1)
    return float(mask[ys, xs].mean())


def test_landmarks_to_coco17_picks_and_scales():
    xyv = np.zeros((33, 3), np.float32)
    xyv[:, 0] = np.arange(33) / 100  # x encodes the landmark index.
    xyv[:, 1] = 0.5
    xyv[:, 2] = np.linspace(0, 1.2, 33)  # Visibility above 1 is clipped.
    kps, scores = landmarks_to_coco17(xyv, width=200, height=100)
    assert kps.shape == (1, 17, 2) and scores.shape == (1, 17)
    assert np.allclose(kps[0, :, 0], np.array(MEDIAPIPE_TO_COCO17) * 2)
    assert np.allclose(kps[0, :, 1], 50)
    assert scores.max() <= 1.0 and scores[0, 0] == 0.0
    with pytest.raises(ValueError, match=r"\[33, 3\]"):
        landmarks_to_coco17(np.zeros((17, 3)), 10, 10)


def test_missing_mediapipe_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ImportError, match=re.escape("pip install 'rgbpose-plugin[mediapipe]'")):
        create_pose_backend("mediapipe")


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="CPU only"):
        create_pose_backend("mediapipe", device="cuda:0")
    with pytest.raises(ValueError, match="model_complexity"):
        create_pose_backend("mediapipe", model_complexity=5)
    with pytest.raises(ValueError, match="auto, tasks or legacy"):
        create_pose_backend("mediapipe", api="new")
    with pytest.raises(ValueError, match="num_poses must be >= 1"):
        create_pose_backend("mediapipe", num_poses=0)


def test_command_line_options_reach_the_backend():
    args = load_tool("extract_pose").build_parser().parse_args(
        ["clip.mp4", "--out", "ann.pkl", "--max-persons", "3", "--mediapipe-model", "m.task",
         "--mediapipe-api", "tasks"])
    assert backend_options("mediapipe", "cpu", vars(args)) == {
        "device": "cpu", "num_poses": 3, "task_model": "m.task", "api": "tasks"}
    args = load_tool("extract_pose").build_parser().parse_args(["clip.mp4", "--out", "a.pkl"])
    assert backend_options("mediapipe", "cpu", vars(args)) == {"device": "cpu", "num_poses": 2}


# -- fetching the .task file ----------------------------------------------------------------

def test_task_file_is_fetched_cached_and_hash_checked(tmp_path, monkeypatch):
    source = tmp_path / "pose_landmarker_test.task"
    source.write_bytes(b"a .task bundle" * 1000)
    url, digest = source.as_uri(), hashlib.sha256(source.read_bytes()).hexdigest()
    cache = tmp_path / "cache"

    with pytest.raises(ValueError, match=r"pose_landmarker_test\.task.*expected 0{64}") as err:
        resolve_task_model(url, sha256="0" * 64, cache_dir=cache)
    assert "\n" not in str(err.value)
    assert not list(cache.rglob("*.task"))  # A bad download is not kept.

    assert resolve_task_model(url, sha256=digest, cache_dir=cache)[0] == url
    path = resolve_task_model(url, cache_dir=cache)[1]  # cached, checked against its record
    assert path.read_bytes() == source.read_bytes() and path.parent.parent == cache
    assert path.with_name(path.name + ".sha256").read_text().strip() == digest

    path.write_bytes(b"truncated")  # A corrupted cached copy is fetched again.
    assert resolve_task_model(url, cache_dir=cache)[1].read_bytes() == source.read_bytes()

    # Default model: $RGBPOSE_MEDIAPIPE_MODEL (a URL here), fetched into the torch hub cache.
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv(mpb.TASK_MODEL_ENV, url)
    fetched = resolve_task_model()[1]
    assert fetched.is_relative_to(tmp_path / "torch/hub/checkpoints/mediapipe")
    monkeypatch.delenv(mpb.TASK_MODEL_ENV)
    with pytest.raises(FileNotFoundError, match="nope.task.*neither a file nor a URL"):
        resolve_task_model(str(tmp_path / "nope.task"))


def test_failed_fetch_says_url_cache_and_how_to_give_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    url = (tmp_path / "offline" / "pose_landmarker_full.task").as_uri()  # nothing there
    monkeypatch.setitem(mpb.TASK_MODEL_URLS, 1, url)
    with pytest.raises(OSError) as err:
        resolve_task_model()
    message = str(err.value)
    assert "\n" not in message and url in message and "--mediapipe-model PATH" in message
    assert str(tmp_path / "torch/hub/checkpoints/mediapipe") in message


# -- the automatic choice -------------------------------------------------------------------

class FakeLegacyPose:
    """Stands in for ``solutions.pose.Pose``: a fixed person, centred."""

    def __init__(self, **settings):
        self.settings = settings

    def process(self, frame):
        landmark = [types.SimpleNamespace(x=0.5, y=0.5, visibility=0.9)] * 33
        return types.SimpleNamespace(pose_landmarks=types.SimpleNamespace(landmark=landmark))

    def reset(self):
        pass

    def close(self):
        pass


def test_auto_falls_back_to_legacy_and_logs_why(mediapipe_ok, tmp_path, monkeypatch, caplog):
    """Without a reachable .task, auto takes the legacy API where it exists (a stand-in here,
    as mediapipe 1.x has none) and says why in one log line; without one it raises the
    fetch error itself."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(mpb.TASK_MODEL_ENV, raising=False)
    url = (tmp_path / "offline" / "pose_landmarker_full.task").as_uri()
    monkeypatch.setitem(mpb.TASK_MODEL_URLS, 1, url)
    real_import = mpb._import_api

    def no_legacy(module):
        return (None, "ModuleNotFoundError: gone") if "solutions" in module else real_import(module)

    monkeypatch.setattr(mpb, "_import_api", no_legacy)
    with pytest.raises(OSError, match="could not fetch " + re.escape(url)):
        create_pose_backend("mediapipe")

    fake = types.SimpleNamespace(Pose=FakeLegacyPose)
    monkeypatch.setattr(mpb, "_import_api", lambda m: (fake, None) if "solutions" in m
                        else real_import(m))
    monkeypatch.setattr(mpb.MediaPipePoseBackend, "_check_weights_shipped", staticmethod(
        lambda mediapipe, complexity: None))
    caplog.set_level(logging.INFO, logger=mpb.__name__)
    with create_pose_backend("mediapipe", num_poses=2) as backend:
        keypoints, scores = backend(np.zeros((40, 60, 3), np.uint8))
    assert backend.settings["api"] == "legacy" and backend.single_person
    assert keypoints.shape == (1, 17, 2) and np.allclose(keypoints, [30, 20])
    (line,) = [r.getMessage() for r in caplog.records if r.name == mpb.__name__]
    assert line == backend.choice and "legacy solutions.pose" in line
    assert "Tasks PoseLandmarker not used: OSError" in line and url in line


def test_auto_takes_tasks_and_logs_it(task_file, caplog):
    caplog.set_level(logging.INFO, logger=mpb.__name__)
    with create_pose_backend("mediapipe", task_model=str(task_file), num_poses=2) as backend:
        pass
    assert backend.settings["api"] == "tasks" and backend.settings["num_poses"] == 2
    assert not backend.single_person
    assert backend.settings["task_sha256"] == hashlib.sha256(task_file.read_bytes()).hexdigest()
    (line,) = [r.getMessage() for r in caplog.records if r.name == mpb.__name__]
    assert "Tasks PoseLandmarker, up to 2 person(s)" in line and str(task_file) in line
    with pytest.raises(FileNotFoundError, match="missing.task"):  # a named model: no fallback
        create_pose_backend("mediapipe", task_model=str(task_file.with_name("missing.task")))


# -- real clips -----------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["tasks", "legacy"])
def pose2sim_annotation(request):
    """The annotation of the Pose2Sim clip by the Tasks API (test model) or the legacy API
    (where installed), one person a frame, extracted once for this module."""
    from rgbpose_dataprep.pose import annotate_video

    if request.param == "tasks":
        options = dict(api="tasks", task_model=str(request.getfixturevalue("task_file")))
    else:
        request.getfixturevalue("legacy_ok")
        options = dict(api="legacy")
    with create_pose_backend("mediapipe", **options) as backend:
        return annotate_video(pose2sim_video(), backend, max_persons=2)


def test_keypoints_lie_on_the_moving_person(pose2sim_annotation):
    video, ann = pose2sim_video(), pose2sim_annotation
    assert ann["img_shape"] == (1920, 1080) and ann["total_frames"] == 100
    assert ann["keypoint"].shape == (1, 100, 17, 2)  # num_poses 1: one person.
    scores = ann["keypoint_score"][0]
    assert (scores > 0.5).mean() > 0.8  # The person is seen in (nearly) every frame.

    masks = motion_masks(video)
    near_person = np.stack([dilate(m, 10) for m in masks])  # 10 px here = 40 px full size.
    on, shifted, in_box = [], [], []
    for t in range(100):
        pts = ann["keypoint"][0, t][scores[t] > 0.5] / SCALE
        if len(pts) < 5:
            continue
        on.append(fraction_on_mask(pts, near_person[t]))
        sideways = pts + [masks.shape[2] / 3, 0]  # A third of the width to the right.
        sideways[:, 0] %= masks.shape[2]
        shifted.append(fraction_on_mask(sideways, near_person[t]))
        ys, xs = np.nonzero(masks[t])
        x0, x1 = np.percentile(xs, [1, 99])
        y0, y1 = np.percentile(ys, [1, 99])
        mx, my = 0.1 * (x1 - x0), 0.1 * (y1 - y0)
        inside = ((pts[:, 0] >= x0 - mx) & (pts[:, 0] <= x1 + mx)
                  & (pts[:, 1] >= y0 - my) & (pts[:, 1] <= y1 + my))
        in_box.append(inside.mean())
    assert len(on) >= 90
    assert np.mean(on) > 0.9 and np.min(on) > 0.6
    assert np.mean(in_box) > 0.95
    assert np.mean(shifted) < 0.4  # The check does tell a person from elsewhere.


def test_two_persons_with_num_poses_2(task_file, tmp_path):
    """Pose2Sim's multi-person clip: two persons a frame, apart, inside the frame, each in
    its own slot of the annotation; with num_poses=1 only one."""
    from rgbpose_dataprep.pose import annotate_video

    clip = write_subclip(pose2sim_video(MULTI_MEMBER), tmp_path / "two.mp4", 0, 20, scale=2)
    with create_pose_backend("mediapipe", task_model=str(task_file), num_poses=2) as backend:
        ann = annotate_video(clip, backend, max_persons=2)
    height, width = ann["img_shape"]
    assert ann["keypoint"].shape == (2, 20, 17, 2)
    seen = ann["keypoint_score"].mean(axis=2) > 0.5  # [person, frame]
    assert seen.all(axis=0).mean() >= 0.9  # both persons in (nearly) every frame
    both = seen.all(axis=0)
    centres = np.median(ann["keypoint"][:, both], axis=2)  # [2, frames, 2]
    assert np.all(np.linalg.norm(centres[0] - centres[1], axis=-1) > width / 5)
    kps = ann["keypoint"][:, both]
    assert np.all((kps[..., 0] > -0.05 * width) & (kps[..., 0] < 1.05 * width))
    assert np.all((kps[..., 1] > -0.05 * height) & (kps[..., 1] < 1.05 * height))
    # Each slot stays on one person: its centre moves little from frame to frame.
    assert np.abs(np.diff(centres, axis=1)).max() < width / 10

    with create_pose_backend("mediapipe", task_model=str(task_file), num_poses=1) as backend:
        assert annotate_video(clip, backend, max_persons=2)["keypoint"].shape == (1, 20, 17, 2)


def write_subclip(src: Path, dst: Path, start: int, count: int, scale: int = 4) -> Path:
    """Frames ``start..start+count-1`` of ``src``, downscaled ``scale`` times, as H.264."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=60)
        in_stream = inp.streams.video[0]
        stream.width, stream.height = in_stream.width // scale, in_stream.height // scale
        stream.pix_fmt = "yuv420p"
        for index, frame in enumerate(inp.decode(in_stream)):
            if start <= index < start + count:
                small = frame.reformat(width=stream.width, height=stream.height)
                for packet in stream.encode(small):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def test_tool_over_a_folder_with_a_corrupt_video(task_file, tmp_path):
    src = pose2sim_video()
    folder = tmp_path / "clips"
    folder.mkdir()
    write_subclip(src, folder / "early.mp4", 0, 15)
    write_subclip(src, folder / "late.mp4", 60, 15)
    (folder / "corrupt.mp4").write_bytes(src.read_bytes()[:40000])  # Truncated file.
    out = tmp_path / "ann.pkl"
    cmd = [sys.executable, str(REPO / "tools" / "extract_pose.py"), str(folder),
           "--out", str(out), "--backend", "mediapipe", "--no-progress", "--max-persons", "1",
           "--mediapipe-model", str(task_file)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "FAILED" in run.stdout and "corrupt.mp4" in run.stdout
    # The choice of API, in one line.
    assert re.search(r"^mediapipe \S+: Tasks PoseLandmarker, up to 1 person\(s\) a frame, model "
                     + re.escape(str(task_file)) + "$", run.stderr, re.M), run.stderr

    with open(out, "rb") as f:
        data = pickle.load(f)
    assert data["split"] == {"all": ["early", "late"]}
    for ann in data["annotations"]:
        assert ann["img_shape"] == (480, 270) and ann["total_frames"] == 15
        assert ann["keypoint"].shape == (1, 15, 17, 2)
        assert ann["keypoint_score"].mean() > 0.5  # The person is found at 1/4 size too.

    # Rerun in-process: the two good videos are reused, the corrupt one fails again.
    assert run_tool("extract_pose", cmd[2:]) == 1


def test_extracted_annotation_trains_and_evaluates_through_the_dataset(task_file, tmp_path):
    """The extractor's output is a dataset annotation as is: one training epoch, one test."""
    from trainer_fixtures import tiny_cfg

    from rgbpose_dataprep.pose import annotate_video
    from rgbpose_plugin.config import merge_opts, stage_cfg
    from rgbpose_plugin.engine.tester import test
    from rgbpose_plugin.engine.trainer import train

    video = pose2sim_video()
    with create_pose_backend("mediapipe", task_model=str(task_file)) as backend:
        ann = annotate_video(video, backend, max_persons=2)
    ann = dict(ann, frame_dir=video.stem, label=1)
    ann_file = tmp_path / "pose2sim.pkl"
    ann_file.write_bytes(pickle.dumps({"split": {"train": [video.stem], "val": [video.stem],
                                                 "test": [video.stem]}, "annotations": [ann]}))
    cfg = stage_cfg(tiny_cfg(ann_file, tmp_path / "out"), "rgbpose")
    merge_opts(cfg, ["DATA.PATH_PREFIX", str(video.parent), "TRAIN.BATCH_SIZE", 1, "DATA.REPEAT", 2,
                     "TEST.BATCH_SIZE", 1])
    record = train(cfg)
    assert record["val"]["rgb"]["top1"] in (0.0, 100.0)  # one video, scored once
    merge_opts(cfg, ["TEST.CHECKPOINT_FILE_PATH", record["checkpoint"]])
    result = test(cfg)
    assert result["num_videos"] == 1 and set(result["metrics"]) >= {"rgb", "pose", "1:1"}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/test_pose_mediapipe.py OUT.task")
    print(build_test_task(Path(sys.argv[1])))
