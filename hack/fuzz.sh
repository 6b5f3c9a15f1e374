#!/usr/bin/env bash
# Runs one fuzz target for FUZZTIME. A failure with a saved input fails the run; Go's fuzzing
# engine also fails with "context deadline exceeded" and no input when a loaded machine keeps
# its workers from reporting before -fuzztime ends: that case is retried once, not hidden.
#   hack/fuzz.sh PKG FUNC FUZZTIME
set -uo pipefail
pkg=$1 fn=$2 fuzztime=$3
corpus=$pkg/testdata/fuzz/$fn
count() { ls "$corpus" 2>/dev/null | wc -l; }
for attempt in 1 2; do
  before=$(count)
  out=$(go test "$pkg" -run '^$' -fuzz "^$fn\$" -fuzztime "$fuzztime" -fuzzminimizetime 2s 2>&1)
  rc=$?
  grep -vE '^fuzz: elapsed: [0-9]+s, (gathering|execs)' <<<"$out"
  [ $rc -eq 0 ] && exit 0
  if [ "$attempt" = 1 ] && [ "$(count)" = "$before" ] && grep -q 'context deadline exceeded' <<<"$out"; then
    echo "fuzz $fn: the engine timed out with no failing input (a loaded machine); retrying once"
    continue
  fi
  echo "fuzz $fn failed: the failing input is saved under $corpus; run go test $pkg -run $fn to reproduce"
  exit 1
done
exit 1
