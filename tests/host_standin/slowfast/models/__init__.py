from . import head_helper  # noqa: F401  (imports detectron2, as PySlowFast's models do)
from .build import MODEL_REGISTRY, build_model  # noqa: F401
