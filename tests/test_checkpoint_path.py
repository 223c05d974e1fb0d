"""demo_net's --checkpoint: a run folder, a stage folder or a file, via DONE.json."""

import json
from pathlib import Path

import pytest

from rgbpose_plugin.inference import InferenceError
from rgbpose_plugin.inference.checkpoint_path import resolve_checkpoint


def finish(stage_dir: Path, name: str, checkpoint: str) -> Path:
    """A stage folder as the recipe leaves it: checkpoints/<name> and DONE.json."""
    (stage_dir / "checkpoints").mkdir(parents=True)
    path = stage_dir / "checkpoints" / name
    path.write_bytes(b"weights")
    (stage_dir / "DONE.json").write_text(json.dumps({"checkpoint": checkpoint}))
    return path


def test_run_folder_gives_the_fused_models_final_checkpoint(tmp_path):
    fused = finish(tmp_path / "rgbpose", "checkpoint_epoch_00007.pyth",
                   str(tmp_path / "rgbpose" / "checkpoints" / "checkpoint_epoch_00007.pyth"))
    finish(tmp_path / "rgb_only", "checkpoint_epoch_00003.pyth", "unused")
    assert resolve_checkpoint(str(tmp_path)) == str(fused)
    assert resolve_checkpoint(str(tmp_path / "rgbpose")) == str(fused)
    assert resolve_checkpoint(str(fused)) == str(fused)  # a file is taken as it is


def test_relative_name_from_another_working_folder(tmp_path, monkeypatch):
    # The run was started elsewhere: DONE.json holds ./output/x/rgb_only/checkpoints/...
    rgb = finish(tmp_path / "rgb_only", "checkpoint_epoch_00012.pyth",
                 "./output/x/rgb_only/checkpoints/checkpoint_epoch_00012.pyth")
    monkeypatch.chdir(tmp_path)
    assert Path(resolve_checkpoint(str(tmp_path / "rgb_only"))) == rgb


def test_unfinished_or_broken_folders_are_named(tmp_path):
    with pytest.raises(InferenceError, match="without DONE.json.*has the recipe finished"):
        resolve_checkpoint(str(tmp_path))
    finish(tmp_path / "pose_only", "c.pyth", "c.pyth")
    with pytest.raises(InferenceError, match=r"finished stages with a model: .*pose_only"):
        resolve_checkpoint(str(tmp_path))
    (tmp_path / "rgbpose").mkdir()
    (tmp_path / "rgbpose" / "DONE.json").write_text(json.dumps({"checkpoint": "gone.pyth"}))
    with pytest.raises(InferenceError, match="DONE.json names the checkpoint gone.pyth"):
        resolve_checkpoint(str(tmp_path))
    (tmp_path / "rgbpose" / "DONE.json").write_text("{not json")
    with pytest.raises(InferenceError, match="no readable 'checkpoint' entry"):
        resolve_checkpoint(str(tmp_path / "rgbpose"))
