"""Videos -> annotation file: format, per-video cache, failures, labels, splits, and
tools/extract_pose.py.

A fake backend stands in for a pose model: it "detects" the bright square drawn in
small synthetic videos, so the keypoints it reports are known without any model.
"""

import pickle

import av
import numpy as np
import pytest
from assets import run_tool

from rgbpose_dataprep.pose import base
from rgbpose_dataprep.pose.annotate import annotate_video
from rgbpose_dataprep.pose.base import PoseBackend
from rgbpose_dataprep.pose.extract import extract_annotations, find_videos, parts_dir
from rgbpose_plugin.fileio import VideoDecodeError, VideoFrames

OFFSETS = np.linspace(-4, 4, 34, dtype=np.float32).reshape(17, 2)


class SquareBackend(PoseBackend):
    """One 'person' at the centre of the bright square, if any; counts its calls."""

    name = "square"

    def __init__(self, score=0.8, **settings):
        super().__init__()
        self.score = score
        self.settings = dict(score=score, **settings)
        self.calls = 0
        self.resets = 0

    def __call__(self, frame_rgb):
        self.calls += 1
        ys, xs = np.nonzero(frame_rgb[..., 0] > 128)
        if len(xs) == 0:
            return base.empty_poses()
        centre = np.array([xs.mean(), ys.mean()], np.float32)
        return (centre + OFFSETS)[None], np.full((1, 17), self.score, np.float32)

    def reset(self):
        self.resets += 1


class JumpingSingleBackend(SquareBackend):
    """A single-person backend whose one detection jumps to a far 'passer-by' every
    third frame (as mediapipe's can)."""

    name = "jumping"
    single_person = True

    def __call__(self, frame_rgb):
        keypoints, scores = super().__call__(frame_rgb)
        if self.calls % 3 == 0 and len(keypoints):
            keypoints = keypoints + np.float32(1000)
        return keypoints, scores


def test_single_person_backend_keeps_one_slot(video_dir):
    ann = annotate_video(video_dir / "alpha.mp4", JumpingSingleBackend(), max_persons=2)
    assert ann["keypoint"].shape == (1, 12, 17, 2)
    assert (ann["keypoint_score"][0] > 0).all()  # every frame's detection is in the slot
    assert (ann["keypoint"][0, 2::3] > 900).all()  # including the passer-by's frames


def square_x(t):
    """x of the square's left edge in frame t of write_video's clips."""
    return 4 + 3 * t


