"""Parameter names: this plugin's (pytorchvideo) <-> pyskl / mmaction2 (mmcv).

The same tensor has these two names::

    plugin                                                   mmcv
    blocks.0.multipathway_blocks.P.conv.weight               backbone.PATH.conv1.conv.weight
    blocks.0.multipathway_blocks.P.norm.*                    backbone.PATH.conv1.bn.*
    blocks.K.multipathway_blocks.P.res_blocks.B.branch2.conv_a.weight
                                                             backbone.PATH.layerS.B.conv1.conv.weight
        ... norm_a / conv_b / norm_b / conv_c / norm_c       ... conv1.bn / conv2.conv / conv2.bn / conv3.*
    blocks.K.multipathway_blocks.P.res_blocks.B.branch1_conv / branch1_norm
                                                             backbone.PATH.layerS.B.downsample.conv / .bn
    blocks.K.multipathway_fusion.pose_to_rgb.weight          backbone.rgb_path.layerK_lateral.conv.weight
    blocks.K.multipathway_fusion.rgb_to_pose.{conv,bn}.*     backbone.pose_path.layerS_lateral.{conv,bn}.*
    blocks.H.proj.STREAM.{weight,bias}                       cls_head.fc_STREAM.* (fused) / cls_head.fc_cls.*

PATH is ``rgb_path.`` / ``pose_path.`` in the fused model and empty in the single-stream
models; block K holds RGB stage K, and pose stage S = K - (RGB stages - pose stages).
Lateral names follow the *receiving* pathway, as in the reference checkpoints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable

from ..errors import UserError

__all__ = ["NameLayout", "infer_plugin_layout", "infer_mmcv_layout", "to_mmcv", "from_mmcv",
           "WeightNameError"]


class WeightNameError(UserError, KeyError):
    """A parameter name that has no counterpart in the other naming scheme."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


_BLOCK_PARTS = {  # pytorchvideo bottleneck part -> mmcv ConvModule part
    "branch2.conv_a": "conv1.conv", "branch2.norm_a": "conv1.bn",
    "branch2.conv_b": "conv2.conv", "branch2.norm_b": "conv2.bn",
    "branch2.conv_c": "conv3.conv", "branch2.norm_c": "conv3.bn",
    "branch1_conv": "downsample.conv", "branch1_norm": "downsample.bn",
}
_BLOCK_PARTS_INV = {v: k for k, v in _BLOCK_PARTS.items()}
_STEM_PARTS = {"conv": "conv1.conv", "norm": "conv1.bn"}
_STEM_PARTS_INV = {v: k for k, v in _STEM_PARTS.items()}


@dataclass(frozen=True)
class NameLayout:
    """Which model a state dict belongs to: ``kind`` is "rgbpose", "rgb" or "pose"."""

    kind: str
    rgb_stages: int = 4
    pose_stages: int = 3

    @property
    def streams(self) -> tuple:
        return ("rgb", "pose") if self.kind == "rgbpose" else (self.kind,)

    @property
    def pose_offset(self) -> int:
        """Block index of pose stage S is S + pose_offset."""
        return self.rgb_stages - self.pose_stages if self.kind == "rgbpose" else 0

    @property
    def head_block(self) -> int:
        return (self.pose_stages if self.kind == "pose" else self.rgb_stages) + 1

    def path(self, stream: str) -> str:
        return f"backbone.{stream}_path." if self.kind == "rgbpose" else "backbone."

    def fc(self, stream: str) -> str:
        return f"cls_head.fc_{stream}." if self.kind == "rgbpose" else "cls_head.fc_cls."

    def stage_offset(self, stream: str) -> int:
        return self.pose_offset if stream == "pose" else 0


def _max_index(names: Iterable[str], pattern: str) -> int:
    found = [int(m.group(1)) for n in names if (m := re.search(pattern, n))]
    return max(found, default=0)


def infer_plugin_layout(names: Iterable[str]) -> NameLayout:
    """Layout of a plugin state dict, from its head's stream names and its depth."""
    names = list(names)
    streams = {m.group(1) for n in names if (m := re.match(r"blocks\.\d+\.proj\.(\w+)\.", n))}
    if streams == {"rgb", "pose"}:
        kind = "rgbpose"
    elif len(streams) == 1:
        kind = streams.pop()
    else:
        raise WeightNameError(f"cannot tell the model from head streams {sorted(streams)}")
    last = _max_index(names, r"^blocks\.(\d+)\.multipathway_blocks")
    first_pose = min((int(m.group(1)) for n in names
                      if (m := re.match(r"blocks\.(\d+)\.multipathway_blocks\.1\.res", n))),
                     default=1)
    if kind == "rgbpose":
        return NameLayout("rgbpose", rgb_stages=last, pose_stages=last - first_pose + 1)
    return NameLayout(kind, rgb_stages=last, pose_stages=last)


