"""What each model kind is: the one table the registries, data, weights and tools read.

| MODEL.MODEL_NAME | key     | streams (inputs, in order) | TRAIN/TEST.DATASET |
|------------------|---------|----------------------------|--------------------|
| RGBPoseConv3D    | rgbpose | rgb, pose                  | rgbpose            |
| RGBSlowOnly      | rgb     | rgb                        | rgbpose_rgb        |
| PoseSlowOnly     | pose    | pose                       | rgbpose_pose       |

``key`` names the kind everywhere a short name is needed: the dataset's mode, the
checkpoint layout (:mod:`rgbpose_plugin.weights.mmcv_names`) and the converter's
``--kind``. Which recipe stage trains or tests a kind is the stage graph's business
(:mod:`rgbpose_plugin.stage_graph`). A new kind is one row here plus its builder in
:mod:`rgbpose_plugin.models.build`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from .errors import ConfigError

__all__ = ["ModelKind", "MODEL_KINDS", "model_kind", "kind_by_key"]


@dataclass(frozen=True)
class ModelKind:
    name: str  # MODEL.MODEL_NAME, the model registry's name
    key: str  # short name: data mode, checkpoint layout
    streams: Tuple[str, ...]  # pathway inputs and head outputs, in order
    dataset: str  # TRAIN.DATASET / TEST.DATASET that feeds it

    @property
    def dataset_registry_name(self) -> str:
        """The name PySlowFast's ``DATASET_REGISTRY.get(name.capitalize())`` looks up."""
        return self.dataset.capitalize()


MODEL_KINDS: Tuple[ModelKind, ...] = (
    ModelKind("RGBPoseConv3D", "rgbpose", ("rgb", "pose"), "rgbpose"),
    ModelKind("RGBSlowOnly", "rgb", ("rgb",), "rgbpose_rgb"),
    ModelKind("PoseSlowOnly", "pose", ("pose",), "rgbpose_pose"),
)


def _find(field: str, value: str, what: str) -> ModelKind:
    for kind in MODEL_KINDS:
        if getattr(kind, field) == value:
            return kind
    known = ", ".join(getattr(k, field) for k in MODEL_KINDS)
    raise ConfigError(f"{what} {value!r} is not one of: {known}")


def model_kind(name: str) -> ModelKind:
    """The kind whose ``MODEL.MODEL_NAME`` is ``name``."""
    return _find("name", name, "MODEL.MODEL_NAME")


def kind_by_key(key: str) -> ModelKind:
    """The kind whose short name is ``key`` (``"rgbpose"``, ``"rgb"``, ``"pose"``)."""
    return _find("key", key, "model kind")
