#!/usr/bin/env bash
# Build the MMAction2 1.2.0 test environment (default .venv-mmaction, gitignored).
#
# The plugin's own environment stays on current numpy; mmaction2 1.2.0 needs numpy < 2
# (np.Inf in its pose transforms), hence a second venv. Tests marked `mmaction` run in
# it (tests/test_mmaction_suite.py starts them). On failure this script writes the reason
# to <venv>.failed, which that test reports as its skip reason.
#
#   bash .ci/mmaction_env.sh [VENV]
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-mmaction}
PYTHON=${PYTHON:-python3}
FAILED="$VENV.failed"
LOG="$VENV.log"
rm -f "$FAILED"
: > "$LOG"
start=$(date +%s)

step() {  # step DESCRIPTION CMD...: run, log, and on failure record why
    local what=$1; shift
    local t0=$(date +%s)
    echo "== $what: $*" >> "$LOG"
    if ! "$@" >> "$LOG" 2>&1; then
        { echo "mmaction2 environment not installed: '$what' failed ($*)";
          echo "last lines of $LOG:"; tail -n 15 "$LOG"; } > "$FAILED"
        cat "$FAILED" >&2
        exit 1
    fi
    echo "== $what: done in $(( $(date +%s) - t0 )) s" >> "$LOG"
}

PIP="$VENV/bin/python -m pip"
rm -rf "$VENV"
step "create venv" "$PYTHON" -m venv "$VENV"
# Same torch as the plugin's venv: hard-link its files when that venv runs the same Python.
PLUGIN_PY=${PLUGIN_VENV:-.venv}/bin/python
py_version() { "$1" -c 'import sys; print(sys.version)'; }
if [ -x "$PLUGIN_PY" ] && [ "$(py_version "$PLUGIN_PY")" = "$(py_version "$VENV/bin/python")" ]; then
    SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    "$PLUGIN_PY" .ci/link_torch.py "$SITE" >> "$LOG" 2>&1 || true
fi
step "torch" $PIP install -q torch==2.14.1 torchvision==0.29.1
# mmcv-lite 2.1.0: pure Python, no compiler; mmaction2 accepts mmcv < 2.2.0. numpy < 2 and
# opencv 4.10 (the last built on numpy 1) for mmaction2's pose transforms; importlib_metadata
# is imported by mmaction2 but not declared; mmengine resolves `mmaction::` config paths
# with pkg_resources, which setuptools dropped in 81.
step "mmaction2 stack" $PIP install -q mmengine==0.10.7 mmcv-lite==2.1.0 mmaction2==1.2.0 \
    numpy==1.26.4 opencv-python==4.10.0.84 opencv-contrib-python==4.10.0.84 \
    importlib_metadata decord "setuptools<81"
# What importing the plugin needs, then the plugin itself without its declared dependencies,
# so that pip changes nothing of the stack above.
step "plugin deps" $PIP install -q pytorchvideo==0.1.5 fvcore iopath av tqdm pytest
step "plugin" $PIP install -q --no-deps -e .
step "patch drn import" "$VENV/bin/python" .ci/mmaction_patch_drn.py
step "import check" "$VENV/bin/python" -c \
    "import mmaction.models, rgbpose_plugin.mmaction, numpy; assert numpy.__version__ < '2'"
touch "$VENV/.installed"
echo "mmaction2 environment ready in $VENV ($(( $(date +%s) - start )) s)"
