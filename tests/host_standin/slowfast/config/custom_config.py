# The host's hook for a user's own config keys, as a fresh PySlowFast checkout has it;
# tools/setup_pyslowfast.py makes it call add_rgbpose_config.
"""Add custom configs and default values"""


def add_custom_config(_C):
    # Add your own customized configs.
    pass
