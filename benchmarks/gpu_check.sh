#!/usr/bin/env bash
# One command that checks semifer on a GPU machine and prints one table: stage-1 training
# images/s end to end against the step alone, the SSL step costs, feature extraction end to end
# against the model alone, both stages finishing under torchrun, and `semifer synth`'s wall time.
#
#   bash benchmarks/gpu_check.sh                       one NVIDIA GPU (sized for an H200: < 6 min)
#   DEVICE=cpu QUICK=1 bash benchmarks/gpu_check.sh    the same flow on a CPU at smoke sizes
#
# Settings (environment): OUT (default gpu-check-out), DEVICE (cuda | cpu), QUICK (1: smoke sizes),
# PYTHON (default the repository's .venv when there is one, else python3), WHEELS (the folder of
# gpu_check_wheels.sh, installed first), NPROC (torchrun processes, default 1), BUDGET_S (seconds
# for all steps together). Every step runs under its own timeout, writes OUT/STEP.log and
# OUT/STEP.status.json, and a step that fails or times out is a FAILED row while the rest go on.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
OUT=$(realpath -m "${OUT:-gpu-check-out}")
DEVICE=${DEVICE:-cuda}
QUICK=${QUICK:-0}
NPROC=${NPROC:-1}
WHEELS=${WHEELS:-$REPO/gpu-check-wheels}
if [[ -z ${PYTHON:-} ]]; then
  if [[ -x $REPO/.venv/bin/python ]]; then PYTHON=$REPO/.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHON

if [[ $QUICK == 1 ]]; then
  # resnet18 at 64 px, a dozen steps, the small synthetic set: minutes on 2 shared cores, which
  # run every step at a fraction of a GPU's speed, hence the doubled step timeouts. One thread
  # per process by default: two-thread OpenMP regions on cores that other jobs share stall (a
  # smoke run timed the SSL step at 5.3 s with two threads, 0.58 s with one, under a load of
  # 3-4), and the loop and the step alone then run alike.
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  SCALE=small BACKBONE=resnet18 SIZE=64 RESIZE=73 BATCH=8 STEPS=12 LOG_EVERY=3 WORKERS=1
  VALIDATION_FRAMES=200 EXTRACT_BATCH=64 TEMPORAL_WORKERS=0 TIMEOUT_FACTOR=2
  BENCH_SPATIAL=(--threads "$OMP_NUM_THREADS" --rounds 3 --warmup 1)
  BENCH_TEMPORAL=(--quick --workers 1)
  BUDGET_S=${BUDGET_S:-900}
else
  # configs/abaw6.yaml's stage 1 (ResNet-50, 224 px from 256, batch 32, 8 loader workers) in bf16
  # with channels_last, on the demo-scale synthetic set: 60 steps, the first 10 (start-up) untimed.
  SCALE=demo BACKBONE=resnet50 SIZE=224 RESIZE=256 BATCH=32 STEPS=60 LOG_EVERY=10 WORKERS=8
  VALIDATION_FRAMES=2000 EXTRACT_BATCH=256 TEMPORAL_WORKERS=4 TIMEOUT_FACTOR=1
  BENCH_SPATIAL=(--rounds 10 --warmup 3)
  BENCH_TEMPORAL=(--workers 14)
  BUDGET_S=${BUDGET_S:-330}
fi
# abaw6's sources under the synthetic set's folder names. The list is replaced whole: OmegaConf
# cannot merge a dotted `data.sources.0.path=` override into a list.
SOURCES='[{format: affwild2, path: aff-wild2, split: train, use: labeled},
  {format: affectnet, path: affectnet, split: train, use: split}, {format: expw, path: expw, use: split},
  {format: ms1mv2, path: ms1mv2, use: unlabeled, fraction: 0.333}]'

if [[ -e $OUT && ! -f $OUT/settings.json && -n $(ls -A "$OUT") ]]; then
  echo "$OUT holds files that no earlier check wrote; set OUT to a new folder" >&2
  exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$REPO"
printf '{"device": "%s", "quick": %s, "nproc": %d, "scale": "%s", "backbone": "%s", "image_size": %d, "batch": %d, "steps": %d, "workers": %d, "budget_s": %d}\n' \
  "$DEVICE" "$([[ $QUICK == 1 ]] && echo true || echo false)" "$NPROC" "$SCALE" "$BACKBONE" "$SIZE" "$BATCH" "$STEPS" "$WORKERS" "$BUDGET_S" \
  >"$OUT/settings.json"
DEADLINE=$((SECONDS + BUDGET_S))

