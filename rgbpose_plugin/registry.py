"""fvcore registries for the plugin's parts, mirrored into a PySlowFast-style host.

A model is built as ``MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)`` and a dataset as
``DATASET_REGISTRY.get(name.capitalize())(cfg, split)``, exactly as PySlowFast does, so
the plugin's parts can be used from either side.

When ``slowfast.models.build.MODEL_REGISTRY`` / ``slowfast.datasets.build.DATASET_REGISTRY``
are importable (the plugin is used inside a PySlowFast-style project), every part
registered here is registered there too, under the same name. Dataset names are
already in ``str.capitalize()`` form, so PySlowFast's lookup finds them.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, Optional, TypeVar

from fvcore.common.registry import Registry

__all__ = ["MODEL_REGISTRY", "DATASET_REGISTRY", "register_model", "register_dataset",
           "mirror_to_host"]

MODEL_REGISTRY = Registry("RGBPOSE_MODEL")
MODEL_REGISTRY.__doc__ = "Models built from a config: ``MODEL_REGISTRY.get(name)(cfg)``."
DATASET_REGISTRY = Registry("RGBPOSE_DATASET")
DATASET_REGISTRY.__doc__ = "Datasets: ``DATASET_REGISTRY.get(name.capitalize())(cfg, split)``."

T = TypeVar("T")

# Where a PySlowFast-style host keeps its registries.
_HOST_REGISTRIES = {
    "model": ("slowfast.models.build", "MODEL_REGISTRY"),
    "dataset": ("slowfast.datasets.build", "DATASET_REGISTRY"),
}


def host_registry(kind: str) -> Optional[Registry]:
    """The host project's registry of this kind, or None when there is no host."""
    module_name, attr = _HOST_REGISTRIES[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def _register(ours: Registry, kind: str, name: str) -> Callable[[T], T]:
    def deco(obj: T) -> T:
        ours._do_register(name, obj)
        host = host_registry(kind)
        if host is not None and name not in host:
            host._do_register(name, obj)
        return obj

    return deco


def register_model(name: str) -> Callable[[T], T]:
    """Register a ``cfg -> nn.Module`` callable as ``name`` (here and in a host)."""
    return _register(MODEL_REGISTRY, "model", name)


def register_dataset(name: str) -> Callable[[T], T]:
    """Register a ``(cfg, split) -> Dataset`` callable as ``name.capitalize()``."""
    if name != name.capitalize():
        raise ValueError(
            f"dataset name {name!r} would not survive PySlowFast's name.capitalize() "
            f"lookup; use {name.capitalize()!r}"
        )
    return _register(DATASET_REGISTRY, "dataset", name)


# What a caller other than the plugin's own trainer needs (a PySlowFast host: tuple items,
# one output tensor) is an adapter, registered by rgbpose_plugin.host on import and applied
# by the registered builders when the config says RGBPOSE.HOST_MODE. The data and model
# packages never import the host package; it plugs itself in here.
_ADAPTERS: Dict[str, Callable[[Any, Any], Any]] = {}


def set_host_adapter(kind: str, adapter: Callable[[Any, Any], Any]) -> None:
    """Make ``adapter(product, cfg)`` reshape every ``kind`` ("model"/"dataset") built
    under ``RGBPOSE.HOST_MODE``."""
    _ADAPTERS[kind] = adapter


def for_caller(kind: str, product: T, cfg) -> T:
    """``product`` as built, or reshaped by the host adapter when the config asks."""
    if not cfg.get("RGBPOSE", {}).get("HOST_MODE", False):
        return product
    if kind not in _ADAPTERS:
        raise RuntimeError(f"RGBPOSE.HOST_MODE is set but no host {kind} adapter is "
                           f"registered: import rgbpose_plugin (not only its submodules)")
    return _ADAPTERS[kind](product, cfg)


def mirror_to_host() -> bool:
    """Register every part registered so far in the host's registries (for a host imported
    after the plugin); True when a host was found."""
    found = False
    for ours, kind in ((MODEL_REGISTRY, "model"), (DATASET_REGISTRY, "dataset")):
        host = host_registry(kind)
        if host is None:
            continue
        found = True
        for name, obj in ours:
            if name not in host:
                host._do_register(name, obj)
    return found
