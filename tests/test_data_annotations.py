"""Annotation files: loading through iopath, split selection, validation messages."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from data_fixtures import make_annotation, write_annotation_file

from rgbpose_plugin.data.annotations import load_split, read_annotation_file
from rgbpose_plugin.errors import AnnotationError


def _file(tmp_path, anns, splits=None):
    return str(write_annotation_file(tmp_path / "ann.pkl", anns, splits))


def _good(n=3):
    return [make_annotation(f"vid{i}", 12, (108, 192), 2, label=i, seed=i) for i in range(n)]


def test_loads_split_in_file_order(tmp_path):
    anns = _good(4)
    path = _file(tmp_path, anns, {"train": ["vid3", "vid0", "vid2"], "val": ["vid1"]})
    usable, problems = load_split(path, "train", 17, num_classes=10)
    assert [a["frame_dir"] for a in usable] == ["vid0", "vid2", "vid3"]
    assert problems == []
    everything, _ = load_split(path, "", 17)  # no split name: all annotations
    assert len(everything) == 4


def _broken(name, **changes):
    ann = make_annotation(name, 12, (108, 192), 2, label=1)
    for key, value in changes.items():
        if value is None:
            del ann[key]
        else:
            ann[key] = value
    return ann


BAD_CASES = {
    "missing key": (dict(keypoint=None), "missing key(s) ['keypoint']"),
    "label range": (dict(label=10), "label 10 is not an integer in 0..9"),
    "label type": (dict(label=1.5), "label 1.5"),
    "keypoint shape": (dict(keypoint=np.zeros((2, 12, 15, 2), np.float32)), "M x T x 17 x 2"),
    "score shape": (dict(keypoint_score=np.ones((2, 12, 16), np.float32)), "keypoint_score"),
    "frames": (dict(total_frames=13), "total_frames is 13 but keypoint has 12 frames"),
    "no person": (dict(keypoint=np.zeros((0, 12, 17, 2), np.float32),
                       keypoint_score=np.zeros((0, 12, 17), np.float32)), "no person"),
    "img_shape": (dict(img_shape=(108,)), "img_shape"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_each_problem_is_named_with_file_and_frame_dir(tmp_path, case, caplog):
    changes, expected = BAD_CASES[case]
    anns = _good(2) + [_broken("bad_one", **changes)]
    path = _file(tmp_path, anns)
    with pytest.raises(AnnotationError) as info:
        load_split(path, "all", 17, num_classes=10)
    message = str(info.value)
    assert path in message and "'bad_one'" in message and expected in message
    # skip: logged, the bad sample left out, the others kept.
    with caplog.at_level(logging.WARNING):
        usable, problems = load_split(path, "all", 17, num_classes=10, on_error="skip")
    assert [a["frame_dir"] for a in usable] == ["vid0", "vid1"]
    assert len(problems) >= 1 and "bad_one" in caplog.text


def test_nan_keypoints_are_reported(tmp_path):
    bad = _broken("nan_vid")
    bad["keypoint"][1, 4, 3, 0] = np.nan
    path = _file(tmp_path, _good(1) + [bad])
    with pytest.raises(AnnotationError, match=r"'nan_vid'.*NaN/inf values in frames \[4\]"):
        load_split(path, "all", 17)


def test_split_problems(tmp_path):
    anns = _good(2)
    path = _file(tmp_path, anns + [dict(anns[0])],
                 {"train": ["vid0", "vid1", "ghost"], "val": ["vid1"]})
    with pytest.raises(AnnotationError, match="no split named 'test'.*'train', 'val'"):
        load_split(path, "test", 17)
    with pytest.raises(AnnotationError) as info:
        load_split(path, "train", 17)
    assert "1 frame_dir(s) with no annotation: 'ghost'" in str(info.value)
    assert "second annotation with the same frame_dir" in str(info.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(AnnotationError, match="not found"):
        read_annotation_file(str(tmp_path / "nope.pkl"))
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(AnnotationError, match="cannot read annotation file"):
        read_annotation_file(str(junk))
    wrong = write_annotation_file(tmp_path / "w.pkl", [])
    wrong.write_bytes(__import__("pickle").dumps([1, 2]))
    with pytest.raises(AnnotationError, match="expected a dict"):
        read_annotation_file(str(wrong))


def test_missing_scores_default_and_on_error_choice(tmp_path):
    ann = _broken("noscore", keypoint_score=None)
    path = _file(tmp_path, [ann])
    usable, _ = load_split(path, "all", 17)
    assert usable[0]["frame_dir"] == "noscore"
    with pytest.raises(ValueError, match="ON_ERROR"):
        load_split(path, "all", 17, on_error="ignore")