skip() {  # name reason
  printf '{"step": "%s", "skipped": "%s"}\n' "$1" "$2" >"$OUT/$1.status.json"
  echo "[$(date -u +%T)] $1: FAILED ($2)"
}

# run_step NAME TIMEOUT_S COMMAND...: the command under `timeout` (never past the budget), its
# output in OUT/NAME.log, its exit status and wall time in OUT/NAME.status.json.
run_step() {
  local name=$1 limit=$(($2 * TIMEOUT_FACTOR)) left=$((DEADLINE - SECONDS)) code=0 started ended
  shift 2
  ((limit <= left)) || limit=$left
  if ((limit < 10)); then
    skip "$name" "not run: the ${BUDGET_S} s budget is spent"
    return 1
  fi
  echo "[$(date -u +%T)] $name (at most ${limit} s)"
  started=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1 || code=$?
  ended=$(date +%s.%N)
  printf '{"step": "%s", "exit_code": %d, "started": %s, "ended": %s, "timeout_s": %d}\n' \
    "$name" "$code" "$started" "$ended" "$limit" >"$OUT/$name.status.json"
  if ((code == 124 || code == 137)); then
    echo "[$(date -u +%T)] $name: FAILED (timed out after ${limit} s), last lines of $OUT/$name.log:"
  elif ((code != 0)); then
    echo "[$(date -u +%T)] $name: FAILED (exit $code), last lines of $OUT/$name.log:"
  fi
  if ((code != 0)); then
    tail -n 5 "$OUT/$name.log" | sed 's/^/    /'
  fi
  return "$code"
}

run_step wheels 90 bash benchmarks/gpu_check_wheels.sh install "$WHEELS" || true
SEMIFER=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/semifer
TORCHRUN=("$PYTHON" -m torch.distributed.run --standalone --nproc_per_node "$NPROC" "$SEMIFER")
run_step environment 60 "$PYTHON" -c '
import datetime, json, os, platform, sys, timm, torch
cuda = torch.cuda.is_available()
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
    "cuda": cuda, "gpu": torch.cuda.get_device_name() if cuda else None, "cpus": os.cpu_count(),
}, open(sys.argv[1], "w"), indent=2)' "$OUT/environment.json" || true

synth_ok=0 extract_ok=0
run_step synth 120 "$SEMIFER" synth "$OUT/data" --scale "$SCALE" && synth_ok=1
run_step bench_spatial 120 "$PYTHON" benchmarks/bench_spatial.py --device "$DEVICE" --backbone "$BACKBONE" \
  --image-size "$SIZE" --batch "$BATCH" --bf16 --channels-last "${BENCH_SPATIAL[@]}" --json "$OUT/bench_spatial.json" || true

if ((synth_ok)); then
  run_step stage1 150 "${TORCHRUN[@]}" train-spatial -c abaw6 --no-progress "data.root=$OUT/data" "data.sources=$SOURCES" \
    data.validation_root=aff-wild2 "data.validation_max_frames=$VALIDATION_FRAMES" "data.workers=$WORKERS" \
    "model.backbone=$BACKBONE" "model.image_size=$SIZE" "model.resize_size=$RESIZE" "batch_size=$BATCH" \
    "steps=$STEPS" "log_every=$LOG_EVERY" "eval_every=$STEPS" "checkpoint_every=$STEPS" \
    bf16=true channels_last=true "device=$DEVICE" "run_dir=$OUT/stage1" || true
else
  skip stage1 "needs the synthetic data: synth failed"
fi
checkpoints=("$OUT"/stage1/checkpoints/step-*)
if [[ -d ${checkpoints[-1]} ]]; then
  run_step extract 90 "${TORCHRUN[@]}" extract-features "${checkpoints[-1]}" "$OUT/data" "$OUT/features" \
    --batch-size "$EXTRACT_BATCH" --workers "$WORKERS" --device "$DEVICE" --no-progress && extract_ok=1
else
  skip extract "needs a stage-1 checkpoint: stage1 wrote none"
fi
if ((extract_ok)); then
  run_step temporal 90 "${TORCHRUN[@]}" train-temporal -c temporal-abaw6 --no-progress "features=$OUT/features" \
    "run_dir=$OUT/stage2" epochs=2 "num_workers=$TEMPORAL_WORKERS" "device=$DEVICE" || true
else
  skip temporal "needs the feature cache: extract failed"
fi
run_step bench_temporal 150 "$PYTHON" benchmarks/bench_temporal.py --device "$DEVICE" "${BENCH_TEMPORAL[@]}" \
  --json "$OUT/bench_temporal.json" || true

"$PYTHON" benchmarks/gpu_check_table.py "$OUT"
