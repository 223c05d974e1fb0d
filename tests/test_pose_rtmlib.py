"""The rtmlib backend, run for real on small ONNX models built by these tests.

The real rtmlib models (YOLOX, RTMPose) are downloads, impossible here, so the tests
export tiny torch modules with the same signature: a detector taking ``input
[1, 3, H, W]`` and giving ``dets [1, N, 5]`` (x1, y1, x2, y2, score in the model's input
pixels) and ``labels [1, N]``, and a pose model taking ``input [1, 3, H, W]`` and giving
``simcc_x [1, 17, 2W]`` and ``simcc_y [1, 17, 2H]``. rtmlib's own YOLOX and RTMPose
classes then run them through onnxruntime (letterbox, affine crop, SimCC decoding).
Exercised: boxes back in frame pixels, person filtering, several persons in one frame,
COCO-17 order and scores, model fetching with its SHA-256 check (``file://`` URLs, zips,
a corrupted cache fetched again),
the missing-package message, and ``tools/extract_pose.py --backend rtmlib`` end to end.
Not exercised: the real weights and their accuracy, CUDA.
"""

import hashlib
import pickle
import re
import sys
import warnings
import zipfile

import numpy as np
import pytest
import torch
from assets import load_tool, run_tool

from rgbpose_dataprep.pose import backend_options, create_pose_backend
from rgbpose_dataprep.pose.job import open_backend
from rgbpose_dataprep.pose.rtmlib_backend import fetch_model
from rgbpose_plugin.errors import DataPrepError

pytest.importorskip("rtmlib")

DET_SIZE = 64  # The tiny detector's input is 64 x 64.
POSE_H, POSE_W = 64, 48
FRAME_H, FRAME_W = 96, 128  # Letterboxed into 64 x 64 at ratio 0.5.


class TinyDetector(torch.nn.Module):
    """Person A: a box around the bright pixels' mean x; person B: a fixed box; then three
    detections the backend must drop (low score, not a person, too small)."""

    def forward(self, x):
        bright = (x[0, 0] > 200).float()  # 255 in the frame; the letterbox pad is 114.
        xs = torch.arange(x.shape[3], dtype=torch.float32)[None, :]
        cx = (bright * xs).sum() / bright.sum().clamp(min=1.0)
        a = torch.stack([cx - 10, cx * 0 + 4, cx + 10, cx * 0 + 44, cx * 0 + 0.9])
        others = torch.tensor([
            [40.0, 2.0, 62.0, 46.0, 0.95],  # B
            [0.0, 0.0, 30.0, 30.0, 0.50],  # score below 0.7
            [10.0, 10.0, 40.0, 40.0, 0.99],  # a car
            [50.0, 50.0, 60.0, 60.0, 0.99],  # 20 x 20 px in the frame: area 400 < 1600
        ])
        dets = torch.cat([others[:1], a[None], others[1:]])[None]
        labels = torch.tensor([[0, 0, 0, 2, 0]], dtype=torch.int64)
        return dets, labels + (x.mean() * 0).long()


def kp_input_xy(k):
    """Where the tiny pose model puts keypoint k, in its 48 x 64 input's pixels."""
    return 4 + 2 * k, 4 + 3 * k


def kp_score(k):
    return 0.5 + 0.025 * k


class TinyPose(torch.nn.Module):
    """SimCC output (split ratio 2) peaking at ``kp_input_xy(k)`` with ``kp_score(k)``."""

    def __init__(self):
        super().__init__()
        sx, sy = torch.zeros(17, 2 * POSE_W), torch.zeros(17, 2 * POSE_H)
        for k in range(17):
            x, y = kp_input_xy(k)
            sx[k, 2 * x] = sy[k, 2 * y] = kp_score(k)
        self.register_buffer("sx", sx[None])
        self.register_buffer("sy", sy[None])

    def forward(self, x):
        zero = x.mean() * 0
        return self.sx + zero, self.sy + zero


def export(module, path, size, outputs):
    with warnings.catch_warnings():  # the legacy exporter's deprecation and trace notes
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, 3, *size), str(path), input_names=["input"],
                          output_names=outputs, opset_version=17, dynamo=False)
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rtmlib_models")
    det = export(TinyDetector(), folder / "det.onnx", (DET_SIZE, DET_SIZE), ["dets", "labels"])
    pose = export(TinyPose(), folder / "pose.onnx", (POSE_H, POSE_W), ["simcc_x", "simcc_y"])
    return {"det_model": str(det), "pose_model": str(pose)}


