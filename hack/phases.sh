#!/usr/bin/env bash
# Runs make targets one after another, as `make test` does, and prints each
# one's wall time at the end, also when one fails (then it stops there and
# exits with that target's code). A cold run's figures say where the time goes:
#   hack/phases.sh unit dist-test tools e2e
set -uo pipefail

names=() secs=()
report() {
  local i total=0
  printf '\n%-20s %8s\n' PHASE TIME
  for i in "${!names[@]}"; do
    printf '%-20s %7ds\n' "${names[$i]}" "${secs[$i]}"
    total=$((total + secs[i]))
  done
  printf '%-20s %7ds\n' total "$total"
}
trap report EXIT

for target in "$@"; do
  start=$SECONDS
  make --no-print-directory "$target"
  rc=$?
  names+=("$target$([ $rc = 0 ] || echo ' (failed)')")
  secs+=($((SECONDS - start)))
  [ $rc = 0 ] || exit $rc
done
