"""The host user's one edit: the plugin's keys join the host's config."""

from rgbpose_plugin import add_rgbpose_config


def add_custom_config(_C):
    add_rgbpose_config(_C)
