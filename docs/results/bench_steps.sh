# Sourced by a benchmark folder's launch.sh (from the repository root, after it defines HERE and run METHOD
# [ARGS]): `bench_steps STEP...` runs the steps in order (default: react first rest compare). METHODS: the
# memory methods (default "query seer").
#   react    react to the end
#   first    each memory method's own first batch (what `fork` checks its premise on), unless its run has
#            started; needs nothing of react's
#   rest     fork react's batches up to its first success the pool keeps into each memory method's run, then
#            run the rest
#   compare  the paired comparison, once every run is complete
bench_steps() {
  local step m
  for step in ${*:-react first rest compare}; do
    case $step in
      react) run react ;;
      first)
        for m in ${METHODS:-query seer}; do
          [ -s "$HERE/runs/$m/runlog.jsonl" ] || run "$m" --until-batch 1
        done ;;
      rest)
        for m in ${METHODS:-query seer}; do
          { .venv/bin/seer-mcp run fork "$HERE/runs/react" --method "$m" --out "$HERE/runs/$m" \
              || echo "fork refused: $m runs every batch itself"; } 2>&1 | tee -a "$HERE/runs/$m.log"
          run "$m"
        done ;;
      compare) .venv/bin/seer-mcp run compare "$HERE/runs/react" "$HERE/runs/query" "$HERE/runs/seer" \
                 --out "$HERE/compare" ;;
      *) echo "unknown step $step (react, first, rest, compare)" >&2; exit 2 ;;
    esac
  done
}
