"""Skeletons of other tools -> annotation file: each format, the COCO-17 mapping, the
checks against the videos, labels and splits, and tools/import_skeletons.py feeding
training.

The files are written here in each format's documented layout; the keypoints are
chosen so that each joint's position says which joint it was (x = 100 + joint index).
"""

import csv
import json
import pickle

import numpy as np
import pytest
from assets import run_tool
from trainer_fixtures import make_tiny_dataset, tiny_cfg

from rgbpose_dataprep.importers import create_reader, find_sources
from rgbpose_dataprep.importers.convert import convert_skeletons
from rgbpose_dataprep.importers.openpose import BODY25_NAMES, COCO18_NAMES
from rgbpose_dataprep.pose.metadata import split_by_ratio
from rgbpose_plugin.fileio import write_h264
from rgbpose_plugin.keypoints import joint_index

W, H = 64, 48


def joints(num, y=20.0, score=0.9):
    """``[num, 3]``: joint j at (100 + j, y + j), so a mapped joint tells where it came from."""
    return np.stack([100.0 + np.arange(num), y + np.arange(num), np.full(num, score)], 1)


def write_video(path, frames=6):
    with write_h264(path) as out:
        for t in range(frames):
            out.write(np.full((H, W, 3), 10 * t, np.uint8))
    return path


def load(path):
    with open(path, "rb") as f:
        return pickle.load(f)


def convert(fmt, inputs, warnings=None, **kwargs):
    reader = create_reader(fmt, kwargs.pop("frame_offset", None))
    (stem, paths), = find_sources(inputs, reader).items()
    return convert_skeletons(stem, paths, reader, warn=(warnings if warnings is not None else []).append,
                             **kwargs)


def openpose_frame(folder, stem, t, people):
    """One frame as OpenPose --write_json writes it (version 1.3 layout)."""
    data = {"version": 1.3, "people": [
        {"person_id": [-1], "pose_keypoints_2d": p.reshape(-1).tolist(), "face_keypoints_2d": [],
         "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [], "pose_keypoints_3d": [],
         "face_keypoints_3d": [], "hand_left_keypoints_3d": [], "hand_right_keypoints_3d": []}
        for p in people]}
    path = folder / f"{stem}_{t:012d}_keypoints.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("names", [BODY25_NAMES, COCO18_NAMES], ids=["BODY_25", "COCO-18"])
def test_openpose_joints_land_on_their_coco17_joints(tmp_path, names):
    for t in range(3):
        openpose_frame(tmp_path, "clip", t, [joints(len(names))] if t != 1 else [])
    ann = convert("openpose", [tmp_path], size=(200, 100))
    kps = ann["keypoint"][0, 0]
    openpose_index = {"right_wrist": 4, "left_shoulder": 5, "nose": 0}
    openpose_index.update({"right_eye": 15, "left_ankle": 14, "right_hip": 9} if len(names) == 25
                          else {"right_eye": 14, "left_ankle": 13, "right_hip": 8})
    for name, index in openpose_index.items():
        assert kps[joint_index(name)][0] == 100 + index, name
    assert joint_index("right_wrist") == 10
    assert ann["total_frames"] == 3 and ann["img_shape"] == (100, 200)
    assert ann["keypoint_score"][0, 1].sum() == 0  # nobody in frame 1


def test_coco_results_frames_come_from_image_id_and_offset(tmp_path):
    entries = [{"image_id": f"{i:06d}.jpg", "category_id": 1, "score": 0.9,
                "keypoints": joints(17, y=10 + i, score=2).reshape(-1).tolist()} for i in (1, 3)]
    (tmp_path / "clip.json").write_text(json.dumps(entries))
    ann = convert("coco", [tmp_path / "clip.json"], size=(200, 100), frame_offset=1)
    assert ann["total_frames"] == 3
    assert ann["keypoint"][0, 0, 0, 1] == 11 and ann["keypoint"][0, 2, 0, 1] == 13
    assert ann["keypoint_score"][0, 1].sum() == 0 and ann["keypoint_score"].max() == 1


def test_mmpose_predictions_count_frame_id_from_one(tmp_path):
    frames = [{"frame_id": t + 1, "instances": [
        {"keypoints": joints(17, y=t)[:, :2].tolist(), "keypoint_scores": [0.8] * 17,
         "bbox": [[90.0, 0.0, 130.0, 40.0]], "bbox_score": 0.9}] * (t != 2)} for t in range(4)]
    (tmp_path / "clip.json").write_text(json.dumps({"meta_info": {"dataset_name": "coco"},
                                                    "instance_info": frames}))
    ann = convert("mmpose", [tmp_path], size=(200, 100))
    assert ann["total_frames"] == 4 and ann["keypoint"][0, 3, 0, 1] == 3
    assert ann["keypoint_score"][0, 2].sum() == 0 and ann["keypoint_score"][0, 0, 0] == pytest.approx(0.8)


