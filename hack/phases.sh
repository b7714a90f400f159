#!/usr/bin/env bash
# Runs make targets one after another, as `make test` does, and prints each
# one's wall time at the end, also when one fails (then it stops there and
# exits with that target's code). A cold run's figures say where the time goes:
#   hack/phases.sh '&checks' tools-base e2e checks
# A target written '&T' starts in the background at that point, its output
# kept aside; T named later waits for it there, prints its output and
# counts its time from its start (make test's checks, at the lowest CPU
# priority, take what the tools' build and the e2e tests leave).
set -uo pipefail
set -m # each background target in its own process group, to stop it whole

names=() secs=()
declare -A bg_pid bg_start bg_log
report() {
  local i total=0 t
  for t in "${!bg_pid[@]}"; do
    kill -- -"${bg_pid[$t]}" 2>/dev/null
  done
  printf '\n%-44s %8s\n' PHASE TIME
  for i in "${!names[@]}"; do
    printf '%-44s %7ds\n' "${names[$i]}" "${secs[$i]}"
    total=$((total + secs[i]))
  done
  printf '%-44s %7ds\n' "total (wall)" "$SECONDS"
}
trap report EXIT

# background T: make T in the background, its output and code kept aside.
background() {
  local t=$1 log
  log=$(mktemp)
  # The code and when it ended (the subshell's SECONDS runs on from ours).
  (make --no-print-directory "$t" >"$log" 2>&1; echo "$? $SECONDS" >"$log.rc") &
  bg_pid[$t]=$! bg_start[$t]=$SECONDS bg_log[$t]=$log
}

# join T: wait for the background T, print its output, set bg_end to when
# it ended and return its code.
join() {
  local t=$1 rc end
  echo "==> waiting for make $t, running in the background for $((SECONDS - bg_start[$t]))s"
  wait "${bg_pid[$t]}"
  unset "bg_pid[$t]"
  cat "${bg_log[$t]}"
  read -r rc end <"${bg_log[$t]}.rc" || { rc=1 end=$SECONDS; }
  bg_end=$end
  rm -f "${bg_log[$t]}" "${bg_log[$t]}.rc"
  return "$rc"
}

for target in "$@"; do
  if [[ $target == '&'* ]]; then
    background "${target#&}"
    continue
  fi
  start=$SECONDS
  if [ -n "${bg_pid[$target]:-}" ]; then
    from=${bg_start[$target]}
    join "$target"
    rc=$?
    label="$target (background; waited $((SECONDS - start))s)"
    elapsed=$((bg_end - from))
  else
    make --no-print-directory "$target"
    rc=$?
    label=$target
    elapsed=$((SECONDS - start))
  fi
  names+=("$label$([ $rc = 0 ] || echo ' (failed)')")
  secs+=("$elapsed")
  [ $rc = 0 ] || exit $rc
done
