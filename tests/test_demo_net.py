"""tools/demo_net.py: inference on one video with a tiny trained model.

A fused, an rgb-only and a pose-only model are trained for one epoch on the tiny
generated dataset (seconds); the demo then runs on (a) a generated video with its
annotation file, as a function and through the command line, and (b) the real Pose2Sim
clip with its skeleton extracted on the fly by mediapipe.
"""

import json
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from assets import run_tool
from PIL import Image
from trainer_fixtures import ROOT, TINY_CLASSES, make_tiny_dataset, tiny_cfg

from rgbpose_plugin.config import stage_cfg
from rgbpose_plugin.data import RGBPoseDataset
from rgbpose_plugin.engine.tester import test as run_test
from rgbpose_plugin.engine.trainer import train
from rgbpose_plugin.inference import InferenceError, build_test_item, load_model, run_demo
from rgbpose_plugin.weights.checkpoints import CheckpointError

TOP_LINE = re.compile(r"^\s+(\d)\. (.+?)\s+(\d+\.\d+)%$")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The tiny dataset and one-epoch checkpoints of the fused and stage-1 models."""
    root = tmp_path_factory.mktemp("demo")
    ann_file = make_tiny_dataset(root / "data")
    ckpts = {}
    for stage in ("rgbpose", "rgb_only", "pose_only"):
        ckpts[stage] = train(stage_cfg(tiny_cfg(ann_file, root / "run"), stage))["checkpoint"]
    data = pickle.loads(ann_file.read_bytes())
    test_video = data["split"]["test"][0]  # e.g. "wave_002"
    return {"ann_file": ann_file, "ckpt": ckpts, "root": root, "data": data,
            "video": ann_file.parent / "videos" / f"{test_video}.mp4",
            "annotation": next(a for a in data["annotations"] if a["frame_dir"] == test_video)}


def parse_top(text: str, header: str):
    """``[(name, percent), ...]`` of the block of ``text`` starting with ``header``."""
    block = text[text.index(header):].split("\n\n")[0].splitlines()[1:]
    rows = [TOP_LINE.match(line) for line in block]
    assert all(rows), block
    assert [int(r.group(1)) for r in rows] == list(range(1, len(rows) + 1))
    return [(r.group(2), float(r.group(3))) for r in rows]


def check_top(rows, names, k=5):
    assert len(rows) == min(k, len(names))
    percents = [p for _, p in rows]
    assert percents == sorted(percents, reverse=True)
    assert {n for n, _ in rows} <= set(names)
    if len(names) <= k:  # every class listed: the probabilities add up to 100 %
        assert sum(percents) == pytest.approx(100, abs=0.05 * len(rows))


def count_frames(path: Path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f for f in container.decode(stream)]
        return len(frames), (frames[0].height, frames[0].width), stream.codec_context.name


def check_picture(path: Path):
    assert path.stat().st_size < 300_000
    with Image.open(path) as image:
        width, height = image.size
    assert 800 <= width <= 2000 and 200 <= height <= 1200, image.size


def test_generated_video_matches_the_test_pipeline(trained, tmp_path):
    video, ann = trained["video"], trained["annotation"]
    ckpt = trained["ckpt"]["rgbpose"]
    result = run_demo(ckpt, str(video), str(tmp_path / "out"), skeleton=str(trained["ann_file"]))
    out = result.outputs
    check_picture(Path(out["picture"]))
    frames, (h, w), codec = count_frames(Path(out["video"]))
    source_side = max(count_frames(Path(video))[1])  # the annotated MP4 never upscales
    assert (frames, codec) == (ann["total_frames"], "h264") and max(h, w) == min(640, source_side)
    report = json.loads(Path(out["json"]).read_text())
    assert report["video"] == str(video.resolve()) and report["checkpoint"] == str(Path(ckpt).resolve())
    assert report["labels"] == str(trained["ann_file"].parent / "labels.txt")  # found beside the data
    assert report["annotated_label"]["name"] == TINY_CLASSES[ann["label"]]
    for stream in ("fused", "rgb", "pose"):
        rows = [(t["name"], 100 * t["probability"]) for t in report["top5"][stream]]
        check_top(rows, TINY_CLASSES)
    assert np.asarray(report["sampled_frames"]["rgb"]).shape == (2, 4)  # TEST.NUM_ENSEMBLE_VIEWS 2
    assert np.asarray(report["sampled_frames"]["pose"]).shape == (2, 16)

    # The same input and scores as the test stage of tools/run_net.py gives this video.
    model, cfg, _ = load_model(ckpt)
    dataset = RGBPoseDataset.from_cfg(cfg, "test")
    reference = dataset[[a["frame_dir"] for a in dataset.annotations].index(ann["frame_dir"])]
    item = build_test_item(cfg, ann, video)
    for ours, theirs in zip(item["inputs"], reference["inputs"], strict=True):
        assert torch.equal(ours, theirs)
    tcfg = cfg.clone()
    tcfg.OUTPUT_DIR, tcfg.TEST.CHECKPOINT_FILE_PATH = str(tmp_path / "test"), ckpt
    results = pickle.loads(Path(run_test(tcfg)["results"]).read_bytes())
    row = results["video_ids"].index(ann["frame_dir"])
    for stream in ("rgb", "pose"):
        assert np.allclose(result.prediction.probs[stream], results["scores"][stream][row], atol=1e-5)
    assert np.allclose(result.prediction.probs["fused"],
                       (results["scores"]["rgb"][row] + results["scores"]["pose"][row]) / 2, atol=1e-5)


def test_command_line(trained, tmp_path):
    """tools/demo_net.py in a subprocess: a YAML config (the recipe's base config),
    a custom label file, 3 views."""
    cfg = tiny_cfg(trained["ann_file"], trained["root"] / "run")
    cfg_file = tmp_path / "tiny.yaml"
    cfg_file.write_text(cfg.dump())
    labels = tmp_path / "names.csv"
    labels.write_text("index,name\n" + "".join(f"{i},{n.upper()}\n" for i, n in enumerate(TINY_CLASSES)))
    cmd = [sys.executable, str(ROOT / "tools" / "demo_net.py"), "--checkpoint", trained["ckpt"]["rgbpose"],
           "--cfg", str(cfg_file), "--video", str(trained["video"]), "--skeleton", str(trained["ann_file"]),
           "--labels", str(labels), "--views", "3", "--out", str(tmp_path / "out"), "--quiet",
           "--opts", "TEST.BATCH_SIZE", "1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    names = [n.upper() for n in TINY_CLASSES]
    # 4 classes: every one is listed, under "Top-4" (not the --topk default of 5).
    k = len(TINY_CLASSES)
    for header in (f"Top-{k} fused", f"Top-{k} rgb stream", f"Top-{k} pose stream"):
        check_top(parse_top(res.stdout, header), names)
    assert "3 views" in res.stdout and "Annotated label: " in res.stdout
    report = json.loads((tmp_path / "out" / "prediction.json").read_text())
    assert report["views"] == 3 and report["labels"] == str(labels)
    assert all((tmp_path / "out" / f).is_file() for f in ("prediction.png", "prediction.mp4"))


@pytest.mark.parametrize("stage, stream", [("rgb_only", "rgb"), ("pose_only", "pose")])
def test_single_stream_models(trained, tmp_path, capsys, stage, stream):
    status = run_tool("demo_net", ["--checkpoint", trained["ckpt"][stage],
                                   "--video", str(trained["video"]),
                                   "--skeleton", str(trained["ann_file"]), "--out", str(tmp_path),
                                   "--no-video", "--quiet"])
    printed = capsys.readouterr().out
    assert status == 0
    check_top(parse_top(printed, f"Top-{len(TINY_CLASSES)} ({stream} stream only"), TINY_CLASSES)
    other = "pose" if stream == "rgb" else "rgb"
    assert f"{other} stream" not in printed
    report = json.loads((tmp_path / "prediction.json").read_text())
    assert report["streams"] == [stream, "fused"] and report["sampled_frames"][other] is None
    check_picture(tmp_path / "prediction.png")
    assert not (tmp_path / "prediction.mp4").exists()


def test_bad_input_is_named(trained, tmp_path, capsys):
    video, ann_file = trained["video"], str(trained["ann_file"])
    fused = trained["ckpt"]["rgbpose"]
    out = str(tmp_path / "out")
    with pytest.raises(InferenceError, match=f"video {tmp_path}/missing.mp4 does not exist"):
        run_demo(fused, str(tmp_path / "missing.mp4"), out, skeleton=ann_file)
    with pytest.raises(CheckpointError, match="nope.pyth"):
        run_demo(str(tmp_path / "nope.pyth"), str(video), out, skeleton=ann_file)
    # A checkpoint of another architecture than the config builds.
    with pytest.raises(InferenceError, match=f"checkpoint {re.escape(fused)} does not fit .* shape"):
        run_demo(fused, str(video), out, skeleton=ann_file, opts=["RGBPOSE.RGB.STEM_CHANNELS", 16])
    with pytest.raises(InferenceError, match="holds a PoseSlowOnly model but .* builds RGBPoseConv3D"):
        run_demo(trained["ckpt"]["pose_only"], str(video), out, skeleton=ann_file,
                 opts=["MODEL.MODEL_NAME", "RGBPoseConv3D"])
    # A skeleton file that lacks the video (matched by file stem).
    renamed = tmp_path / "my_clip.mp4"
    shutil.copy(video, renamed)
    with pytest.raises(InferenceError, match=f"skeleton file {re.escape(ann_file)} has no annotation "
                                             f"for video .*my_clip.mp4"):
        run_demo(fused, str(renamed), out, skeleton=ann_file)
    # ... but a file with a single annotation is used for any video.
    single = tmp_path / "single.pkl"
    single.write_bytes(pickle.dumps({"split": {}, "annotations": [trained["annotation"]]}))
    result = run_demo(fused, str(renamed), out, skeleton=str(single), write_video=False)
    assert result.report["skeleton"] == str(single)
    with pytest.raises(InferenceError, match="label map ntu60 has 60 class names but the model has 4"):
        run_demo(fused, str(video), out, skeleton=ann_file, labels="ntu60")
    # The command line prints the message and exits with status 2.
    assert run_tool("demo_net", ["--checkpoint", fused, "--video", str(tmp_path / "gone.mp4"),
                                 "--out", out]) == 2
    assert f"error: video {tmp_path}/gone.mp4 does not exist" in capsys.readouterr().err
    # mmpose is built lazily, from the model files given on the command line.
    assert run_tool("demo_net", ["--checkpoint", fused, "--video", str(video), "--out", out,
                                 "--backend", "mmpose"]) == 2
    assert "mmpose backend: detector config None is not a file" in capsys.readouterr().err


def test_pose2sim_clip_with_mediapipe_extraction(trained, tmp_path, mediapipe_model_env):
    from assets import pose2sim_video

    clip = pose2sim_video()  # skips when offline
    result = run_demo(trained["ckpt"]["rgbpose"], str(clip), str(tmp_path), views=1, video_size=320)
    saved = pickle.loads(Path(result.outputs["skeleton"]).read_bytes())
    ann = saved["annotations"][0]
    assert ann["frame_dir"] == clip.stem and ann["img_shape"] == (1920, 1080)
    assert ann["total_frames"] == 100 and (ann["keypoint_score"][0].max(-1) > 0.5).mean() > 0.9
    assert result.report["skeleton"] == "mediapipe (extracted)" and result.report["views"] == 1
    frames, (h, w), _ = count_frames(Path(result.outputs["video"]))
    assert frames == 100 and (h, w) == (320, 180)
    check_picture(Path(result.outputs["picture"]))
    check_top([(t["name"], 100 * t["probability"]) for t in result.report["top5"]["fused"]], TINY_CLASSES)
    # The saved skeleton is reusable with --skeleton and gives the same prediction.
    again = run_demo(trained["ckpt"]["rgbpose"], str(clip), str(tmp_path / "again"), views=1,
                     skeleton=result.outputs["skeleton"], write_video=False)
    assert np.allclose(again.prediction.probs["fused"], result.prediction.probs["fused"])
