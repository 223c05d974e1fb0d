"""Collection rules shared by the whole suite."""

import importlib.util

# The MMAction2 tests need mmaction2 1.2.0 (numpy < 2): they run in .venv-mmaction, started
# by tests/test_mmaction_suite.py (which fails if any of them skips, and skips with the
# installer's reason where that venv cannot be built). In any other environment they are
# not collected, rather than reported as skips.
if importlib.util.find_spec("mmaction") is None:
    collect_ignore_glob = ["test_mm_*.py"]

# The stand-in PySlowFast checkout is a host's source tree, not tests: its tools/test_net.py
# is PySlowFast's test loop (tests/test_host_standin.py runs it).
collect_ignore = ["host_standin"]