def frame_with_bar(x1, x2):
    """An RGB frame, black but for a white vertical bar over columns x1..x2."""
    frame = np.zeros((FRAME_H, FRAME_W, 3), np.uint8)
    frame[:, x1:x2] = 255
    return frame


def expected_keypoints(box):
    """rtmlib's top-down decoding: the box, padded 1.25x and widened to 48:64, maps the
    pose model's input onto the frame."""
    x1, y1, x2, y2 = box
    w, h = (x2 - x1) * 1.25, (y2 - y1) * 1.25
    w, h = (w, w * POSE_H / POSE_W) if w > h * POSE_W / POSE_H else (h * POSE_W / POSE_H, h)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([[cx - w / 2 + x / POSE_W * w, cy - h / 2 + y / POSE_H * h]
                     for x, y in map(kp_input_xy, range(17))], np.float32)


def test_several_persons_in_coco17_order_with_scores(models):
    backend = create_pose_backend("rtmlib", **models)
    assert backend.detector.model_input_size == (DET_SIZE, DET_SIZE)  # read from the file
    assert backend.pose_model.model_input_size == (POSE_W, POSE_H)
    boxes, box_scores = backend.detect(frame_with_bar(36, 44)[..., ::-1])
    # Model pixels / 0.5; the bar's mean x is 19.5 in the model input; B scores higher.
    np.testing.assert_allclose(boxes, [[80, 4, 124, 92], [19, 8, 59, 88]], atol=1)
    assert box_scores.tolist() == pytest.approx([0.95, 0.9])

    keypoints, scores = backend(frame_with_bar(36, 44))
    assert keypoints.shape == (2, 17, 2) and scores.shape == (2, 17)
    assert keypoints.dtype == scores.dtype == np.float32
    for person, box in enumerate(boxes):
        np.testing.assert_allclose(keypoints[person], expected_keypoints(box), atol=1.5)
    # Joint k is where the model put joint k (COCO-17 order: nose first, right ankle last).
    assert scores[0].tolist() == pytest.approx([kp_score(k) for k in range(17)], abs=1e-5)
    assert np.all(np.diff(keypoints[:, :, 1], axis=1) > 0)

    assert backend.settings["det_score_thr"] == 0.7
    assert backend.settings["det_sha256"] == hashlib.sha256(
        open(models["det_model"], "rb").read()).hexdigest()


def test_no_person_means_no_pose_call(models):
    backend = create_pose_backend("rtmlib", det_score_thr=0.99, **models)
    backend.pose_model = None  # RTMPose would pose the whole frame when given no box.
    keypoints, scores = backend(frame_with_bar(36, 44))
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)


