#!/usr/bin/env bash
# Builds the measurement data (run from the project root, ../shared beside it):
# small ToolQA-synthetic corpora (seed 0) with the real coffee prices, 240 oracle seed demonstrations
# (2 per template, from questions that are not evaluated), then the official coffee and gsm8k easy
# questions in place of the synthetic ones.
set -euo pipefail
DATA=${1:-/work/runs/measure-data}
.venv/bin/seer-mcp toolqa synth --seed 0 --out "$DATA" \
  --coffee-csv ../shared/data/toolqa/external_corpus/coffee/coffee_price.csv \
  --seed-experiences "$DATA/seed_library.json"
cp ../shared/data/toolqa/questions/easy/coffee-easy.jsonl ../shared/data/toolqa/questions/easy/gsm8k-easy.jsonl \
  "$DATA/questions/easy/"
