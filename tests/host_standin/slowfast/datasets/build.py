from fvcore.common.registry import Registry

DATASET_REGISTRY = Registry("DATASET")


def build_dataset(dataset_name, cfg, split):
    return DATASET_REGISTRY.get(dataset_name.capitalize())(cfg, split)