def test_rtmlib_npz_is_tracked_and_numpy_slots_are_kept(tmp_path):
    kps = np.zeros((3, 2, 17, 2), np.float32)
    kps[:, 0] = joints(17)[:, :2]
    kps[:, 1] = joints(17, y=80)[:, :2] + 60
    scores = np.full((3, 2, 17), 0.9, np.float32)
    # rtmlib's order changes between frames; the tracker gives each person one slot.
    kps[1] = kps[1, ::-1]
    np.savez(tmp_path / "clip.npz", keypoints=kps, scores=scores)
    ann = convert("rtmlib", [tmp_path / "clip.npz"], size=(200, 100))
    assert ann["keypoint"].shape == (2, 3, 17, 2)
    assert np.all(ann["keypoint"][0, :, 0, 1] == ann["keypoint"][0, 0, 0, 1])
    array = np.concatenate([kps, scores[..., None]], -1)
    array[:, 1, :, 2] = 0.2  # slot 1 is the less visible person: it comes second
    np.save(tmp_path / "clip.npy", array[:, ::-1])
    ann = convert("numpy", [tmp_path / "clip.npy"], size=(200, 100), max_persons=1)
    assert ann["keypoint"].shape == (1, 3, 17, 2)
    assert np.allclose(ann["keypoint_score"], 0.9)


def test_normalised_keypoints_are_scaled_or_refused_without_a_size(tmp_path):
    array = np.zeros((2, 1, 17, 3), np.float32)
    array[..., 0], array[..., 1], array[..., 2] = 0.5, 0.25, 1.0
    np.save(tmp_path / "clip.npy", array)
    warnings = []
    ann = convert("numpy", [tmp_path], warnings, size=(W, H))
    assert np.allclose(ann["keypoint"][0, :, :, 0], W / 2) and np.allclose(ann["keypoint"][0, :, :, 1], H / 4)
    assert "normalised" in warnings[0] and f"{W}x{H}" in warnings[0]
    with pytest.raises(ValueError, match=r"clip\.npy: the keypoints are normalised .*--size WxH"):
        convert("numpy", [tmp_path])


def test_frame_counts_and_sizes_are_checked_against_the_video(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "clip.mp4", frames=6)
    array = np.zeros((8, 1, 17, 3), np.float32)
    array[..., :2], array[..., 2] = 20.0, 1.0
    np.save(tmp_path / "clip.npy", array)
    out = tmp_path / "ann.pkl"
    assert run_tool("import_skeletons", [str(tmp_path / "clip.npy"), "--out", str(out), "--format",
                                         "numpy", "--videos", str(videos)]) == 2
    np.save(tmp_path / "clip.npy", array[:6])
    assert run_tool("import_skeletons", [str(tmp_path / "clip.npy"), "--out", str(out), "--format",
                                         "numpy", "--videos", str(videos), "--size", "64x48"]) == 0
    ann = load(out)["annotations"][0]
    assert ann["img_shape"] == (H, W) and ann["total_frames"] == 6
    with pytest.raises(ValueError, match=r"clip\.npy: 8 frames of skeletons but the video .*clip\.mp4 "
                                         r"has 6 frames; frame 6 and later are beyond"):
        np.save(tmp_path / "clip.npy", array)
        convert("numpy", [tmp_path / "clip.npy"], video=_probe(videos / "clip.mp4"))
    np.save(tmp_path / "clip.npy", array[:6])
    warnings = []  # --size: the keypoints' frame size; the video may be re-encoded smaller
    ann = convert("numpy", [tmp_path / "clip.npy"], warnings, video=_probe(videos / "clip.mp4"),
                  size=(128, 96))
    assert ann["img_shape"] == (96, 128) and not warnings
    convert("numpy", [tmp_path / "clip.npy"], warnings, video=_probe(videos / "clip.mp4"), size=(100, 48))
    assert "--size 100x48 has another aspect ratio than the video" in warnings[0]


def _probe(path):
    from rgbpose_dataprep.importers import probe_video

    info = probe_video(path)
    assert (info.frames, info.width, info.height) == (6, W, H)
    return info


def test_nan_and_far_outside_keypoints_are_reported_with_file_and_frame(tmp_path):
    array = np.zeros((5, 1, 17, 3), np.float32)
    array[..., :2], array[..., 2] = 20.0, 1.0
    array[3, 0, 4, 0] = np.nan
    array[1, 0, 2, 0] = 5 * W
    np.save(tmp_path / "clip.npy", array)
    warnings = []
    ann = convert("numpy", [tmp_path], warnings, size=(W, H))
    assert any("clip.npy, frame(s) 3: NaN" in w for w in warnings), warnings
    assert any("clip.npy, frame(s) 1: keypoints outside the 64x48 frame" in w for w in warnings), warnings
    assert ann["keypoint_score"][0, 3, 4] == 0 and np.isfinite(ann["keypoint"]).all()


