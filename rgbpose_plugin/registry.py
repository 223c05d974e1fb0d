"""The plugin's two registries: config names to the builders that make each part.

Each builder is registered by a decorator where it is defined::

    build_model(cfg)           MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)        models/build.py
    build_dataset(cfg, split)  DATASET_REGISTRY.get(NAME.capitalize())(cfg, split)  data/build.py

The lookups are PySlowFast's own, so a host project finds the same names in its
registries; :func:`rgbpose_plugin.host.register_with_host` puts them there, host-shaped.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from fvcore.common.registry import Registry

__all__ = ["MODEL_REGISTRY", "DATASET_REGISTRY", "register_model", "register_dataset"]

T = TypeVar("T")


class NamedRegistry(Registry):
    """fvcore's registry, with parts registered under a config name of their own rather
    than their ``__name__`` (a builder ``build_rgb_slowonly`` is ``"RGBSlowOnly"``)."""

    def register_as(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            self._do_register(name, obj)
            return obj

        return deco


MODEL_REGISTRY = NamedRegistry("RGBPOSE_MODEL")
MODEL_REGISTRY.__doc__ = "Models built from a config: ``MODEL_REGISTRY.get(name)(cfg)``."
DATASET_REGISTRY = NamedRegistry("RGBPOSE_DATASET")
DATASET_REGISTRY.__doc__ = "Datasets: ``DATASET_REGISTRY.get(name.capitalize())(cfg, split)``."


def register_model(name: str) -> Callable[[T], T]:
    """Register a ``cfg -> nn.Module`` builder as ``MODEL.MODEL_NAME`` ``name``."""
    return MODEL_REGISTRY.register_as(name)


def register_dataset(name: str) -> Callable[[T], T]:
    """Register a ``(cfg, split) -> Dataset`` builder as ``name`` (already in the
    ``str.capitalize()`` form PySlowFast's lookup makes of TRAIN/TEST.DATASET)."""
    if name != name.capitalize():
        raise ValueError(
            f"dataset name {name!r} would not survive PySlowFast's name.capitalize() "
            f"lookup; use {name.capitalize()!r}"
        )
    return DATASET_REGISTRY.register_as(name)
