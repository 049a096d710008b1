#!/usr/bin/env bash
# One run of the measurement with the embedded 1.5B model, into runs/NAME beside this script (the run
# logs are committed; pool files are not: a resume rebuilds a missing pool by replaying the log).
# Usage: measure.sh METHOD NAME LEVEL START [PROTOCOL] [extra options]
#   LEVEL: easy (coffee, gsm8k, flight, airbnb x 25) | hard (coffee, flight, airbnb x 20)
#   START: seeds8 (the official SEER library) | empty | oracle240 (synthetic oracle seeds)
# Resumes by itself when runs/NAME already holds a log (options then come from the log).
set -euo pipefail
HERE=/work/main/docs/results/toolqa-2026-12-02-seeds8
OUT=$HERE/runs/$2
cd /work/main
export SEER_HOME=/work/seer-measure-home
D=/work/runs/measure-data
mkdir -p /work/runs
flock /work/runs/.prepare.lock bash -c "[ -d $D/questions ] || bash $HERE/prepare.sh $D"  # once, not per run
if [ -s "$OUT/runlog.jsonl" ]; then
  exec .venv/bin/python -m seer.seer_mcp.cli run toolqa --resume --out "$OUT"
fi
case "$3" in
  easy) DOMAINS=coffee,gsm8k,flight,airbnb; LIMIT=25 ;;
  hard) DOMAINS=coffee,flight,airbnb; LIMIT=20 ;;
esac
case "$4" in
  seeds8) SEEDS=/work/shared/data/seer/library.json ;;
  empty) SEEDS=none ;;
  oracle240) SEEDS=$D/seed_library.json ;;
esac
exec .venv/bin/python -m seer.seer_mcp.cli run toolqa --methods "$1" --domains $DOMAINS --level "$3" \
  --limit $LIMIT --batches 10 --k 4 --protocol "${5:-online}" --model default --intent server \
  --on-error feedback --corpus $D/external_corpus --questions $D/questions --seeds "$SEEDS" \
  --out "$OUT" --seed 0 "${@:6}"
