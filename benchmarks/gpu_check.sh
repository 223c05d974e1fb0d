#!/usr/bin/env bash
# What the project measures on a GPU, in one command, from the repository root after
# `make install` (at most 9.8 minutes: the five steps are capped at 90 + 240 + 90 + 110 + 60 s):
#   bash benchmarks/gpu_check.sh
# 1. the trainer's fast-path tests on CUDA: bf16 step, fp16 + GradScaler, channels_last_3d
#    (train and test views), heatmaps drawn on the GPU vs shipped;
# 2. bench_train.py: clips/s for fp32, bf16, bf16 + channels_last_3d, + torch.compile, and the
#    full step with the real loader at 0..12 workers, heatmaps in the workers vs on the GPU;
# 3. bench_loader.py: samples/s per worker process, resident memory over 2,000 samples;
# 4. bench_infer.py: fused-model inference, CPU eager vs CUDA eager and onnxruntime's CUDA /
#    TensorRT providers (where installed), batch 1 and the 10-clip test;
# 5. bench_stream.py: the timeline of a 20 s long scene read as a stream, demo and NTU-size
#    model on CUDA: x real time, peak RSS.
# PY: the Python to use (default .venv/bin/python, else python3). Logs go to $OUT when set,
# else output/gpu_check/. QUICK=1 shrinks every run (a smoke test of this script, on any
# machine). Exit status 1 when a step failed or ran out of time.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=${OUT:-output/gpu_check}
mkdir -p "$LOG"
if [ -z "${PY:-}" ]; then
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [ "${QUICK:-0}" = 1 ]; then
    TRAIN=(--tiny --steps 1 --workers 0 1 --no-compile); LOADER=(--tiny --workers 0 1 --samples 16 --memory-samples 200)
    INFER=(--kinds pose --batches 1 --repeats 1 --methods eager)
    STREAM=(--durations 8 --models demo)
else
    TRAIN=(); LOADER=(--workers 0 2 4 8 12 --samples 400)
    INFER=(--kinds rgbpose --batches 1 10 --repeats 5 --methods eager onnxruntime --threads "$(nproc)")
    STREAM=(--durations 20 --models demo full)
fi
status=0
run() {  # name, time limit (s), command...
    local name=$1 limit=$2; shift 2
    echo "== $name: $*" | tee "$LOG/$name.txt"
    timeout "$limit" "$@" 2>&1 | grep -v "^W[0-9]\{4\} " | tee -a "$LOG/$name.txt" || status=1
}
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi") > "$LOG/gpu.txt"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee -a "$LOG/gpu.txt"
run tests 90 "$PY" -m pytest -q -rs -p no:cacheprovider tests/test_fast_paths.py tests/test_trainer.py -k cuda
run bench_train 240 "$PY" benchmarks/bench_train.py "${TRAIN[@]}"
run bench_loader 90 "$PY" benchmarks/bench_loader.py "${LOADER[@]}"
run bench_infer 110 "$PY" benchmarks/bench_infer.py "${INFER[@]}"
run bench_stream 60 "$PY" benchmarks/bench_stream.py "${STREAM[@]}" --readers stream \
    --device "$(if "$PY" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then echo cuda; else echo cpu; fi)" \
    --cache "$LOG/bench_stream"
exit $status
