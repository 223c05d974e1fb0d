"""What the zoo holds: the published NTU-60 checkpoints, plus entries from a JSON file.

An entry names a published pyskl / mmaction2 file (its URL), the model kind, the label map
and the config overrides the model is built and tested with. The published table is
mmaction2 1.x's RGBPoseConv3D release; a lab adds its own models with a JSON list of
entries named by ``RGBPOSE_ZOO_CATALOG`` (read on every call, so there is no registry to
mutate and a test or a job sets the variable for itself)::

    [{"name": "lab_ntu120", "url": "https://lab.example/rgbpose_ntu120_20260101-0123abcd.pth",
      "kind": "rgbpose", "labels": "ntu120", "opts": ["DATA.TEST_CROP_SIZE", 224],
      "reported": {"fusion 1:1": "90.1 / 90.5"}, "description": "..."}]

A relative ``labels`` path in that file is relative to the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, fields
from typing import Any, Dict, List, Tuple
from urllib.parse import urlparse

from fvcore.common.config import CfgNode

from ..config import get_cfg, merge_opts
from ..errors import ConfigError, ZooError
from ..labels import BUILTIN_LABEL_MAPS, load_label_map
from ..model_kinds import MODEL_KINDS, kind_by_key

__all__ = ["BASE_URL", "CATALOG_ENV", "ZooEntry", "list_models", "published_models",
           "read_catalog"]

BASE_URL = "https://download.openmmlab.com/mmaction/v1.0/skeleton/posec3d/rgbpose_conv3d/"
CATALOG_ENV = "RGBPOSE_ZOO_CATALOG"

# "<stem>-<sha256 prefix>.pth", as torch.hub and OpenMMLab name published files.
_FILE_NAME = re.compile(r"(?P<stem>.+)-(?P<hash>[0-9a-f]{8,})\.pth")
_SCHEMES = ("http", "https", "file")
_KINDS = tuple(k.key for k in MODEL_KINDS)


@dataclass(frozen=True)
class ZooEntry:
    """One published checkpoint and how its model is built and tested."""

    name: str
    url: str
    kind: str  # model_kinds key: "rgbpose", "rgb" or "pose"
    labels: str  # built-in label map name or a file path
    opts: Tuple[str, ...] = ()  # KEY, VALUE, ... over get_cfg(): architecture, test settings
    reported: Dict[str, str] = field(default_factory=dict, hash=False)  # publisher's top-1
    description: str = ""

    def __post_init__(self) -> None:
        # Normalise first so that equal entries compare equal whatever their source (JSON
        # numbers, lists); then check, so a bad entry fails where it is made.
        object.__setattr__(self, "opts", tuple(str(o) for o in self.opts))
        object.__setattr__(self, "reported", {str(k): str(v) for k, v in self.reported.items()})
        for name in ("name", "url", "kind", "labels", "description"):
            if not isinstance(getattr(self, name), str):
                raise ZooError(f"field {name!r} must be a string, got "
                               f"{type(getattr(self, name)).__name__}")
        if not self.name or self.name != self.name.strip() or " " in self.name:
            raise ZooError(f"field 'name' {self.name!r} must be a non-empty word")
        if self.kind not in _KINDS:
            raise ZooError(f"field 'kind' {self.kind!r} is not one of {', '.join(_KINDS)}")
        if urlparse(self.url).scheme not in _SCHEMES or not _FILE_NAME.fullmatch(self.file_name):
            raise ZooError(f"field 'url' {self.url!r} must be an http(s):// or file:// URL of "
                           f"a file named <stem>-<first 8+ hex digits of its sha256>.pth")
        if not self.labels:
            raise ZooError("field 'labels' must name a label map (ntu60, ntu120 or a file)")
        if len(self.opts) % 2:
            raise ZooError(f"field 'opts' must be KEY, VALUE pairs, got {len(self.opts)} items")

    @property
    def file_name(self) -> str:
        """The published file's name, e.g. ``rgb_only_20230228-576b9f86.pth``."""
        return os.path.basename(urlparse(self.url).path)

    @property
    def hash_prefix(self) -> str:
        """The leading hex digits of the file's sha256 that its name carries."""
        return _FILE_NAME.fullmatch(self.file_name).group("hash")

    @property
    def class_names(self) -> List[str]:
        try:
            return load_label_map(self.labels)
        except (OSError, ValueError) as err:
            raise ZooError(f"zoo model {self.name!r}: {err}") from err

    def config(self) -> CfgNode:
        """The config the model is built and tested with: the defaults, this kind's model
        and datasets (as the stage graph sets them), the label map's class count, then
        ``opts``."""
        cfg = get_cfg()
        kind = kind_by_key(self.kind)
        cfg.MODEL.MODEL_NAME = kind.name
        cfg.TRAIN.DATASET = cfg.TEST.DATASET = kind.dataset
        cfg.MODEL.NUM_CLASSES = len(self.class_names)
        try:
            merge_opts(cfg, self.opts, f"zoo model {self.name!r} opts")
        except ConfigError as err:
            raise ZooError(str(err)) from err
        return cfg


