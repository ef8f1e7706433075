#!/usr/bin/env bash
# Runs every Fuzz target in the repository for a bounded time (first argument, e.g. 5s).
# A target that fails without a failing input (the fuzzing engine itself timed out on a
# loaded machine) is run once more; a real finding fails at once and is kept under
# testdata/fuzz/ for `go test` to replay.
set -euo pipefail
t=${1:-5s}
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "fuzz $pkg $fn ($t)"
    for try in 1 2; do
      # A new input is minimized for up to a minute by default (-fuzzminimizetime): one
      # found near the end of a short run outlived the run, and the engine failed with
      # "context deadline exceeded" and no input. A hundred tries bound it; a failing
      # input is still shrunk that much before it is written.
      if go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -fuzzminimizetime 100x "$pkg" >"$log" 2>&1; then
        break
      fi
      if grep -q "Failing input written" "$log" || [ "$try" = 2 ]; then
        cat "$log"
        exit 1
      fi
      echo "  (engine error without a failing input; trying once more)"
    done
  done
done
echo "fuzz: all targets passed"
