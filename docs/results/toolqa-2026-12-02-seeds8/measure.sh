#!/usr/bin/env bash
# One method of the measurement with the embedded 1.5B model, online or heldout, from a given start.
# Usage: measure.sh METHOD OUT LEVEL START [PROTOCOL] [extra options]
#   LEVEL: easy (coffee, gsm8k, flight, airbnb x 25) | hard (coffee, flight, airbnb x 20)
#   START: seeds8 (the official SEER library) | empty | oracle240 (synthetic oracle seeds)
# Pin with taskset; add --resume to continue after an interruption.
set -euo pipefail
cd /work/main
export SEER_HOME=/work/seer-measure-home
D=/work/runs/measure-data
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
  --out "$2" --seed 0 "${@:6}"
