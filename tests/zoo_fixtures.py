"""Tiny models published the way OpenMMLab publishes theirs, for tests of the model zoo.

:func:`publish_test_model` writes a model in mmaction2's layout under a published-style
name (``<stem>-<first 8 hex digits of its sha256>.pth``) into a mirror folder, and a zoo
catalog entry for it, so the zoo's download, hash check and conversion run for real
against a local mirror (``RGBPOSE_ZOO_MIRROR``) instead of the internet::

    info = publish_test_model(tmp_path / "lab", "rgbpose", name="tiny")
    monkeypatch.setenv("RGBPOSE_ZOO_CATALOG", str(info["catalog"]))
    monkeypatch.setenv("RGBPOSE_ZOO_MIRROR", str(info["mirror"]))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    path = zoo_checkpoint("tiny")
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Dict, Optional, Sequence

import torch

from rgbpose_plugin.config import get_cfg, merge_opts
from rgbpose_plugin.labels import load_label_map
from rgbpose_plugin.model_kinds import kind_by_key
from rgbpose_plugin.models import build_model
from rgbpose_plugin.weights import plugin_to_mmcv

# Widths of a few channels and one block per stage: the published stage counts (which
# the mmaction2 layout is told by), so conversion treats it as the real thing.
TINY_OPTS = (
    "RGBPOSE.RGB.STEM_CHANNELS", "8", "RGBPOSE.RGB.STAGE_DEPTHS", "[1, 1, 1, 1]",
    "RGBPOSE.RGB.STAGE_INNER_CHANNELS", "[4, 8, 8, 16]",
    "RGBPOSE.POSE.STEM_CHANNELS", "8", "RGBPOSE.POSE.STAGE_DEPTHS", "[1, 1, 1]",
    "RGBPOSE.POSE.STAGE_INNER_CHANNELS", "[4, 8, 8]",
)
# Inputs the tiny models take (RGB 32 x 32 and heatmaps 8 x 8 give 1 x 1 at the end).
TINY_INPUTS = {"rgb": (3, 8, 32, 32), "pose": (17, 32, 8, 8)}
# A host that never resolves: only a mirror (or a file already in the cache) serves it.
UNREACHABLE = "https://download.example.invalid/"
STAMP = "20261203"


def tiny_inputs(kind: str, batch: int = 1) -> list:
    """Random model inputs for a tiny model of ``kind``, stream by stream."""
    return [torch.randn(batch, *TINY_INPUTS[s]) for s in kind_by_key(kind).streams]


def _write_labels(folder: Path, name: str, num_classes: int) -> str:
    path = folder / f"{name}_labels.txt"
    path.write_text("".join(f"{name} action {i}\n" for i in range(num_classes)))
    return str(path)


def _add_to_catalog(catalog: Path, entry: Dict) -> None:
    entries = json.loads(catalog.read_text()) if catalog.exists() else []
    entries = [e for e in entries if e["name"] != entry["name"]] + [entry]
    catalog.write_text(json.dumps(entries, indent=1))


def mmcv_file_bytes(kind: str, *, opts: Sequence[str] = TINY_OPTS, num_classes: int = 3,
                    seed: int = 0):
    """``(bytes of an mmaction2-layout file, the plugin state dict)`` of a fresh model."""
    cfg = get_cfg()
    cfg.MODEL.MODEL_NAME = kind_by_key(kind).name
    cfg.MODEL.NUM_CLASSES = num_classes
    merge_opts(cfg, list(opts))
    torch.manual_seed(seed)
    state = build_model(cfg).state_dict()
    for key, value in state.items():  # BN statistics other than the defaults
        if key.endswith("running_mean") or key.endswith("running_var"):
            value.copy_(torch.rand_like(value) + 0.5)
    payload = plugin_to_mmcv({"model_state": state, "model_name": cfg.MODEL.MODEL_NAME}, kind)
    buffer = io.BytesIO()
    torch.save({**payload, "meta": {**payload["meta"], "mmengine_version": "0.10.3"}}, buffer)
    return buffer.getvalue(), state


def publish_test_model(folder: Path, kind: str, *, name: str, opts: Sequence[str] = TINY_OPTS,
                       num_classes: int = 3, labels: Optional[str] = None,
                       url_base: str = UNREACHABLE, seed: int = 0) -> Dict:
    """Publish a tiny model of ``kind`` ("rgbpose", "rgb", "pose") under ``folder``.

    Writes ``folder/mirror/<name>_20261203-<sha256[:8]>.pth`` (mmaction2 layout), a label
    file of ``num_classes`` names unless ``labels`` names a label map, and adds the entry
    (url ``url_base + file name``) to ``folder/catalog.json``. Returns ``{"catalog",
    "mirror", "name", "file", "url", "labels", "class_names", "model_state"}``, the last
    being the weights under plugin names, to compare a conversion with.
    """
    mirror = folder / "mirror"
    mirror.mkdir(parents=True, exist_ok=True)
    labels = labels or _write_labels(folder, name, num_classes)
    class_names = load_label_map(labels)
    data, state = mmcv_file_bytes(kind, opts=opts, num_classes=len(class_names), seed=seed)
    file = mirror / f"{name}_{STAMP}-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    file.write_bytes(data)
    url = url_base + file.name
    _add_to_catalog(folder / "catalog.json", {
        "name": name, "url": url, "kind": kind, "labels": labels, "opts": list(opts),
        "reported": {kind: "n/a (a test model)"}, "description": f"tiny {kind} test model"})
    return {"catalog": folder / "catalog.json", "mirror": mirror, "name": name, "file": file,
            "url": url, "labels": labels, "class_names": class_names, "model_state": state}
