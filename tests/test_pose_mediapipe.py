"""The MediaPipe backend on a real clip, checked against an independent person mask.

The Pose2Sim demo clip (static camera, one moving person; a second person stands still
in the background) gives a person mask without any pose model: a pixel belongs to the
moving person in frame t when it differs from both frame t-15 and frame t+15 (the
minimum of the two differences removes the "ghosts" that plain frame differencing
leaves where the person was before or will be after). MediaPipe's keypoints must fall
on that mask, and, as a control that the check can fail, the same keypoints shifted
sideways must not.
"""

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from assets import pose2sim_video, run_tool

from rgbpose_dataprep.pose.mediapipe_backend import MEDIAPIPE_TO_COCO17, landmarks_to_coco17

REPO = Path(__file__).resolve().parents[1]
INSTALL = ("mediapipe is not installed; install it with: pip install --no-deps "
           "mediapipe==0.10.21 opencv-contrib-python-headless flatbuffers attrs 'protobuf<7'")

SCALE = 4  # Masks are computed at 1/4 resolution (270 x 480 for the 1080 x 1920 clip).
GAP = 15  # Frames between the compared frames (1/4 s at 60 fps).


@pytest.fixture(scope="module")
def mediapipe_ok():
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        pytest.skip(INSTALL)


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
    from rgbpose_dataprep.pose import create_pose_backend

    monkeypatch.setitem(sys.modules, "mediapipe", None)
    with pytest.raises(ImportError, match=r"pip install --no-deps mediapipe==0\.10\.21"):
        create_pose_backend("mediapipe")


def test_cpu_only_and_unshipped_weights_are_explained(mediapipe_ok):
    from rgbpose_dataprep.pose import create_pose_backend

    with pytest.raises(ValueError, match="CPU only"):
        create_pose_backend("mediapipe", device="cuda:0")
    with pytest.raises(ValueError, match="model_complexity"):
        create_pose_backend("mediapipe", model_complexity=5)


@pytest.fixture(scope="module")
def pose2sim_annotation(mediapipe_ok):
    """MediaPipe's annotation of the Pose2Sim clip (extracted once for this module)."""
    from rgbpose_dataprep.pose import annotate_video, create_pose_backend

    with create_pose_backend("mediapipe") as backend:
        return annotate_video(pose2sim_video(), backend, max_persons=2)


def test_keypoints_lie_on_the_moving_person(pose2sim_annotation):
    video, ann = pose2sim_video(), pose2sim_annotation
    assert ann["img_shape"] == (1920, 1080) and ann["total_frames"] == 100
    assert ann["keypoint"].shape == (1, 100, 17, 2)  # MediaPipe: one person.
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


def test_tool_over_a_folder_with_a_corrupt_video(mediapipe_ok, tmp_path):
    src = pose2sim_video()
    folder = tmp_path / "clips"
    folder.mkdir()
    write_subclip(src, folder / "early.mp4", 0, 15)
    write_subclip(src, folder / "late.mp4", 60, 15)
    (folder / "corrupt.mp4").write_bytes(src.read_bytes()[:40000])  # Truncated file.
    out = tmp_path / "ann.pkl"
    cmd = [sys.executable, str(REPO / "tools" / "extract_pose.py"), str(folder),
           "--out", str(out), "--backend", "mediapipe", "--no-progress"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stderr
    assert "FAILED" in run.stdout and "corrupt.mp4" in run.stdout

    import pickle

    with open(out, "rb") as f:
        data = pickle.load(f)
    assert data["split"] == {"all": ["early", "late"]}
    for ann in data["annotations"]:
        assert ann["img_shape"] == (480, 270) and ann["total_frames"] == 15
        assert ann["keypoint"].shape == (1, 15, 17, 2)
        assert ann["keypoint_score"].mean() > 0.5  # The person is found at 1/4 size too.

    # Rerun in-process: the two good videos are reused, the corrupt one fails again.
    assert run_tool("extract_pose", cmd[2:]) == 1


def test_extracted_annotation_trains_and_evaluates_through_the_dataset(pose2sim_annotation, tmp_path):
    """The extractor's output is a dataset annotation as is: one training epoch, one test."""
    import pickle

    from trainer_fixtures import tiny_cfg

    from rgbpose_plugin.config import merge_opts, stage_cfg
    from rgbpose_plugin.engine.tester import test
    from rgbpose_plugin.engine.trainer import train

    video = pose2sim_video()
    ann = dict(pose2sim_annotation, frame_dir=video.stem, label=1)
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
