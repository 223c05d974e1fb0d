"""ONNX and TorchScript export (rgbpose_plugin.export, tools/export_model.py) and exported
models in tools/demo_net.py --model.

The three model kinds are exported at the NTU size (full architecture, configs/rgbpose_ntu.yaml
and each kind's test settings, seeded random weights) and must reproduce PyTorch within 1e-4
on a batch of 2 (exported with 1: the batch is free). The command lines run on the tiny
trained model of the tiny generated dataset, with verification on one of its real videos.
"""

import json
import pickle
import re
import shutil
import subprocess
import sys

import pytest
import torch
from assets import run_tool
from fvcore.common.config import CfgNode
from trainer_fixtures import ROOT, TINY_CLASSES, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import load_cfg, stage_cfg
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.export import export_onnx, export_torchscript, input_shapes, random_inputs
from rgbpose_plugin.inference import InferenceError, OnnxModel, TorchScriptModel, load_exported, run_demo
from rgbpose_plugin.model_kinds import MODEL_KINDS
from rgbpose_plugin.models import build_model
from rgbpose_plugin.stage_graph import stage_that_tests

pytest.importorskip("onnxruntime", reason='the export extra is not installed: pip install -e ".[export]"')

NTU_SHAPES = {  # (C, T, H, W) of one test clip, per kind's stream
    "RGBPoseConv3D": {"rgb": (3, 8, 256, 256), "pose": (17, 32, 64, 64)},
    "RGBSlowOnly": {"rgb": (3, 8, 224, 224)},
    "PoseSlowOnly": {"pose": (17, 32, 64, 64)},
}
TOP_LINE = re.compile(r"^\s+(\d)\. (.+?)\s+(\d+\.\d+)%$")
DIFF = re.compile(r"(\w+_logits) (\d\.\d+e[-+]\d+)")


def ntu_model(model_name: str):
    """The NTU test config of ``model_name`` and the model with seeded random weights."""
    base = load_cfg(str(ROOT / "configs" / "rgbpose_ntu.yaml"))
    cfg = stage_cfg(base, stage_that_tests(model_name).name)
    torch.manual_seed(0)
    return build_model(cfg).eval(), cfg


def largest_difference(model, runner, inputs) -> float:
    with torch.no_grad():
        expected, got = model(list(inputs)), runner(list(inputs))
    assert got.keys() == expected.keys()
    return max(float((got[s] - expected[s]).abs().max()) for s in expected)


@pytest.mark.slow
@pytest.mark.parametrize("kind", MODEL_KINDS, ids=lambda k: k.key)
def test_onnx_at_ntu_size(kind, tmp_path):
    model, cfg = ntu_model(kind.name)
    assert input_shapes(cfg) == NTU_SHAPES[kind.name]
    names = [f"action {i}" for i in range(60)]
    meta = export_onnx(model, cfg, tmp_path / "model.onnx", class_names=names)
    on_disk = json.loads((tmp_path / "model.json").read_text())
    assert on_disk == meta and sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.onnx"]
    assert (meta["format"], meta["kind"], meta["model_name"]) == ("onnx", kind.key, kind.name)
    assert meta["inputs"] == [{"name": s, "shape": ["N", *NTU_SHAPES[kind.name][s]], "dtype": "float32"}
                              for s in kind.streams]
    assert [(o["name"], o["stream"], o["shape"]) for o in meta["outputs"]] == [
        (f"{s}_logits", s, ["N", 60]) for s in kind.streams]
    assert meta["class_names"] == names and meta["test_views"] == 10 and meta["opset"] >= 17
    assert list(meta["normalisation"]) == list(kind.streams)
    if "rgb" in kind.streams:
        assert meta["normalisation"]["rgb"]["mean"] == [0.485, 0.456, 0.406]
        assert meta["normalisation"]["rgb"]["std"] == [0.229, 0.224, 0.225]
    stored = CfgNode.load_cfg(meta["config"])  # the whole test config, to rebuild the pipeline
    assert stored.MODEL.MODEL_NAME == kind.name and stored.DATA.TEST_CROP_SIZE == cfg.DATA.TEST_CROP_SIZE

    runner = OnnxModel(tmp_path / "model.onnx")
    assert largest_difference(model, runner, random_inputs(cfg, 2, seed=3)) <= 1e-4
    if kind.key == "rgbpose":  # a wrong input names the shape the file expects
        wrong = [torch.zeros(1, 3, 8, 224, 224), torch.zeros(1, 17, 32, 64, 64)]
        expected = ("input 'rgb' has shape (1, 3, 8, 224, 224); the exported model expects "
                    "(N, 3, 8, 256, 256)")
        with pytest.raises(InferenceError, match=re.escape(f"{tmp_path}/model.onnx: {expected}")):
            runner(wrong)
        with pytest.raises(InferenceError, match=r"takes 2 input\(s\) \(rgb, pose\), got 1"):
            runner(wrong[:1])