def infer_mmcv_layout(names: Iterable[str]) -> NameLayout:
    """Layout of a pyskl / mmaction2 state dict (``backbone.*`` / ``cls_head.*``)."""
    names = list(names)
    if any(n.startswith("backbone.rgb_path.") for n in names):
        return NameLayout("rgbpose",
                          rgb_stages=_max_index(names, r"^backbone\.rgb_path\.layer(\d+)\."),
                          pose_stages=_max_index(names, r"^backbone\.pose_path\.layer(\d+)\."))
    stages = _max_index(names, r"^backbone\.layer(\d+)\.")
    stem = next((n for n in names if n == "backbone.conv1.conv.weight"), None)
    if stem is None or stages == 0:
        raise WeightNameError("not a pyskl/mmaction2 RGBPose, SlowOnly or PoseC3D state dict: "
                              "no backbone.conv1.conv.weight / backbone.layerN keys")
    # The RGB SlowOnly has 4 stages, the pose SlowOnly 3 (PoseC3D).
    kind = "rgb" if stages == 4 else "pose"
    return NameLayout(kind, rgb_stages=stages, pose_stages=stages)


def _plugin_to_mmcv(name: str, layout: NameLayout) -> str:
    m = re.fullmatch(r"blocks\.(\d+)\.(.+)", name)
    if not m:
        raise WeightNameError(f"unknown parameter {name!r}")
    k, rest = int(m.group(1)), m.group(2)
    if k == layout.head_block and (h := re.fullmatch(r"proj\.(\w+)\.(weight|bias)", rest)):
        if h.group(1) in layout.streams:
            return layout.fc(h.group(1)) + h.group(2)
    if (p := re.fullmatch(r"multipathway_blocks\.(\d+)\.(.+)", rest)):
        index, rest = int(p.group(1)), p.group(2)
        if index < len(layout.streams):
            stream = layout.streams[index]
            path = layout.path(stream)
            if k == 0 and (s := re.fullmatch(r"(conv|norm)\.(.+)", rest)):
                return f"{path}{_STEM_PARTS[s.group(1)]}.{s.group(2)}"
            b = re.fullmatch(r"res_blocks\.(\d+)\.(branch2\.\w+|branch1_\w+)\.(.+)", rest)
            stage = k - layout.stage_offset(stream)
            if k > 0 and stage > 0 and b and b.group(2) in _BLOCK_PARTS:
                return f"{path}layer{stage}.{b.group(1)}.{_BLOCK_PARTS[b.group(2)]}.{b.group(3)}"
    if layout.kind == "rgbpose" and (f := re.fullmatch(r"multipathway_fusion\.(.+)", rest)):
        if (g := re.fullmatch(r"pose_to_rgb\.(weight)", f.group(1))):
            return f"backbone.rgb_path.layer{k}_lateral.conv.{g.group(1)}"
        if (g := re.fullmatch(r"rgb_to_pose\.((?:conv|bn)\..+)", f.group(1))):
            return f"backbone.pose_path.layer{k - layout.pose_offset}_lateral.{g.group(1)}"
    raise WeightNameError(f"unknown parameter {name!r} for a {layout.kind} model")


def _mmcv_to_plugin(name: str, layout: NameLayout) -> str:
    for stream in layout.streams:
        fc = layout.fc(stream)
        if name in (fc + "weight", fc + "bias"):
            return f"blocks.{layout.head_block}.proj.{stream}.{name[len(fc):]}"
        path = layout.path(stream)
        index = layout.streams.index(stream)
        if not name.startswith(path):
            continue
        rest = name[len(path):]
        if (s := re.fullmatch(r"(conv1\.(?:conv|bn))\.(.+)", rest)):
            return f"blocks.0.multipathway_blocks.{index}.{_STEM_PARTS_INV[s.group(1)]}.{s.group(2)}"
        b = re.fullmatch(r"layer(\d+)\.(\d+)\.((?:conv[123]|downsample)\.(?:conv|bn))\.(.+)", rest)
        if b and b.group(3) in _BLOCK_PARTS_INV:
            k = int(b.group(1)) + layout.stage_offset(stream)
            part = _BLOCK_PARTS_INV[b.group(3)]
            return (f"blocks.{k}.multipathway_blocks.{index}.res_blocks.{b.group(2)}."
                    f"{part}.{b.group(4)}")
        if layout.kind == "rgbpose" and (lat := re.fullmatch(r"layer(\d+)_lateral\.(.+)", rest)):
            s, tail = int(lat.group(1)), lat.group(2)
            if stream == "rgb" and tail == "conv.weight":
                return f"blocks.{s}.multipathway_fusion.pose_to_rgb.weight"
            if stream == "pose" and re.fullmatch(r"(conv|bn)\..+", tail):
                return f"blocks.{s + layout.pose_offset}.multipathway_fusion.rgb_to_pose.{tail}"
    raise WeightNameError(f"unknown pyskl/mmaction2 parameter {name!r} for a {layout.kind} model")


def to_mmcv(state: Dict, layout: NameLayout) -> Dict:
    """Rename a plugin state dict to pyskl / mmaction2 names (same tensors)."""
    return {_plugin_to_mmcv(k, layout): v for k, v in state.items()}


def from_mmcv(state: Dict, layout: NameLayout) -> Dict:
    """Rename a pyskl / mmaction2 state dict to plugin names (same tensors)."""
    return {_mmcv_to_plugin(k, layout): v for k, v in state.items()}
