#!/usr/bin/env bash
# Whole-process benchmarks of rex-runner against the shared REX inputs, with ratios.
#
# usage: bench/run.sh [REPS]        (default REPS=5; medians are reported)
# env:   SHARED=path to the shared bench inputs (default ../shared/bench)
#        SIZES, CASES as in the shared run.sh
#
# Builds release binaries (rex-runner and the native std::fs::read baseline), runs every
# case of the shared run.sh plus an audit-log case, and prints the raw table followed by
# the targets of issue 7 as ratios measured in this same run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
SHARED=${SHARED:-../shared/bench}
cargo build --release --locked -q --bin rex-runner --example native_read
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
RUNNER=$TARGET/release/rex-runner
NATIVE_BIN=$TARGET/release/examples/native_read
OUT=$(mktemp)

NATIVE=$NATIVE_BIN bash "$SHARED/run.sh" "$RUNNER" "$REPS" | tee "$OUT"

# The audit-log case: the same 100k read loop with every decision logged.
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
walls=()
for ((r = 0; r < REPS; r++)); do
    log=$(mktemp)
    t0=$EPOCHREALTIME
    "$RUNNER" -s "$SHARED/scripts/read-loop.rhai" -p "$SHARED/policies/read-scoped.cedar" \
        -a "$SHARED/args/read-100000.json" -o json --audit-log "$log" > /dev/null
    t1=$EPOCHREALTIME
    walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')")
    rm -f "$log"
done
printf 'read-100k-scoped-audit\t%s\n' "$(printf '%s\n' "${walls[@]}" | median)" | tee -a "$OUT"

echo
echo "== targets (ratios from this run) =="
awk -F'\t' '
  { w[$1] = $2; rss[$1] = $5 }
  function per(c, n, base) { return (w[c] - w[base]) / n }
  END {
    nat = (w["native-read-100000"] - w["native-read-10000"]) / 90000
    rex = (w["read-100k-scoped"] - w["read-10k-scoped"]) / 90000
    printf "read through cat, marginal per read: rex %.2f us, native %.2f us, ratio %.2f (target <= 2)\n", rex*1e6, nat*1e6, rex/nat
    printf "read loop 100k, whole process: rex %.3f s, native %.3f s, ratio %.2f\n", w["read-100k-scoped"], w["native-read-100000"], w["read-100k-scoped"]/w["native-read-100000"]
    p10 = per("sweep-read1k-10-scope", 1000, "sweep-startup-10-scope")
    for (f = 0; f < 2; f++) {
      form = f ? "when" : "scope"
      p10 = per("sweep-read1k-10-" form, 1000, "sweep-startup-10-" form)
      p10k = per("sweep-read100-10000-" form, 100, "sweep-startup-10000-" form)
      printf "per read, 10,000 vs 10 policies (%s form): %.2f us vs %.2f us, ratio %.2f (target <= 1.5)\n", form, p10k*1e6, p10*1e6, p10k/p10
    }
    d = per("deny-100k-scoped", 100000, "startup-scoped"); a = per("read-100k-scoped", 100000, "startup-scoped")
    printf "denied vs allowed per request: %.2f us vs %.2f us, ratio %.2f (target <= 1)\n", d*1e6, a*1e6, d/a
    l = per("read-100k-scoped-audit", 100000, "startup-scoped")
    printf "audit log on vs off per read: %.2f us vs %.2f us, +%.0f%% (target <= 20%%)\n", l*1e6, a*1e6, (l/a-1)*100
    printf "start-up, trivial script: %.1f ms, %.1f MiB peak RSS (targets 5 ms, 12 MiB)\n", w["startup-scoped"]*1000, rss["startup-scoped"]/1024
    printf "start-up, 10,000 policies: %.1f ms, %.1f MiB (targets 60 ms, 48 MiB)\n", w["sweep-startup-10000-scope"]*1000, rss["sweep-startup-10000-scope"]/1024
    printf "compute loop, 1M iterations: %.3f s (original about 1 s)\n", w["compute-1m"]
  }' "$OUT"
rm -f "$OUT"
