"""The mmpose backend's plumbing, with fake mmdet/mmpose modules.

mmpose/mmdet/mmcv cannot run here (compiled mmcv ops, no weight downloads), so these
tests inject stand-ins for ``mmdet.apis`` and ``mmpose.apis`` into ``sys.modules``.
Exercised: import guarding and its message, config/checkpoint checks, the calls made to
the four public functions (arguments, BGR frames, filtered xyxy boxes), box filtering,
the conversion of results to arrays, and the whole path through ``annotate_video``.
Not exercised: real OpenMMLab models, their pre/post-processing and accuracy.
"""

import subprocess
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from rgbpose_dataprep.pose import create_pose_backend
from rgbpose_dataprep.pose.mmpose_backend import filter_person_boxes, pose_samples_to_arrays

# (x1, y1, x2, y2), score, label: two people, then three detections to drop.
DETECTIONS = [
    ((10, 10, 50, 90), 0.90, 0),  # person
    ((60, 5, 110, 95), 0.95, 0),  # person, higher score
    ((0, 0, 60, 60), 0.50, 0),  # score below 0.7
    ((5, 5, 35, 55), 0.99, 0),  # area 30 x 50 = 1500 < 1600
    ((20, 20, 90, 90), 0.99, 2),  # not a person (COCO class 2: car)
]


