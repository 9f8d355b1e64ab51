#!/usr/bin/env bash
# cldyn-sweep's acceptance tests (docs/sweeps.md). One sweep (check_relu_local_optima --smoke,
# sigma in {0.1, 0.4, 0.8} x seeds 1-3: 9 runs of ~0.3 s) is run in different ways, and every
# way must give a summary byte-identical to one uninterrupted single-process run:
#   shards    --shard 0/2 and --shard 1/2 into one directory, then `merge`
#   kill      a process SIGKILLed after computing its 4th run (that run lost, 3 on disk),
#             then --resume: exactly the 6 missing runs run, the 3 earlier files are untouched
#   mpi       mpirun -np 2 (needs mpirun; rank 0 deals to rank 1)
#   mpi_kill  mpirun -np 2 with rank 1 killed after its 4th run, then mpirun --resume
#   errors    usage errors: an unknown check, a value the check refuses (before any run),
#             resuming a directory with another sweep, merging an incomplete sweep
#   token     exp_token_patterns swept over beta with a --measure column; a run's result (cldyn-sweep
#             show) equals the executable's own JSON for the same options
# Usage: sweep_test.sh <cldyn-sweep> <scratch dir> <mode>
set -euo pipefail
exe=$1
work=$2/$3
mode=$3
rm -rf "$work"
mkdir -p "$work"
loud=(relu_local_optima --seeds 1-3 --axis sigma=0.1,0.4,0.8 --args "--smoke" --threads 1)
sweep=("${loud[@]}" --quiet)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpirun=${MPIRUN:-mpirun}
fail() { echo "FAIL: $*"; exit 1; }
# A sweep whose runs all finished exits 0 (claims that fail are results, not errors).
if [ "$mode" != token ]; then
  "$exe" run "${sweep[@]}" --out "$work/reference" >"$work/reference.log" 2>&1 || fail "reference run: $(cat "$work/reference.log")"
fi
same() {  # same <dir>: the summary equals the reference's
  for f in summary.json summary.csv grid.csv; do
    cmp -s "$work/reference/$f" "$1/$f" || fail "$1/$f differs from the single-process run's"
  done
  [ "$(find "$1/runs" -name 'run-*.json' | wc -l)" -eq 9 ] || fail "$1 does not hold exactly 9 run files"
}
runs_in() { find "$1/runs" -name 'run-*.json' 2>/dev/null | wc -l; }

case "$mode" in
shards)
  "$exe" run "${sweep[@]}" --shard 0/2 --out "$work/s" >"$work/s0.log" 2>&1 || fail "shard 0: $(cat "$work/s0.log")"
  [ "$(runs_in "$work/s")" -eq 5 ] || fail "shard 0/2 should write runs 0,2,4,6,8"
  [ -e "$work/s/summary.json" ] && fail "an incomplete sweep wrote a summary"
  "$exe" run "${sweep[@]}" --shard 1/2 --out "$work/s" >"$work/s1.log" 2>&1 || fail "shard 1: $(cat "$work/s1.log")"
  rm -f "$work/s/summary.json" "$work/s/summary.csv" "$work/s/grid.csv"  # the last shard wrote them: merge must too
  "$exe" merge "$work/s" >"$work/merge.log" 2>&1 || fail "merge: $(cat "$work/merge.log")"
  same "$work/s"
  ;;
kill)
  rc=0
  CLDYN_SWEEP_TEST_KILL_AFTER=3 "$exe" run "${sweep[@]}" --out "$work/k" >"$work/k.log" 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || fail "the killed sweep exited with $rc, expected 137 (SIGKILL)"
  [ "$(runs_in "$work/k")" -eq 3 ] || fail "expected the 3 runs finished before the kill on disk"
  (cd "$work/k/runs" && sha256sum run-*.json) >"$work/before.sha"
  "$exe" run "${sweep[@]}" --out "$work/k" >"$work/k2.log" 2>&1 && fail "a second run without --resume was accepted"
  grep -q "add --resume" "$work/k2.log" || fail "no --resume hint: $(cat "$work/k2.log")"
  "$exe" run "${loud[@]}" --out "$work/k" --resume >"$work/resume.log" 2>&1 || fail "resume: $(cat "$work/resume.log")"
  grep -q "; 6 to run here" "$work/resume.log" || fail "the resume should run exactly the 6 missing runs: $(cat "$work/resume.log")"
  (cd "$work/k/runs" && sha256sum -c --quiet "$work/before.sha") || fail "a finished run was rewritten"
  same "$work/k"
  ;;
mpi)
  "$mpirun" -np 2 "$exe" run "${sweep[@]}" --out "$work/m" >"$work/m.log" 2>&1 || fail "mpirun: $(cat "$work/m.log")"
  same "$work/m"
  ;;
