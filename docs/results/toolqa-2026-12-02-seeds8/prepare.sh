#!/usr/bin/env bash
# Measurement data (run from the project root, ../shared beside it): small ToolQA-synthetic corpora
# (seed 0) on the real coffee prices with easy and hard questions, the 240 oracle seed demonstrations
# (the "best case" start), then the official coffee and gsm8k easy questions in place of the synthetic ones.
set -euo pipefail
DATA=${1:-/work/runs/measure-data}
.venv/bin/seer-mcp toolqa synth --seed 0 --out "$DATA" \
  --coffee-csv ../shared/data/toolqa/external_corpus/coffee/coffee_price.csv \
  --seed-experiences "$DATA/seed_library.json"
cp ../shared/data/toolqa/questions/easy/coffee-easy.jsonl ../shared/data/toolqa/questions/easy/gsm8k-easy.jsonl \
  "$DATA/questions/easy/"