def detector_output(detections, rng):
    order = rng.permutation(len(detections))  # Detectors give no stable order.
    picked = [detections[i] for i in order]
    return SimpleNamespace(pred_instances=SimpleNamespace(
        bboxes=torch.tensor([d[0] for d in picked], dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor([d[1] for d in picked]),
        labels=torch.tensor([d[2] for d in picked]),
    ))


def pose_sample(box):
    """A fake top-down result: 17 keypoints spread inside the box, score 0.8."""
    x1, y1, x2, y2 = box
    xs = np.linspace(x1, x2, 17, dtype=np.float32)
    ys = np.linspace(y1, y2, 17, dtype=np.float32)
    return SimpleNamespace(pred_instances=SimpleNamespace(
        keypoints=np.stack([xs, ys], 1)[None], keypoint_scores=np.full((1, 17), 0.8, np.float32),
    ))


@pytest.fixture
def fake_openmmlab(monkeypatch):
    """Install fake mmdet/mmpose packages; returns the record of their calls."""
    calls = SimpleNamespace(init=[], det_images=[], pose_calls=[], detections=DETECTIONS,
                            classes=("person", "bicycle", "car"))
    rng = np.random.default_rng(0)

    def init_detector(config, checkpoint, device):
        calls.init.append(("det", config, checkpoint, device))
        return SimpleNamespace(cfg="det-cfg", dataset_meta={"classes": calls.classes})

    def inference_detector(model, img):
        calls.det_images.append(img)
        return detector_output(calls.detections, rng)

    def init_model(config, checkpoint, device):
        calls.init.append(("pose", config, checkpoint, device))
        return "pose-model"

    def inference_topdown(model, img, bboxes, bbox_format):
        calls.pose_calls.append((model, img, np.array(bboxes), bbox_format))
        return [pose_sample(b) for b in bboxes]

    modules = {
        "mmdet": types.ModuleType("mmdet"),
        "mmdet.apis": types.ModuleType("mmdet.apis"),
        "mmpose": types.ModuleType("mmpose"),
        "mmpose.apis": types.ModuleType("mmpose.apis"),
        "mmpose.utils": types.ModuleType("mmpose.utils"),
    }
    modules["mmdet.apis"].init_detector = init_detector
    modules["mmdet.apis"].inference_detector = inference_detector
    modules["mmpose.apis"].init_model = init_model
    modules["mmpose.apis"].inference_topdown = inference_topdown
    modules["mmpose.utils"].adapt_mmdet_pipeline = lambda cfg: f"adapted {cfg}"
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls


@pytest.fixture
def model_files(tmp_path):
    paths = {}
    for key, name in [("det_config", "det.py"), ("det_checkpoint", "det.pth"),
                      ("pose_config", "pose.py"), ("pose_checkpoint", "pose.pth")]:
        (tmp_path / name).write_text("# stand-in")
        paths[key] = str(tmp_path / name)
    return paths


def test_filter_person_boxes_applies_reference_thresholds():
    boxes, scores = filter_person_boxes(
        [d[0] for d in DETECTIONS], [d[1] for d in DETECTIONS], [d[2] for d in DETECTIONS]
    )
    assert boxes.tolist() == [[60, 5, 110, 95], [10, 10, 50, 90]]  # Highest score first.
    assert scores.tolist() == pytest.approx([0.95, 0.90])
    boxes, _ = filter_person_boxes(
        [d[0] for d in DETECTIONS], [d[1] for d in DETECTIONS], [d[2] for d in DETECTIONS],
        score_thr=0.4, area_thr=0,
    )
    assert len(boxes) == 4  # Only the car is left out.
    empty, _ = filter_person_boxes(np.zeros((0, 4)), [], [])
    assert empty.shape == (0, 4)
    with pytest.raises(ValueError, match="2 boxes, 1 scores"):
        filter_person_boxes(np.zeros((2, 4)), [0.9], [0, 0])


def test_pose_samples_to_arrays_stacks_and_checks_keypoint_count():
    kps, scores = pose_samples_to_arrays([pose_sample((0, 0, 16, 32)), pose_sample((1, 1, 2, 2))])
    assert kps.shape == (2, 17, 2) and scores.shape == (2, 17)
    assert kps.dtype == scores.dtype == np.float32
    assert kps[0, -1].tolist() == [16, 32]
    assert pose_samples_to_arrays([])[0].shape == (0, 17, 2)
    wrong = SimpleNamespace(pred_instances=SimpleNamespace(
        keypoints=np.zeros((1, 133, 2)), keypoint_scores=np.zeros((1, 133))))
    with pytest.raises(ValueError, match="133 keypoints.*COCO-17"):
        pose_samples_to_arrays([wrong])


def test_backend_calls_openmmlab_apis_as_documented(fake_openmmlab, model_files):
    backend = create_pose_backend("mmpose", device="cuda:1", **model_files)
    assert fake_openmmlab.init == [
        ("det", model_files["det_config"], model_files["det_checkpoint"], "cuda:1"),
        ("pose", model_files["pose_config"], model_files["pose_checkpoint"], "cuda:1"),
    ]
    assert backend.detector.cfg == "adapted det-cfg"

    frame = np.zeros((100, 120, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 10, 20, 30  # R, G, B
    keypoints, scores = backend(frame)
    # OpenMMLab models expect BGR frames.
    assert fake_openmmlab.det_images[0][0, 0].tolist() == [30, 20, 10]
    model, img, boxes, fmt = fake_openmmlab.pose_calls[0]
    assert model == "pose-model" and fmt == "xyxy" and img[0, 0].tolist() == [30, 20, 10]
    assert boxes.tolist() == [[60, 5, 110, 95], [10, 10, 50, 90]]
    assert keypoints.shape == (2, 17, 2) and scores.shape == (2, 17)
    assert keypoints[0, 0].tolist() == [60, 5] and keypoints[1, -1].tolist() == [50, 90]


def test_no_person_means_no_pose_call(fake_openmmlab, model_files):
    backend = create_pose_backend("mmpose", **model_files)
    fake_openmmlab.detections = DETECTIONS[2:]  # All filtered out.
    keypoints, scores = backend(np.zeros((100, 120, 3), np.uint8))
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)
    assert fake_openmmlab.pose_calls == []  # mmpose would pose the whole image.


def test_video_through_mmpose_backend_keeps_person_slots(fake_openmmlab, model_files, tmp_path):
    import av

    from rgbpose_dataprep.pose import annotate_video

    path = tmp_path / "two_people.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 96, "yuv420p"
        for _ in range(6):
            frame = av.VideoFrame.from_ndarray(np.zeros((96, 128, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    backend = create_pose_backend("mmpose", **model_files)
    ann = annotate_video(path, backend, max_persons=2)
    assert ann["keypoint"].shape == (2, 6, 17, 2) and ann["img_shape"] == (96, 128)
    # Whatever order the detector used, each person stays in one slot in every frame.
    first_x = ann["keypoint"][:, :, 0, 0]
    assert len(set(first_x[0].tolist())) == 1 and len(set(first_x[1].tolist())) == 1
    assert first_x[0, 0] != first_x[1, 0]


def test_detector_without_person_class_is_rejected(fake_openmmlab, model_files):
    fake_openmmlab.classes = ("car", "person")
    with pytest.raises(ValueError, match="detector class 0 is 'car', not 'person'"):
        create_pose_backend("mmpose", **model_files)
    assert create_pose_backend("mmpose", det_person_label=1, **model_files) is not None


def test_missing_files_are_named(fake_openmmlab, model_files, tmp_path):
    with pytest.raises(FileNotFoundError, match="pose config .*nope.py"):
        create_pose_backend("mmpose", **dict(model_files, pose_config=str(tmp_path / "nope.py")))
    with pytest.raises(FileNotFoundError, match="detector checkpoint .*x.pth"):
        create_pose_backend("mmpose", **dict(model_files, det_checkpoint="x.pth"))
    # URLs are left to OpenMMLab to download.
    create_pose_backend("mmpose", **dict(model_files, pose_checkpoint="https://host/w.pth"))


def test_missing_openmmlab_gives_install_hint(monkeypatch, model_files):
    monkeypatch.setitem(sys.modules, "mmdet", None)  # Makes "import mmdet" fail.
    with pytest.raises(ImportError, match=r"rgbpose-plugin\[pose\]"):
        create_pose_backend("mmpose", **model_files)


def test_importing_the_plugin_imports_no_pose_framework():
    tools = Path(__file__).resolve().parents[1] / "tools"
    code = (
        f"import sys; sys.path.insert(0, {str(tools)!r}); "
        "import rgbpose_plugin, rgbpose_dataprep.pose, extract_pose, demo_net; "
        "bad = [m for m in ('mmpose', 'mmdet', 'mmcv', 'mediapipe', 'rtmlib') "
        "if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