def test_fetched_model_is_hash_checked(models, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # the default cache
    source = tmp_path / "det_model.zip"
    with zipfile.ZipFile(source, "w") as archive:  # rtmlib's models come as SDK zips
        archive.write(models["det_model"], "yolox/end2end.onnx")
    url = source.as_uri()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    cache = tmp_path / "cache"

    with pytest.raises(ValueError, match=r"det_model\.zip.*expected 0{64}"):
        fetch_model(url, cache_dir=cache, sha256="0" * 64)
    assert not list(cache.rglob("det_model.zip"))  # A bad download is not kept.

    path = fetch_model(url, cache_dir=cache, sha256=digest)
    assert path.parent.parent == cache and path.name == "det_model.zip"
    assert path.with_name("det_model.zip.sha256").read_text().strip() == digest
    assert fetch_model(url, cache_dir=cache) == path  # Cached: no second download.

    backend = create_pose_backend("rtmlib", det_model=url, pose_model=models["pose_model"],
                                  det_sha256=digest)
    assert backend.settings["det_model"] == url
    fetched = list((tmp_path / "torch/hub/checkpoints/rtmlib").rglob("*"))
    assert {p.name for p in fetched if p.is_file()} == {
        "det_model.zip", "det_model.zip.sha256", "det_model.onnx"}  # the zip's model

    with open(path, "ab") as f:
        f.write(b"corruption")
    assert fetch_model(url, cache_dir=cache).read_bytes() == source.read_bytes()  # fetched again

    # A source that no longer matches the recorded digest: one line naming the file.
    source.write_bytes(b"another file")
    path.unlink()
    with pytest.raises(ValueError, match=re.escape(str(path)) + " .*expected " + digest) as err:
        fetch_model(url, cache_dir=cache)
    assert "\n" not in str(err.value) and not path.exists()
    with pytest.raises(OSError, match=re.escape(url + "x") + " into .*--det-model / --pose-model PATH"):
        fetch_model(url + "x", cache_dir=cache)


def test_missing_files_are_named(models, tmp_path):
    with pytest.raises(FileNotFoundError, match="pose model .*nope.onnx"):
        create_pose_backend("rtmlib", det_model=models["det_model"],
                            pose_model=str(tmp_path / "nope.onnx"))
    with pytest.raises(ValueError, match="mode must be one of"):
        create_pose_backend("rtmlib", mode="fast", **models)
    with pytest.raises(ValueError, match="cpu, cuda or cuda:N, not 'tpu'"):
        create_pose_backend("rtmlib", device="tpu", **models)
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(RuntimeError, match="pip install onnxruntime-gpu"):
            create_pose_backend("rtmlib", device="cuda:0", **models)
    # A pose model as detector: the signature check names the file.
    with pytest.raises(ValueError, match="detector .*pose.onnx must be a YOLOX"):
        create_pose_backend("rtmlib", det_model=models["pose_model"],
                            pose_model=models["pose_model"])


def test_missing_rtmlib_says_pip_install(monkeypatch, models, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "rtmlib", None)  # Makes "import rtmlib" fail.
    with pytest.raises(DataPrepError, match="pip install .rtmlib>=0.0.16."):
        open_backend("rtmlib", **models)
    # On the command line: one line, exit status 2, nothing extracted.
    (tmp_path / "clip.mp4").write_bytes(b"not decoded")
    args = [str(tmp_path / "clip.mp4"), "--out", str(tmp_path / "ann.pkl"), "--backend", "rtmlib"]
    assert run_tool("extract_pose", args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'rtmlib>=0.0.16'" in err[0]
    assert not (tmp_path / "ann.pkl").exists()
    with pytest.raises(KeyError, match="rtmlib.*installed: .*to install: .*rtmlib: pip install .rtmlib"):
        create_pose_backend("rtmlibb")


def test_extract_pose_cli_end_to_end(models, tmp_path):
    import av

    folder = tmp_path / "videos"
    folder.mkdir()
    with av.open(str(folder / "two.mp4"), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = FRAME_W, FRAME_H, "yuv420p"
        for t in range(8):  # The bar (person A) moves right, B stands still.
            img = frame_with_bar(20 + 4 * t, 28 + 4 * t)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    out = tmp_path / "ann.pkl"
    args = [str(folder), "--out", str(out), "--backend", "rtmlib", "--no-progress",
            "--det-model", models["det_model"], "--pose-model", models["pose_model"]]
    assert run_tool("extract_pose", args) == 0
    with open(out, "rb") as f:
        data = pickle.load(f)
    (ann,) = data["annotations"]
    assert ann["keypoint"].shape == (2, 8, 17, 2) and ann["img_shape"] == (FRAME_H, FRAME_W)
    assert ann["keypoint_score"].shape == (2, 8, 17)
    nose_x = ann["keypoint"][:, :, 0, 0]
    moving = int(np.argmax(np.ptp(nose_x, axis=1)))
    # One slot follows A rightwards frame after frame, the other holds B.
    assert np.all(np.diff(nose_x[moving]) > 0)
    assert np.ptp(nose_x[1 - moving]) < 1


@pytest.mark.parametrize("tool", ["extract_pose", "demo_net"])
def test_command_line_options_reach_the_backend(tool):
    argv = ["--backend", "rtmlib", "--det-model", "d.onnx", "--rtmlib-mode", "lightweight",
            "--det-score-thr", "0.5"]
    argv += (["clip.mp4", "--out", "ann.pkl"] if tool == "extract_pose" else
             ["--checkpoint", "ckpt.pyth", "--video", "clip.mp4", "--out", "out"])
    args = load_tool(tool).build_parser().parse_args(argv)
    assert backend_options("rtmlib", "cuda:1", vars(args)) == {
        "device": "cuda:1", "det_model": "d.onnx", "mode": "lightweight",
        "det_score_thr": 0.5, "det_area_thr": 1600.0}  # unset options: the backend's defaults
