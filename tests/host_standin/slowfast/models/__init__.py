from .build import MODEL_REGISTRY, build_model  # noqa: F401
