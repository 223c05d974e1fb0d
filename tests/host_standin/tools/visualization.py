"""The host's visualization entry point (not used by the plugin's tests)."""


def visualize(cfg):
    raise NotImplementedError("the stand-in host has no visualization")
