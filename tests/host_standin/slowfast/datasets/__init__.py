from .build import DATASET_REGISTRY, build_dataset  # noqa: F401
