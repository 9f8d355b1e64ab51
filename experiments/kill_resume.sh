#!/usr/bin/env bash
# Kill-and-resume (issue "nothing lost"): start a 12-run exp_token_patterns sweep, SIGKILL it
# once some runs have finished, resume it with --resume, and require that
#   - every run is present exactly once (12 run files, ids 0..11 once each in the summary JSON),
#   - no finished run was recomputed (the resume reports reusing exactly the files that existed,
#     and those files are byte-identical afterwards),
#   - the resumed sweep's summary equals an uninterrupted sweep's (outside timings),
#   - resuming with a different configuration is refused (exit 2, naming the run file).
# Usage: kill_resume.sh <exp_token_patterns> <scratch dir>
set -euo pipefail
exe=$1
work=$2
rm -rf "$work"
mkdir -p "$work"
args=(--quiet --activation relu,linear --beta 1,2 --seeds 3 --steps 1500 --threads 1)
total=12

"$exe" "${args[@]}" --out "$work/sweep" >"$work/first.log" 2>&1 &
pid=$!
count_runs() { find "$work/sweep/runs" -maxdepth 1 -name 'run-*.json' 2>/dev/null | wc -l; }
for _ in $(seq 1 1200); do
  [ "$(count_runs)" -ge 3 ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
before=$(count_runs)
if [ "$before" -lt 1 ] || [ "$before" -ge "$total" ]; then
  echo "FAIL: $before of $total runs existed at the kill; the test needs a partial sweep"
  exit 1
fi
(cd "$work/sweep/runs" && sha256sum run-*.json) >"$work/before.sha"

# Exit 0 or 1 is a finished sweep (1: a claim failed, not this test's concern); 2 is an error.
rc=0
"$exe" "${args[@]}" --out "$work/sweep" --resume >"$work/resume.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { echo "FAIL: resumed sweep exited with $rc"; cat "$work/resume.log"; exit 1; }
expected="resume: reused $before of $total runs, computing $((total - before))"
grep -qF "$expected" "$work/resume.log" || {
  echo "FAIL: expected '$expected' in the resume log:"; cat "$work/resume.log"; exit 1; }
(cd "$work/sweep/runs" && sha256sum --quiet -c "$work/before.sha") || {
  echo "FAIL: a finished run file changed on resume (recomputed)"; exit 1; }
after=$(count_runs)
[ "$after" -eq "$total" ] || { echo "FAIL: $after run files after resume, expected $total"; exit 1; }
ids=$(grep -o '"id": [0-9][0-9]*,\?$' "$work/sweep/exp_token_patterns.json" | sort -t' ' -k2 -n | uniq | wc -l)
all=$(grep -c '"id": [0-9][0-9]*,\?$' "$work/sweep/exp_token_patterns.json")
[ "$ids" -eq "$total" ] && [ "$all" -eq "$total" ] || {
  echo "FAIL: summary has $all run entries ($ids distinct), expected $total"; exit 1; }

# An uninterrupted sweep gives the same summary outside timings.
rc=0
"$exe" "${args[@]}" --out "$work/fresh" >"$work/fresh.log" 2>&1 || rc=$?
[ "$rc" -le 1 ] || { echo "FAIL: uninterrupted sweep exited with $rc"; cat "$work/fresh.log"; exit 1; }
strip() { grep -v -e '"seconds":' -e '_seconds"' -e '"reused_runs"' -e '"threads"' "$1"; }
if ! diff <(strip "$work/sweep/exp_token_patterns.json") <(strip "$work/fresh/exp_token_patterns.json") >"$work/diff.txt"; then
  echo "FAIL: resumed and uninterrupted sweeps differ:"; head -20 "$work/diff.txt"; exit 1
fi
# Resuming with another configuration is refused, naming the run file, before anything runs.
rc=0
"$exe" "${args[@]}" --wd 0.006 --out "$work/sweep" --resume >"$work/other.log" 2>&1 || rc=$?
[ "$rc" -eq 2 ] && grep -q "run-0000.json' was written by a different configuration" "$work/other.log" || {
  echo "FAIL: resuming with a different configuration gave exit $rc:"; cat "$work/other.log"; exit 1; }
(cd "$work/sweep/runs" && sha256sum --quiet -c "$work/before.sha") || {
  echo "FAIL: the refused resume changed a run file"; exit 1; }

echo "PASS: killed with $before of $total runs done; resume reused $before, computed $((total - before)); summary identical to an uninterrupted sweep"
