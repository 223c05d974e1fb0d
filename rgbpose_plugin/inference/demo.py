"""Classify your own video with a trained checkpoint and explain the result in pictures.

:func:`run_demo` does the work and returns a :class:`DemoResult`; :func:`format_result`
is what ``tools/demo_net.py`` prints of it. Steps:

1. load the checkpoint (a file, a run or stage folder, ``zoo:NAME``) and its config
   (:mod:`.model_loading`);
2. take the skeleton from ``--skeleton`` or extract it now (:mod:`.skeleton`);
3. build the test-split input of the video and run the model (:mod:`.predictor`);
4. write ``prediction.png`` (:mod:`.picture`), ``prediction.mp4``
   (:mod:`.annotated_video`) and ``prediction.json`` into the output folder.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import InferenceError
from ..labels.lookup import LabelMapError, resolve_class_names
from .annotated_video import write_annotated_video
from .checkpoint_path import resolve_checkpoint
from .model_loading import load_model
from .onnx_model import load_exported
from .picture import frame_tiles, save_picture, shown_frames
from .predictor import Prediction, build_test_item, predict
from .skeleton import annotated_label, check_skeleton, extract_skeleton, save_skeleton, skeleton_from_file

__all__ = ["DemoResult", "class_names_for", "format_result", "format_top", "get_skeleton",
           "inference_device", "load_for_inference", "run_demo"]

logger = logging.getLogger(__name__)

FUSION_NOTE = "fused = (p_rgb + p_pose) / 2, the 1:1 fusion halved (same ranking)"


@dataclass
class DemoResult:
    """What :func:`run_demo` produced: the prediction, the files and the JSON report."""

    prediction: Prediction
    outputs: Dict[str, str]
    report: Dict[str, Any]
    timings: Dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: Dict[str, float], name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[name] = round(time.perf_counter() - start, 3)


def get_skeleton(video: Path, skeleton: Optional[str], out_dir: Path, backend: str,
                  backend_options: Optional[Dict[str, Any]], max_persons: int,
                  progress: bool) -> tuple:
    """``(annotation, description, saved_file)``; an extracted one is saved for reuse."""
    if skeleton:
        return skeleton_from_file(skeleton, video), str(skeleton), None
    annotation = extract_skeleton(video, backend, backend_options, max_persons, progress)
    saved = save_skeleton(annotation, out_dir / "skeleton.pkl")
    return annotation, f"{backend} (extracted)", str(saved)


def _title(video: Path, prediction: Prediction, model_name: str, truth: Optional[str]) -> str:
    best = prediction.top("fused", 1)[0]
    title = (f"{video.name}: {best['name']} ({100 * best['probability']:.1f}%)   "
             f"[{model_name}, {prediction.num_views} views]")
    return title + (f"   annotated label: {truth}" if truth is not None else "")


def inference_device(model, device: Optional[str] = None) -> str:
    """``device`` if given, else where the model's runtime can run (an exported ONNX model
    says so: onnxruntime may lack CUDA), else cuda if available, else cpu."""
    return device or getattr(model, "default_device", None) or (
        "cuda" if torch.cuda.is_available() else "cpu")


def class_names_for(labels: Optional[str], checkpoint: Dict[str, Any], cfg
                 ) -> Tuple[List[str], str]:
    """``(names, source)``: ``--labels``, else the names the checkpoint stores (a zoo
    model's), else a label file beside DATA.ANN_FILE, else indices."""
    num_classes = int(cfg.MODEL.NUM_CLASSES)
    stored = checkpoint.get("class_names")
    if not labels and stored and len(stored) == num_classes:
        return [str(n) for n in stored], "stored in the checkpoint"
    try:
        return resolve_class_names(labels, cfg.DATA.ANN_FILE, num_classes)
    except LabelMapError as err:
        raise InferenceError(str(err)) from err


def load_for_inference(checkpoint: Optional[str], model_file: Optional[str], cfg_file: Optional[str],
          opts: Sequence) -> Tuple[Any, Any, Dict[str, Any], str]:
    """``(model, cfg, stored, file)``: a checkpoint (a folder or zoo:NAME -> its file) and
    its config, or an exported model (ONNX, TorchScript) and the config in its model.json."""
    if (checkpoint is None) == (model_file is None):
        raise InferenceError("give a checkpoint or an exported model file, not both or neither")
    if model_file is None:
        checkpoint = resolve_checkpoint(checkpoint)
        return (*load_model(checkpoint, cfg_file, opts), checkpoint)
    if cfg_file:
        raise InferenceError(f"--cfg does not apply to the exported model {model_file}: its "
                             f"config is in its JSON (--opts still changes the test pipeline)")
    return (*load_exported(model_file, opts), model_file)


def run_demo(checkpoint: Optional[str], video: str, out_dir: str, *, cfg_file: Optional[str] = None,
             opts: Sequence = (), skeleton: Optional[str] = None, labels: Optional[str] = None,
             views: Optional[int] = None, backend: str = "mediapipe",
             backend_options: Optional[Dict[str, Any]] = None, max_persons: int = 2,
             device: Optional[str] = None, topk: int = 5, write_video: bool = True,
             video_size: int = 640, progress: bool = False,
             model_file: Optional[str] = None) -> DemoResult:
    """Classify ``video`` with ``checkpoint``, or with ``model_file`` (ONNX or TorchScript,
    written by ``tools/export_model.py``; ``checkpoint`` None); write the picture, MP4 and
    JSON to ``out_dir``.

    Raises :class:`~rgbpose_plugin.errors.InferenceError` (or a data / checkpoint error) naming the file
    for a missing video, an unreadable or mismatched checkpoint, a skeleton file without
    this video, or a label map of the wrong size.
    """
    video_path, out = Path(video), Path(out_dir)
    if not video_path.is_file():
        raise InferenceError(f"video {video} does not exist")
    if skeleton and not Path(skeleton).is_file():
        raise InferenceError(f"skeleton file {skeleton} does not exist")
    timings: Dict[str, float] = {}
    with _timed(timings, "load_model"):
        model, cfg, stored, checkpoint = load_for_inference(checkpoint, model_file, cfg_file, opts)
    names, label_source = class_names_for(labels, stored, cfg)
    out.mkdir(parents=True, exist_ok=True)
    with _timed(timings, "skeleton"):
        raw, skeleton_source, saved = get_skeleton(video_path, skeleton, out, backend,
                                                    backend_options, max_persons, progress)
    annotation = check_skeleton(raw, skeleton or str(video_path), int(cfg.RGBPOSE.KEYPOINTS.NUM))
    truth = annotated_label(raw, len(names))
    with _timed(timings, "test_input"):
        item = build_test_item(cfg, annotation, video_path, views)
    device = inference_device(model, device)
    with _timed(timings, "model"):
        prediction = predict(model, cfg, item, names, device)
    outputs = {"picture": str(out / "prediction.png"), "json": str(out / "prediction.json")}
    with _timed(timings, "picture"):
        frames = shown_frames(prediction)
        tiles = frame_tiles(video_path, annotation, frames)
        title = _title(video_path, prediction, cfg.MODEL.MODEL_NAME,
                       None if truth is None else names[truth])
        save_picture(Path(outputs["picture"]), prediction, tiles, frames, title, topk)
    if write_video:
        outputs["video"] = str(out / "prediction.mp4")
        with _timed(timings, "video"):
            write_annotated_video(video_path, annotation, prediction, Path(outputs["video"]),
                                  video_size)
    if saved:
        outputs["skeleton"] = saved
    report = _report(video_path, checkpoint, stored.get("zoo"), cfg_file, cfg, prediction, topk,
                     skeleton_source, label_source, truth, device, outputs, timings)
    Path(outputs["json"]).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return DemoResult(prediction, outputs, report, timings)


def _report(video: Path, checkpoint: str, zoo: Optional[Dict], cfg_file: Optional[str], cfg,
            prediction: Prediction, topk: int, skeleton_source: str, label_source: str,
            truth: Optional[int], device: str, outputs: Dict[str, str],
            timings: Dict[str, float]) -> Dict[str, Any]:
    """The content of ``prediction.json``; ``zoo`` is a zoo model's name, URL and sha256."""
    def inds(value: Optional[np.ndarray]) -> Optional[List]:
        return None if value is None else np.asarray(value).tolist()

    return {
        "video": str(video.resolve()),
        "checkpoint": str(Path(checkpoint).resolve()),
        "zoo": zoo,
        "config": str(cfg_file) if cfg_file else "stored in the checkpoint",
        "model": cfg.MODEL.MODEL_NAME,
        "streams": prediction.streams,
        "views": prediction.num_views,
        "device": str(device),
        "skeleton": skeleton_source,
        "labels": label_source,
        "annotated_label": None if truth is None else {"index": truth,
                                                       "name": prediction.class_names[truth]},
        "fusion": FUSION_NOTE,
        "top5" if topk == 5 else f"top{topk}": {s: prediction.top(s, topk)
                                               for s in prediction.streams},
        "sampled_frames": {"rgb": inds(prediction.rgb_inds), "pose": inds(prediction.pose_inds)},
        "outputs": outputs,
        "timings_s": timings,
    }


def format_top(prediction: Prediction, k: int = 5) -> str:
    """The top-``k`` classes of the fused score and of each stream, as printed text; every
    class, headed "Top-<number of classes>", when the model has fewer than ``k``."""
    k = min(k, len(prediction.class_names))
    streams = [s for s in prediction.streams if s != "fused"]
    views = f"{prediction.num_views} views"
    if len(streams) == 1:  # a single-stream model: its scores are the fused ones
        sections = [("fused", f"Top-{k} ({streams[0]} stream only, {views}):")]
    else:
        sections = [("fused", f"Top-{k} fused ({FUSION_NOTE}; {views}):")]
        sections += [(s, f"Top-{k} {s} stream:") for s in streams]
    blocks = []
    for stream, header in sections:
        rows = [f"  {t['rank']}. {t['name']:<32} {100 * t['probability']:6.2f}%"
                for t in prediction.top(stream, k)]
        blocks.append("\n".join([header] + rows))
    return "\n\n".join(blocks)


def format_result(result: DemoResult, topk: int = 5) -> str:
    """What ``tools/demo_net.py`` prints: the top classes, the annotated label (when the
    skeleton file has one), the files written and the time of each step."""
    lines = [format_top(result.prediction, topk)]
    truth = result.report["annotated_label"]
    if truth is not None:
        lines.append(f"\nAnnotated label: {truth['name']}")
    lines.append("\nWrote " + ", ".join(result.outputs.values()))
    lines.append("Timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()))
    return "\n".join(lines)