mpi_kill)
  rc=0
  CLDYN_SWEEP_TEST_KILL_AFTER=3 timeout 120 "$mpirun" -np 2 "$exe" run "${sweep[@]}" --out "$work/mk" >"$work/mk.log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "mpirun did not report the killed rank"
  [ "$rc" -ne 124 ] || fail "mpirun hung after a rank died"
  [ "$(runs_in "$work/mk")" -eq 3 ] || fail "expected the 3 runs rank 1 handed over before it died, found $(runs_in "$work/mk")"
  "$mpirun" -np 2 "$exe" run "${loud[@]}" --out "$work/mk" --resume >"$work/mk2.log" 2>&1 || fail "resume: $(cat "$work/mk2.log")"
  grep -q "; 6 to run here" "$work/mk2.log" || fail "the resume should run exactly the 6 missing runs: $(cat "$work/mk2.log")"
  same "$work/mk"
  ;;
errors)
  expect() {  # expect <regex> <args...>: exit 2 and one error line matching
    local want=$1; shift
    local rc=0
    "$exe" "$@" >"$work/e.log" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "'$*' exited with $rc, expected 2: $(cat "$work/e.log")"
    grep -Eq "$want" "$work/e.log" || fail "'$*' said: $(cat "$work/e.log"), expected /$want/"
  }
  expect "^cldyn-sweep: error: no check called 'nope' \(checks: .*relu_local_optima" run nope --seeds 1 --out "$work/e1"
  expect "^cldyn-sweep: error: grid point 1 is refused by the check: check_relu_local_optima: error: --sigma: value -1 must be > 0" \
    run relu_local_optima --seeds 1 --axis sigma=0.1,-1 --out "$work/e2"
  [ -e "$work/e2/sweep.json" ] && fail "a refused sweep created its directory"
  expect "the sweep sets --seed itself" run relu_local_optima --seeds 1 --args "--seed 4" --out "$work/e3"
  expect "holds another sweep" run relu_local_optima --seeds 1-2 --axis sigma=0.1,0.4,0.8 --args "--smoke" --out "$work/reference" --resume
  "$exe" run "${sweep[@]}" --shard 0/2 --out "$work/half" >/dev/null 2>&1 || fail "shard run"
  expect "incomplete: 4 of 9 runs missing \(first: 1, 3, 5, 7\)" merge "$work/half"
  expect "seeds: 'x' is not an unsigned integer" run relu_local_optima --seeds x --out "$work/e4"
  ;;
token)
  # The token experiment swept like a check: beta 1, 5 x seeds 1, 2 at 300 steps, loc_all tabulated;
  # run 3 (beta 5, seed 2) is the executable's own result with the same options (outside timing).
  targs=(--steps 300 --batch 32)
  "$exe" run exp_token_patterns --seeds 1-2 --axis beta=1,5 --args "${targs[*]}" --measure loc_all=/runs/0/loc_all \
    --threads 1 --quiet --out "$work/t" >"$work/t.log" 2>&1 || fail "token sweep: $(cat "$work/t.log")"
  bin=$(dirname "$exe")
  rc=0
  "$bin/exp_token_patterns" "${targs[@]}" --beta 5 --seed 2 --quiet --out "$work/direct" >"$work/direct.log" 2>&1 || rc=$?
  [ "$rc" -le 1 ] || fail "exp_token_patterns: $(cat "$work/direct.log")"
  "$exe" show "$work/t" 3 >"$work/run3.json" 2>"$work/show.log" || fail "show: $(cat "$work/show.log")"
  "$bin/check_result_compare" "$work/direct/exp_token_patterns.json" "$work/run3.json" >"$work/cmp.log" 2>&1 ||
    fail "the sweep's run 3 differs from exp_token_patterns --beta 5 --seed 2: $(cat "$work/cmp.log")"
  head -1 "$work/t/grid.csv" | grep -q ",loc_all_mean$" || fail "grid.csv lacks loc_all_mean: $(head -1 "$work/t/grid.csv")"
  grep -Eq "^3,2,5,[01],.*,0\.[0-9]+$" "$work/t/summary.csv" || fail "summary.csv has no loc_all for run 3: $(cat "$work/t/summary.csv")"
  rc=0
  "$exe" show "$work/t" 4 >/dev/null 2>"$work/show.log" || rc=$?
  [ "$rc" -eq 2 ] && grep -q "runs 0 to 3, not 4" "$work/show.log" || fail "show of a run outside the sweep: $rc $(cat "$work/show.log")"
  ;;
*) fail "unknown mode $mode" ;;
esac
echo "PASS: $mode"
