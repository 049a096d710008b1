#!/usr/bin/env bash
# ToolQA-easy measurement with the embedded 1.5B model (online protocol).
# Usage: measure.sh METHODS OUT
cd /work/main
export SEER_HOME=/work/seer-measure-home
exec .venv/bin/seer-mcp run toolqa --methods "$1" --domains coffee,gsm8k,flight,airbnb --level easy \
  --limit 3 --batches 3 --k 4 --protocol online --model default --intent server \
  --corpus /tmp/measure/external_corpus --questions /tmp/measure/questions --seeds /tmp/measure/seed_library.json \
  --out "$2" --seed 0 "${@:3}"