def write_video(path, frames=12, width=64, height=48):
    """A small H.264 clip: a 10x10 white square moving right, on black."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for t in range(frames):
            img = np.zeros((height, width, 3), np.uint8)
            img[10:20, square_x(t):square_x(t) + 10] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def video_dir(tmp_path):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_video(folder / "alpha.mp4", frames=12)
    write_video(folder / "beta.mp4", frames=7, width=80, height=40)
    (folder / "broken.mp4").write_bytes(b"this is not a video")
    (folder / "notes.txt").write_text("not a video either, and not picked up")
    return folder


def load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def test_annotation_entry_has_the_design_format(video_dir):
    backend = SquareBackend()
    ann = annotate_video(video_dir / "alpha.mp4", backend, max_persons=2)
    assert set(ann) == {
        "frame_dir", "label", "img_shape", "original_shape", "total_frames",
        "keypoint", "keypoint_score",
    }
    assert ann["frame_dir"] == "alpha" and ann["label"] == -1
    assert ann["img_shape"] == ann["original_shape"] == (48, 64)  # (H, W)
    assert ann["total_frames"] == 12 == backend.calls and backend.resets == 1
    assert ann["keypoint"].shape == (1, 12, 17, 2) and ann["keypoint"].dtype == np.float32
    assert ann["keypoint_score"].shape == (1, 12, 17)
    assert ann["keypoint_score"].dtype == np.float32
    # Keypoints are in pixels of the decoded frame: x follows the moving square.
    centre_x = ann["keypoint"][0, :, :, 0].mean(1)
    assert np.allclose(centre_x, [square_x(t) + 4.5 for t in range(12)], atol=1.0)
    assert np.allclose(ann["keypoint"][0, :, :, 1].mean(1), 14.5, atol=1.0)


def test_directory_run_reports_failures_and_reuses_finished_videos(video_dir, tmp_path):
    out = tmp_path / "ann" / "ann.pkl"
    videos = find_videos([video_dir])
    assert [v.name for v in videos] == ["alpha.mp4", "beta.mp4", "broken.mp4"]

    backend = SquareBackend()
    first = extract_annotations(videos, out, backend, progress=False)
    assert not first.ok and list(first.failed) == [str(video_dir / "broken.mp4")]
    assert "broken.mp4" in first.summary() and "1 failed" in first.summary()
    assert first.extracted == ["alpha", "beta"] and backend.calls == 12 + 7
    data = load(out)  # Written despite the failure, with the good videos only.
    assert [a["frame_dir"] for a in data["annotations"]] == ["alpha", "beta"]
    assert data["split"] == {"all": ["alpha", "beta"]}
    assert sorted(p.name for p in parts_dir(out).iterdir()) == ["alpha.pkl", "beta.pkl"]

    # Rerun: nothing is recomputed; the broken video is retried and fails again.
    again = SquareBackend()
    second = extract_annotations(videos, out, again, progress=False)
    assert again.calls == 0 and second.reused == ["alpha", "beta"]
    assert list(second.failed) == [str(video_dir / "broken.mp4")]
    reused = load(out)["annotations"]
    for before, after in zip(data["annotations"], reused):
        assert np.array_equal(before["keypoint"], after["keypoint"])

    # Repair the broken video: only it is extracted.
    write_video(video_dir / "broken.mp4", frames=5)
    fixed = SquareBackend()
    third = extract_annotations(videos, out, fixed, progress=False)
    assert third.ok and third.extracted == ["broken"] and fixed.calls == 5
    assert load(out)["split"] == {"all": ["alpha", "beta", "broken"]}


def test_changed_video_or_settings_are_recomputed(video_dir, tmp_path):
    out = tmp_path / "ann.pkl"
    videos = [video_dir / "alpha.mp4", video_dir / "beta.mp4"]
    extract_annotations(videos, out, SquareBackend(), progress=False)

    write_video(video_dir / "alpha.mp4", frames=9)  # Same name, new content.
    backend = SquareBackend()
    result = extract_annotations(videos, out, backend, progress=False)
    assert result.extracted == ["alpha"] and result.reused == ["beta"] and backend.calls == 9

    other = SquareBackend(score=0.5)  # Other settings: the cache does not apply.
    result = extract_annotations(videos, out, other, progress=False)
    assert result.extracted == ["alpha", "beta"]
    assert np.all(load(out)["annotations"][1]["keypoint_score"] == 0.5)

    (parts_dir(out) / "beta.pkl").write_bytes(b"damaged")  # A damaged part is redone.
    result = extract_annotations(videos, out, other, progress=False)
    assert result.extracted == ["beta"]


def test_labels_and_splits_are_applied_and_must_cover_every_video(video_dir, tmp_path):
    out = tmp_path / "ann.pkl"
    videos = [video_dir / "alpha.mp4", video_dir / "beta.mp4"]
    backend = SquareBackend()
    with pytest.raises(ValueError, match=r"1 videos have no label.*beta"):
        extract_annotations(videos, out, backend, labels={"alpha": 0}, progress=False)
    assert backend.calls == 0  # Checked before any extraction.

    splits = {"train": ["alpha"], "val": ["beta", "gone"]}
    extract_annotations(
        videos, out, backend, labels={"alpha": 3, "beta": 1}, splits=splits, progress=False
    )
    data = load(out)
    assert [a["label"] for a in data["annotations"]] == [3, 1]
    assert data["split"] == {"train": ["alpha"], "val": ["beta"]}


def test_backend_with_wrong_output_fails_that_video_with_a_clear_message(video_dir, tmp_path):
    class Broken(SquareBackend):
        name = "broken-backend"

        def __call__(self, frame_rgb):
            return np.zeros((1, 33, 2)), np.zeros((1, 33))

    result = extract_annotations(
        [video_dir / "alpha.mp4"], tmp_path / "a.pkl", Broken(), progress=False
    )
    message = result.failed[str(video_dir / "alpha.mp4")]
    assert "broken-backend backend" in message and "frame 0" in message and "[P, 17, 2]" in message


def test_find_videos_rules(video_dir, tmp_path):
    nested = video_dir / "sub"
    nested.mkdir()
    write_video(nested / "gamma.mkv", frames=2)
    names = [v.name for v in find_videos([video_dir], recursive=True)]
    assert names == ["alpha.mp4", "beta.mp4", "broken.mp4", "gamma.mkv"]
    assert find_videos([video_dir / "alpha.mp4", video_dir / "alpha.mp4"]) == [
        video_dir / "alpha.mp4"
    ]
    write_video(nested / "alpha.avi", frames=2)
    with pytest.raises(ValueError, match="share the name 'alpha'"):
        find_videos([video_dir], recursive=True)
    with pytest.raises(FileNotFoundError, match="missing"):
        find_videos([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no video files"):
        find_videos([tmp_path / "empty"])


def test_video_errors_name_the_file(video_dir, tmp_path):
    with pytest.raises(VideoDecodeError, match="broken.mp4: cannot open as a video"):
        list(VideoFrames(video_dir / "broken.mp4"))
    with pytest.raises(VideoDecodeError, match="nope.mp4: file not found"):
        VideoFrames(tmp_path / "nope.mp4")
    assert len(list(VideoFrames(video_dir / "beta.mp4"))) == 7


@pytest.fixture
def fake_backend_registered(monkeypatch):
    monkeypatch.setitem(base._BACKENDS, "square", SquareBackend)


def test_cli_exit_status_summary_and_labels(video_dir, tmp_path, capsys, fake_backend_registered):
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label,fold\nalpha.mp4,walk,train\nbeta.mp4,run,val\n"
                      "broken.mp4,walk,train\n")
    out = tmp_path / "out" / "ann.pkl"
    args = [str(video_dir), "--out", str(out), "--backend", "square", "--no-progress",
            "--labels", str(labels), "--split-by", "fold"]
    assert run_tool("extract_pose", args) == 1  # One video failed.
    printed = capsys.readouterr()
    assert "FAILED" in printed.out and "broken.mp4" in printed.out
    data = load(out)
    assert {a["frame_dir"]: a["label"] for a in data["annotations"]} == {"alpha": 1, "beta": 0}
    assert data["split"] == {"train": ["alpha"], "val": ["beta"]}
    # Names without --label-map: the derived classes are written next to the output.
    assert (tmp_path / "out" / "ann.labels.txt").read_text().split("\n")[:2] == ["run", "walk"]

    (video_dir / "broken.mp4").unlink()
    # A row whose video is gone is an error naming it, not a silently smaller dataset.
    assert run_tool("extract_pose", args[:-2] + ["--val-ratio", "0.5", "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "names 1 video(s) not found among the input videos" in err and "['broken']" in err
    labels.write_text("video,label,fold\nalpha.mp4,walk,train\nbeta,run,val\n")  # stem works too
    assert run_tool("extract_pose", args[:-2] + ["--val-ratio", "0.5", "--seed", "3"]) == 0
    split = load(out)["split"]
    assert sorted(split) == ["train", "val"]
    assert sorted(split["train"] + split["val"]) == ["alpha", "beta"]


def test_cli_input_errors_exit_2_before_extracting(video_dir, tmp_path, capsys,
                                                   fake_backend_registered):
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\nalpha.mp4,0\n")
    out = tmp_path / "ann.pkl"
    base_args = [str(video_dir / "alpha.mp4"), str(video_dir / "beta.mp4"), "--out", str(out),
                 "--backend", "square", "--no-progress"]
    assert run_tool("extract_pose", base_args + ["--labels", str(labels)]) == 2
    assert "beta" in capsys.readouterr().err
    assert run_tool("extract_pose", base_args + ["--split-by", "fold"]) == 2
    assert "--split-by needs --labels" in capsys.readouterr().err
    assert run_tool("extract_pose", base_args + ["--label-map", str(tmp_path / "none.txt")]) == 2
    assert "none.txt" in capsys.readouterr().err
    assert not out.exists()


def test_output_loads_with_the_training_data_loader(video_dir, tmp_path):
    annotations = pytest.importorskip("rgbpose_plugin.data.annotations")
    out = tmp_path / "ann.pkl"
    extract_annotations(
        [video_dir / "alpha.mp4", video_dir / "beta.mp4"], out, SquareBackend(),
        labels={"alpha": 0, "beta": 1}, splits={"train": ["alpha", "beta"]}, progress=False,
    )
    usable, problems = annotations.load_split(str(out), "train", num_joints=17, num_classes=2)
    assert problems == [] and [a["frame_dir"] for a in usable] == ["alpha", "beta"]
