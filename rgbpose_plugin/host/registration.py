"""Putting the plugin's parts into a PySlowFast-style host: the one place they are shaped.

A host builds models as ``MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)``, datasets as
``DATASET_REGISTRY.get(name.capitalize())(cfg, split)`` and losses from its loss table
(``slowfast.models.build`` / ``slowfast.datasets.build`` / ``slowfast.models.losses``).
:func:`register_with_host` adds every part of the plugin's registries there, under the
same name, wrapped so that under ``RGBPOSE.HOST_MODE`` (a host config's default)::

    model   = attach_host_io(plugin builder(cfg), cfg)          one (N, C) output   .model_io
    dataset = wrap_for_host(plugin builder(cfg, split), cfg)    tuple items         .items

and adds the ``rgbpose_ce`` loss (:mod:`.loss`). Importing :mod:`rgbpose_plugin` calls it,
so a host's one-line ``import rgbpose_plugin`` is enough; a host imported after the plugin
calls it again itself (it only adds what is missing).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

from fvcore.common.registry import Registry

from ..registry import DATASET_REGISTRY, MODEL_REGISTRY
from .items import wrap_for_host  # imports rgbpose_plugin.data: its datasets are registered
from .loss import register_host_loss
from .model_io import attach_host_io  # imports rgbpose_plugin.models: its models are registered

__all__ = ["HostPart", "register_with_host"]

# (host module, its registry, ours, how a product is shaped for the host)
_HOST_REGISTRIES = (
    ("slowfast.models.build", "MODEL_REGISTRY", MODEL_REGISTRY, attach_host_io),
    ("slowfast.datasets.build", "DATASET_REGISTRY", DATASET_REGISTRY, wrap_for_host),
)


class HostPart:
    """A plugin builder as the host registers it: the plugin's product, host-shaped under
    ``RGBPOSE.HOST_MODE``. ``__name__`` is the registered name (fvcore's
    ``Registry.register`` takes the name from it)."""

    def __init__(self, name: str, build: Callable[..., Any],
                 shape: Callable[[Any, Any], Any]) -> None:
        self.__name__ = name
        self.build, self.shape = build, shape

    def __call__(self, cfg, *args: Any) -> Any:
        product = self.build(cfg, *args)
        return self.shape(product, cfg) if cfg.RGBPOSE.HOST_MODE else product


def _host_registry(module_name: str, attr: str) -> Optional[Registry]:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def register_with_host() -> bool:
    """Add the plugin's models, datasets and ``rgbpose_ce`` to the host's registries and
    loss table when a host is importable; True when one was found."""
    found = False
    for module_name, attr, ours, shape in _HOST_REGISTRIES:
        host = _host_registry(module_name, attr)
        if host is None:
            continue
        found = True
        for name, build in ours:
            if name not in host:
                host.register(HostPart(name, build, shape))
    return register_host_loss() is not None or found
