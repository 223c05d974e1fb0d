"""Labels CSV and split rules for custom videos."""

import pytest

from rgbpose_dataprep.pose.metadata import read_labels_csv, split_by_column, split_by_ratio


def write(tmp_path, text, name="labels.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_indices_and_file_names_are_matched_by_stem(tmp_path):
    path = write(tmp_path, "video,label,split\nclips/a.mp4,0,train\nb.avi,2,val\nc,1,train\n")
    table = read_labels_csv(path)
    assert table.labels == {"a": 0, "b": 2, "c": 1}
    assert table.class_names is None and not table.derived_class_names
    assert split_by_column(table, "split") == {"train": ["a", "c"], "val": ["b"]}


def test_class_names_resolved_with_a_label_map(tmp_path):
    path = write(tmp_path, "video,label\na.mp4,jump up\nb.mp4,drink water\nc.mp4,5\n")
    table = read_labels_csv(path, ["drink water", "x", "jump up", "y", "z", "w"])
    assert table.labels == {"a": 2, "b": 0, "c": 5}


def test_class_names_without_a_map_become_sorted_classes(tmp_path):
    path = write(tmp_path, "video,label\na.mp4,walk\nb.mp4,run\nc.mp4,walk\n")
    table = read_labels_csv(path)
    assert table.class_names == ["run", "walk"] and table.derived_class_names
    assert table.labels == {"a": 1, "b": 0, "c": 1}


@pytest.mark.parametrize(
    "text, class_names, message",
    [
        ("vid,label\na,0\n", None, "must name the columns 'video' and 'label'"),
        ("video,label\na,0\na.mp4,1\n", None, "'a' appears on lines 2 and 3"),
        ("video,label\na,\n", None, "line 2: video 'a' has an empty label"),
        ("video,label\na,3\n", ["x", "y"], r"line 2: label 3 is outside 0\.\.1"),
        ("video,label\na,-1\n", None, "outside >= 0"),
        ("video,label\na,fly\n", ["walk"], "line 2: class name 'fly' is not in the label map"),
        ("video,label\na,walk\nb,0\n", None, "mixes class indices and class names"),
        ("video,label\n", None, "has no rows"),
    ],
)
def test_bad_csv_errors_name_file_and_problem(tmp_path, text, class_names, message):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        read_labels_csv(path, class_names)
    assert "labels.csv" in str(info.value)


def test_missing_csv_and_unknown_split_column(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_labels_csv(tmp_path / "nope.csv")
    table = read_labels_csv(write(tmp_path, "video,label\na,0\n"))
    with pytest.raises(ValueError, match="split column 'fold' is not in the labels CSV"):
        split_by_column(table, "fold")


def test_ratio_split_is_seeded_stratified_and_complete():
    stems = [f"v{i:02d}" for i in range(30)]
    labels = {s: i % 3 for i, s in enumerate(stems)}  # 10 videos per class.
    split = split_by_ratio(stems, labels, val_ratio=0.2, seed=7)
    assert sorted(split["train"] + split["val"]) == stems
    assert not set(split["train"]) & set(split["val"])
    for cls in range(3):  # round(10 * 0.2) = 2 validation videos per class.
        assert sum(labels[s] == cls for s in split["val"]) == 2
    assert split == split_by_ratio(list(reversed(stems)), labels, 0.2, seed=7)
    others = [split_by_ratio(stems, labels, 0.2, seed=s)["val"] for s in range(5)]
    assert any(v != split["val"] for v in others)  # The seed matters.


def test_ratio_split_keeps_a_training_video_per_class_and_checks_ratio():
    split = split_by_ratio(["only"], {"only": 0}, val_ratio=0.9)
    assert split == {"train": ["only"], "val": []}
    assert len(split_by_ratio([f"v{i}" for i in range(10)], None, 0.3)["val"]) == 3
    with pytest.raises(ValueError, match="val_ratio"):
        split_by_ratio(["a"], None, val_ratio=1.0)
