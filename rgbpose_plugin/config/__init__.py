"""Configuration: defaults, the plugin's keys for a host config, loading, stage configs."""

from ..errors import ConfigError
from .checks import check_values
from .defaults import REFERENCE_TEST_SEED, add_rgbpose_config, get_cfg
from .loading import load_cfg, merge_file, merge_opts
from .stages import check_stages, config_changes, stage_cfg

__all__ = ["ConfigError", "REFERENCE_TEST_SEED", "add_rgbpose_config", "check_stages",
           "check_values", "config_changes", "get_cfg", "load_cfg", "merge_file", "merge_opts",
           "stage_cfg"]
