#!/usr/bin/env bash
# Run HERE (a machine with PyPI) before benchmarks/gpu_check.sh on a GPU machine that has no
# network but has torch (the device machines: Python 3.12, torch, numpy, yaml, tabulate, tqdm,
# portalocker, matplotlib, tensorboard). Packs the rest into .gpu_bundle/ (git-ignored; carry it):
#   site/  the pure-Python packages, copied from this venv (fvcore, iopath, pytorchvideo, yacs,
#          termcolor, submitit, cloudpickle)
#   whl/   the PyAV wheel (binary) for the GPU machine's Python
#   bash benchmarks/gpu_bundle.sh [PYTHON] [TARGET_PYTHON_VERSION]   (defaults: .venv/bin/python 3.12)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
TARGET=${2:-3.12}
rm -rf .gpu_bundle && mkdir -p .gpu_bundle/site .gpu_bundle/whl
for pkg in fvcore iopath pytorchvideo yacs termcolor submitit cloudpickle; do
    cp -r "$("$PY" -c "import $pkg, os; print(os.path.dirname($pkg.__file__))")" .gpu_bundle/site/
done
AV=$("$PY" -c "import av; print(av.__version__)")
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$TARGET" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .gpu_bundle/whl "av==$AV"
find .gpu_bundle -name __pycache__ -prune -exec rm -rf {} +
du -sh .gpu_bundle
