"""Label maps: the shipped NTU lists and user files (.txt / .csv)."""

import pytest

from rgbpose_plugin.labels import load_label_map


def test_ntu_maps_have_official_sizes_and_order():
    ntu60 = load_label_map("ntu60")
    ntu120 = load_label_map("ntu120")
    assert len(ntu60) == len(set(ntu60)) == 60
    assert len(ntu120) == len(set(ntu120)) == 120
    assert ntu120[:60] == ntu60  # NTU-120 extends NTU-60: A001..A060 are shared.
    # Spot checks against the dataset authors' list (A001, A027, A060, A061, A120).
    assert ntu60[0] == "drink water"
    assert ntu60[26] == "jump up"
    assert ntu60[59] == "walking apart from each other"
    assert ntu120[60] == "put on headphone"
    assert ntu120[119] == "finger-guessing game (playing rock-paper-scissors)"
    assert all(name == name.strip() and name for name in ntu120)


def test_builtin_names_are_case_insensitive():
    assert load_label_map("NTU60") == load_label_map("ntu60")


def test_txt_file(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("walk\n\nrun \njump\n")
    assert load_label_map(path) == ["walk", "run", "jump"]
    assert load_label_map(str(path)) == ["walk", "run", "jump"]


def test_csv_one_column_with_and_without_header(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("walk\nrun\n")
    headed = tmp_path / "headed.csv"
    headed.write_text("name\nwalk\nrun\n")
    assert load_label_map(plain) == load_label_map(headed) == ["walk", "run"]


def test_csv_index_name_any_order_with_header(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("id,name\n2,jump\n0,walk\n1,run\n")
    assert load_label_map(path) == ["walk", "run", "jump"]


def test_csv_index_name_without_header(tmp_path):
    path = tmp_path / "map.csv"
    path.write_text("1,run\n0,walk\n")
    assert load_label_map(path) == ["walk", "run"]


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("gap.csv", "0,walk\n2,run\n", "indices must be 0..1"),
        ("repeat.csv", "0,walk\n0,run\n", "index 0 repeats"),
        ("dup.txt", "walk\nwalk\n", "appears twice"),
        ("empty.txt", "\n\n", "no class names"),
        ("bad.csv", "0,walk\nx,run,extra\n", "expected 'index,name'"),
    ],
)
def test_bad_files_name_the_file_and_problem(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        load_label_map(path)
    assert name in str(info.value)


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_label_map(tmp_path / "nope.txt")
    other = tmp_path / "classes.json"
    other.write_text("[]")
    with pytest.raises(ValueError, match=r"classes\.json.*\.txt or \.csv"):
        load_label_map(other)
