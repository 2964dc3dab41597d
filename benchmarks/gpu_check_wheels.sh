#!/usr/bin/env bash
# The Python packages semifer needs that the GPU machine's image lacks, carried as wheels: that
# machine has no network, so a person fills the folder on a networked machine and copies it over
# with the repository (git ignores it).
#
#   bash benchmarks/gpu_check_wheels.sh download [DIR]   on a networked machine (any OS, any Python)
#   bash benchmarks/gpu_check_wheels.sh install [DIR]    on the GPU machine (gpu_check.sh runs it)
#
# DIR: default gpu-check-wheels/ in the repository. PYTHON: the interpreter to install into or to
# run pip with (default python3). WHEEL_PYTHON: the Python version the wheels are for (default
# 3.12, the GPU image's). Wheels only, no sdist: nothing is built on the GPU machine, and torch is
# never downloaded (nothing listed needs it).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PYTHON=${PYTHON:-python3}
WHEEL_PYTHON=${WHEEL_PYTHON:-3.12}

# "import-name requirement". The image (read 2026-11) has safetensors, rich and tensorboard but
# neither omegaconf (configs) nor av (`semifer synth` writes a raw video); each is installed only
# where its import fails. omegaconf 2.4 needs only PyYAML (2.3 also needed antlr4-python3-runtime).
REQUIREMENTS=(
  "omegaconf omegaconf==2.4.0"
  "av av==18.1.0"
  "safetensors safetensors==0.8.0"
  "rich rich==15.0.0"
  "tensorboard tensorboard==2.21.0"
)
# What pip builds semifer's editable install with (pyproject.toml's build-system.requires),
# from the folder too, so the build does not depend on the image's setuptools.
BUILD_REQUIREMENTS=("setuptools>=68" "wheel")

requirements() {
  local line
  for line in "${REQUIREMENTS[@]}"; do echo "${line#* }"; done
}

modules() {
  local line
  for line in "${REQUIREMENTS[@]}"; do echo "${line%% *}"; done
}

# Every wheel for CPython $WHEEL_PYTHON on Linux x86-64, dependencies included (those the image
# already has are not installed from the folder). pip matches manylinux_2_N tags exactly, so
# every N a wheel of these packages is built for is listed.
download() {
  local dir=$1 platforms=() n
  for n in $(seq 17 39); do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
  mkdir -p "$dir"
  # shellcheck disable=SC2046  # one requirement per word
  "$PYTHON" -m pip download --dest "$dir" --only-binary=:all: --implementation cp \
    --python-version "$WHEEL_PYTHON" --platform manylinux2014_x86_64 "${platforms[@]}" $(requirements) "${BUILD_REQUIREMENTS[@]}"
}

install() {
  local dir=$1 missing=() line module requirement
  for line in "${REQUIREMENTS[@]}"; do
    read -r module requirement <<<"$line"
    "$PYTHON" -c "import $module" 2>/dev/null || missing+=("$requirement")
  done
  if ((${#missing[@]} == 0)); then
    echo "already importable: $(modules | tr '\n' ' ')"
  elif [[ ! -d $dir ]]; then
    echo "missing ${missing[*]}, and no wheel folder $dir: run 'bash benchmarks/gpu_check_wheels.sh download' on a networked machine and copy $dir here" >&2
    exit 1
  else
    echo "installing from $dir: ${missing[*]}"
    "$PYTHON" -m pip install --no-index --find-links "$dir" "${missing[@]}"
  fi
  # semifer itself, editable and without its pinned dependencies (the image's torch stays).
  if "$PYTHON" -c "import pathlib, sys, semifer; sys.exit(pathlib.Path(semifer.__file__).resolve().parent != pathlib.Path(sys.argv[1]))" "$REPO/src/semifer" 2>/dev/null; then
    echo "semifer already imports from $REPO/src"
  else
    "$PYTHON" -m pip install --no-index --find-links "$dir" --no-deps --editable "$REPO"
  fi
  # shellcheck disable=SC2046  # one module name per word
  "$PYTHON" -c "import importlib, sys; [importlib.import_module(name) for name in sys.argv[1:]]" $(modules) semifer
  echo "scripts: $("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/semifer"
}

case ${1:-} in
  download) download "${2:-$REPO/gpu-check-wheels}" ;;
  install) install "${2:-$REPO/gpu-check-wheels}" ;;
  *) echo "usage: bash $0 download|install [DIR]" >&2; exit 2 ;;
esac