def published_models() -> List[ZooEntry]:
    """mmaction2 1.x's NTU-60 XSub RGBPoseConv3D release (fresh objects on each call).

    ``reported`` is the publisher's top-1 accuracy in %, 1-clip / 10-clip testing; the
    config defaults are the fused model's 10-clip test, the ``opts`` what the stage-1
    models are tested with (configs/rgbpose_ntu.yaml, RGB_ONLY / POSE_ONLY)."""
    fused = {"rgb": "96.2 / 96.4", "pose": "96.0 / 96.2", "fusion 1:1": "96.6 / 96.8"}
    pose_test = ("DATA.TEST_CROP_SIZE", "64", "RGBPOSE.TRANSFORM.RESIZE_SCALE", "64",
                 "RGBPOSE.HEATMAP.SCALING", "1.0", "RGBPOSE.HEATMAP.SIGMA", "0.6")
    return [
        ZooEntry("ntu60_xsub", BASE_URL + "rgbpose_conv3d_20230301-ac7b0e77.pth", "rgbpose",
                 "ntu60", (), fused,
                 "RGBPoseConv3D (RGB + pose), finetuned on NTU-60 XSub: stage 3 of the recipe"),
        ZooEntry("ntu60_xsub_rgb_only", BASE_URL + "rgb_only_20230228-576b9f86.pth", "rgb",
                 "ntu60", ("DATA.TEST_CROP_SIZE", "224"), {"rgb": "94.9 / 95.4"},
                 "RGB-only SlowOnly-R50 on NTU-60 XSub: stage 1a of the recipe"),
        ZooEntry("ntu60_xsub_pose_only", BASE_URL + "pose_only_20230228-fa40054e.pth", "pose",
                 "ntu60", pose_test, {"pose": "93.1 / 93.5"},
                 "pose-only SlowOnly (PoseC3D) on NTU-60 XSub: stage 1b of the recipe"),
        ZooEntry("ntu60_xsub_init", BASE_URL + "rgbpose_conv3d_init_20230228-09b7684b.pth",
                 "rgbpose", "ntu60", (), {},
                 "RGBPoseConv3D merged from the two stage-1 models, not finetuned (stage 2 of "
                 "the recipe; no reported accuracy: late fusion 1:1 of the stage-1 models "
                 "reports 96.0 / 96.2)"),
    ]


def _entry_from_json(item: Any, index: int, path: str) -> ZooEntry:
    where = f"zoo catalog {path}, entry {index}"
    if not isinstance(item, dict):
        raise ZooError(f"{where}: expected an object, got {type(item).__name__}")
    where += f" ({item['name']!r})" if isinstance(item.get("name"), str) else ""
    known = [f.name for f in fields(ZooEntry)]
    unknown = [k for k in item if k not in known]
    missing = [k for k in ("name", "url", "kind", "labels") if k not in item]
    if unknown or missing:
        what = f"unknown field {unknown[0]!r}" if unknown else f"missing field {missing[0]!r}"
        raise ZooError(f"{where}: {what}; fields are {', '.join(known)}")
    if not isinstance(item.get("opts", []), list) or not isinstance(item.get("reported", {}), dict):
        bad = "opts" if not isinstance(item.get("opts", []), list) else "reported"
        raise ZooError(f"{where}: field {bad!r} must be a JSON "
                       f"{'list' if bad == 'opts' else 'object'}")
    labels = item["labels"]
    if (isinstance(labels, str) and labels.lower() not in BUILTIN_LABEL_MAPS
            and not os.path.isabs(labels)):
        labels = os.path.join(os.path.dirname(os.path.abspath(path)), labels)
    try:
        return ZooEntry(**{**item, "labels": labels})
    except ZooError as err:
        raise ZooError(f"{where}: {err}") from None


def read_catalog(path: str) -> List[ZooEntry]:
    """The entries of a catalog file (a JSON list of objects with ZooEntry's fields)."""
    try:
        with open(path, encoding="utf-8") as f:
            items = json.load(f)
    except OSError as err:
        raise ZooError(f"zoo catalog {path} ({CATALOG_ENV}) cannot be read: "
                       f"{err.strerror or err}") from None
    except ValueError as err:
        raise ZooError(f"zoo catalog {path} is not valid JSON: {err}") from None
    if not isinstance(items, list):
        raise ZooError(f"zoo catalog {path}: expected a JSON list of entries, got "
                       f"{type(items).__name__}")
    return [_entry_from_json(item, i, path) for i, item in enumerate(items)]


def list_models() -> List[ZooEntry]:
    """The published entries, then those of the file ``$RGBPOSE_ZOO_CATALOG`` (if set)."""
    entries = published_models()
    path = os.environ.get(CATALOG_ENV, "")
    if path:
        entries += read_catalog(path)
    seen = set()
    for entry in entries:
        if entry.name in seen:
            raise ZooError(f"zoo catalog {path}: the name {entry.name!r} is already taken; "
                           f"names must be unique")
        seen.add(entry.name)
    return entries