def test_a_file_of_another_format_names_the_field_and_the_likely_format(tmp_path, capsys):
    openpose_frame(tmp_path, "clip", 0, [joints(25)])
    path = tmp_path / "clip_000000000000_keypoints.json"
    json_list = tmp_path / "list"
    json_list.mkdir()
    (json_list / "x.json").write_text(json.dumps([json.loads(path.read_text())]))
    code = run_tool("import_skeletons", [str(json_list), "--out", str(tmp_path / "a.pkl"), "--format",
                                         "coco", "--size", "64x48"])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "a.pkl").exists()
    assert ("x.json is not COCO keypoint results: entry 0 has no 'keypoints' (found 'version', "
            "'people'): is it --format openpose?") in err
    with pytest.raises(ValueError, match=r"is not mmpose predictions: frame entry 0 has no 'instances'"
                                         r".*is it --format openpose"):
        convert("mmpose", [json_list], size=(W, H))


def test_labels_and_val_ratio_split_as_extract_pose_writes_them(tmp_path, capsys):
    stems = [f"v{i}" for i in range(8)]
    for i, stem in enumerate(stems):
        array = np.zeros((4, 1, 17, 3), np.float32)
        array[..., :2], array[..., 2] = 10.0 + i, 0.9
        np.save(tmp_path / f"{stem}.npy", array)
    labels = tmp_path / "labels.csv"
    labels.write_text("video,label\n" + "".join(f"{s}.mp4,{'jump' if i % 2 else 'sit'}\n"
                                                for i, s in enumerate(stems)))
    out = tmp_path / "ann.pkl"
    argv = [str(tmp_path), "--out", str(out), "--format", "numpy", "--size", "64x48", "--labels",
            str(labels), "--val-ratio", "0.5", "--seed", "3", "--no-progress"]
    assert run_tool("import_skeletons", argv) == 0
    data = load(out)
    expected_labels = {s: 0 if i % 2 else 1 for i, s in enumerate(stems)}  # sorted: jump, sit
    assert {a["frame_dir"]: a["label"] for a in data["annotations"]} == expected_labels
    assert data["split"] == split_by_ratio(stems, expected_labels, 0.5, 3)
    assert (tmp_path / "ann.labels.txt").read_text() == "jump\nsit\n"
    assert "8 videos imported, 0 failed" in capsys.readouterr().out
    labels.write_text("video,label\nv0,sit\nmissing,sit\n")
    assert run_tool("import_skeletons", argv) == 2
    assert "7 videos have no label in the labels CSV: ['v1'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def test_imported_coco_results_train_the_pose_model(tiny_data, tmp_path):
    from rgbpose_plugin.config import stage_cfg
    from rgbpose_plugin.engine.trainer import train

    source = load(tiny_data)
    split_of = {stem: name for name, stems in source["split"].items() for stem in stems}
    folder = tmp_path / "coco"
    folder.mkdir()
    with open(tmp_path / "coco" / "video_labels.csv", "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["video", "label", "split"])
        for ann in source["annotations"]:
            entries = [{"image_id": t, "category_id": 1, "score": 1.0, "keypoints": np.concatenate(
                [ann["keypoint"][m, t], ann["keypoint_score"][m, t, :, None]], 1).reshape(-1).tolist()}
                for m in range(len(ann["keypoint"])) for t in range(ann["total_frames"])
                if ann["keypoint_score"][m, t].any()]
            (folder / f"{ann['frame_dir']}.json").write_text(json.dumps(entries))
            rows.writerow([ann["frame_dir"], ann["label"], split_of[ann["frame_dir"]]])
    out = tmp_path / "imported.pkl"
    videos = tiny_data.parent / "videos"
    height, width = source["annotations"][0]["img_shape"]  # the videos are re-encoded smaller
    assert run_tool("import_skeletons", [str(folder), "--out", str(out), "--format", "coco", "--videos",
                                         str(videos), "--size", f"{width}x{height}", "--labels",
                                         str(tmp_path / "coco" / "video_labels.csv"), "--split-by", "split",
                                         "--no-progress"]) == 0
    imported = load(out)
    assert imported["split"] == {k: sorted(v) for k, v in source["split"].items()}
    by_dir = {a["frame_dir"]: a for a in imported["annotations"]}
    for ann in source["annotations"]:
        got = by_dir[ann["frame_dir"]]
        assert got["label"] == ann["label"] and got["total_frames"] == ann["total_frames"]
        assert got["img_shape"] == tuple(ann["img_shape"])
        best = np.argmax(ann["keypoint_score"].sum((1, 2)))
        assert np.allclose(got["keypoint"][0], ann["keypoint"][best], atol=1e-3)
    cfg = stage_cfg(tiny_cfg(out, tmp_path / "run", "DATA.PATH_PREFIX", str(videos)), "pose_only")
    record = train(cfg)
    assert record["checkpoint"] and "pose" in record["val"]
    stats = (tmp_path / "run" / "pose_only" / "stats.jsonl").read_text()
    assert '"kind": "train_iter"' in stats and '"kind": "val"' in stats