@pytest.mark.slow
def test_torchscript_at_ntu_size(tmp_path):
    model, cfg = ntu_model("PoseSlowOnly")
    meta = export_torchscript(model, cfg, tmp_path / "pose.pt", class_names=[str(i) for i in range(60)])
    assert meta["format"] == "torchscript" and (tmp_path / "pose.json").is_file()
    runner = TorchScriptModel(tmp_path / "pose.pt")
    assert largest_difference(model, runner, random_inputs(cfg, 2, seed=3)) <= 1e-4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-epoch tiny fused model on the tiny dataset, and one of its test videos."""
    root = tmp_path_factory.mktemp("export")
    ann_file = make_tiny_dataset(root / "data")
    checkpoint = train(stage_cfg(tiny_cfg(ann_file, root / "run"), "rgbpose"))["checkpoint"]
    video = pickle.loads(ann_file.read_bytes())["split"]["test"][0]
    return {"ann_file": ann_file, "checkpoint": checkpoint, "root": root,
            "video": ann_file.parent / "videos" / f"{video}.mp4"}


@pytest.fixture(scope="module")
def exported(trained):
    """tools/export_model.py in a subprocess: ONNX, verified on random inputs (batch 2) and
    on the real test input of a video."""
    out = trained["root"] / "exported" / "model.onnx"
    cmd = [sys.executable, str(ROOT / "tools" / "export_model.py"), "--checkpoint", trained["checkpoint"],
           "--out", str(out), "--video", str(trained["video"]), "--skeleton", str(trained["ann_file"]),
           "--batch", "2"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return {"out": out, "stdout": res.stdout}


def test_export_command_line(trained, exported):
    printed = exported["stdout"]
    assert f"wrote {exported['out']} (onnx, RGBPoseConv3D, inputs rgb (N, 3, 4, 32, 32), " \
           f"pose (N, 17, 16, 8, 8))" in printed
    assert "random, batch 2: largest |difference|" in printed
    assert f"{trained['video'].name}, 2 views: largest |difference|" in printed
    diffs = DIFF.findall(printed)
    assert [n for n, _ in diffs] == ["rgb_logits", "pose_logits"] * 2
    assert all(float(v) <= 1e-4 for _, v in diffs)
    assert printed.count("PyTorch eager") == 2 and printed.count("onnxruntime") == 2
    meta = json.loads(exported["out"].with_suffix(".json").read_text())
    assert meta["class_names"] == TINY_CLASSES  # labels.txt beside the dataset
    assert meta["checkpoint"] == str(trained["checkpoint"])


def top_rows(text: str):
    return [(m.group(2), m.group(3)) for line in text.splitlines() if (m := TOP_LINE.match(line))]


def test_demo_with_the_exported_model(trained, exported, tmp_path, capsys):
    common = ["--video", str(trained["video"]), "--skeleton", str(trained["ann_file"]), "--no-video",
              "--quiet"]
    assert run_tool("demo_net", ["--checkpoint", trained["checkpoint"], "--out", str(tmp_path / "pt"),
                                 *common]) == 0
    from_torch = capsys.readouterr().out
    assert run_tool("demo_net", ["--model", str(exported["out"]), "--out", str(tmp_path / "onnx"),
                                 *common]) == 0
    from_onnx = capsys.readouterr().out
    rows = top_rows(from_onnx)
    assert len(rows) == 3 * len(TINY_CLASSES) and rows == top_rows(from_torch)  # names, 2 decimals
    report = json.loads((tmp_path / "onnx" / "prediction.json").read_text())
    assert report["checkpoint"] == str(exported["out"]) and report["device"] == "cpu"
    # --cfg belongs to checkpoints; the config of an exported model is in its JSON.
    assert run_tool("demo_net", ["--model", str(exported["out"]), "--cfg", "x.yaml",
                                 "--out", str(tmp_path), *common]) == 2
    assert "--cfg does not apply to the exported model" in capsys.readouterr().err


def test_torchscript_in_the_demo(trained, exported, tmp_path):
    from rgbpose_plugin.inference import load_model

    model, cfg, _ = load_model(trained["checkpoint"])
    export_torchscript(model, cfg, tmp_path / "model.pt", class_names=TINY_CLASSES)
    common = dict(skeleton=str(trained["ann_file"]), write_video=False)
    ours = run_demo(None, str(trained["video"]), str(tmp_path / "ts"), model_file=str(tmp_path / "model.pt"),
                    **common)
    theirs = run_demo(trained["checkpoint"], str(trained["video"]), str(tmp_path / "pt"), **common)
    for stream in ("rgb", "pose", "fused"):
        assert torch.allclose(torch.from_numpy(ours.prediction.probs[stream]),
                              torch.from_numpy(theirs.prediction.probs[stream]), atol=1e-6)
    # model.onnx and model.pt share model.json: the ONNX file beside this JSON is refused.
    shutil.copy(exported["out"], tmp_path / "model.onnx")
    with pytest.raises(InferenceError, match=r"model.json describes model.pt \(torchscript\), not "
                                             r"model.onnx: another format was exported"):
        load_exported(tmp_path / "model.onnx")


def test_checkpoints_that_are_not_a_model_kind(trained, tmp_path, capsys):
    state = torch.load(trained["checkpoint"], weights_only=True)
    other = tmp_path / "slowfast.pyth"
    torch.save({**state, "model_name": "SlowFast"}, other)
    assert run_tool("export_model", ["--checkpoint", str(other), "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert f"error: checkpoint {other} holds a 'SlowFast' model" in err
    assert "only RGBPoseConv3D, RGBSlowOnly, PoseSlowOnly export" in err
    mmcv = tmp_path / "mmcv.pth"
    torch.save({"state_dict": {"backbone.conv1.weight": torch.zeros(1)}}, mmcv)
    assert run_tool("export_model", ["--checkpoint", str(mmcv), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "is not a plugin checkpoint (no 'model_state'; found ['state_dict'])" in capsys.readouterr().err
    assert not list(tmp_path.glob("m.*"))


def test_missing_onnxruntime_says_how_to_install(exported, trained, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # "import onnxruntime" fails
    with pytest.raises(InferenceError, match=re.escape('install it with pip install -e ".[export]"')):
        OnnxModel(exported["out"])
    assert run_tool("demo_net", ["--model", str(exported["out"]), "--video", str(trained["video"]),
                                 "--skeleton", str(trained["ann_file"]), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: running the ONNX model {exported['out']} needs the package "
                          f"onnxruntime") and 'pip install -e ".[export]"' in err


def test_pretrained_zoo_model(tmp_path, monkeypatch, capsys):
    from zoo_fixtures import publish_test_model

    info = publish_test_model(tmp_path / "lab", "pose", name="tiny_pose")
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    monkeypatch.setenv("RGBPOSE_ZOO_MIRROR", str(info["mirror"]))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    out = tmp_path / "pose.onnx"
    assert run_tool("export_model", ["--pretrained", "tiny_pose", "--out", str(out)]) == 0
    assert "random, batch 1: largest |difference| pose_logits" in capsys.readouterr().out
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["model_name"] == "PoseSlowOnly" and meta["class_names"] == info["class_names"]
