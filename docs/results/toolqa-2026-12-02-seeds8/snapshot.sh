#!/usr/bin/env bash
# A frozen copy of a commit for long runs: snapshot.sh COMMIT DIR. Its four folders are importable as
# seer.* through DIR/.pythonpath (put it first on PYTHONPATH), so later work on main cannot change a
# running or resumed measurement.
set -euo pipefail
COMMIT=${1:-HEAD}
DIR=${2:-/work/runs/code-head}
rm -rf "$DIR" && mkdir -p "$DIR/.pythonpath/seer"
git -C /work/main archive "$COMMIT" | tar -x -C "$DIR"
for d in seer_mcp tools pool eval; do ln -s "../../$d" "$DIR/.pythonpath/seer/$d"; done
echo "$COMMIT $(git -C /work/main rev-parse "$COMMIT")" > "$DIR/COMMIT"
