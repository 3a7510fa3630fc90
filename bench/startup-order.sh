#!/usr/bin/env bash
# Regenerates crates/rex-cli/startup.order: the functions a short run executes, which the
# release link of rex-runner and rex places next to each other (see crates/rex-cli/build.rs).
#
# usage: bench/startup-order.sh      (needs valgrind; about a minute)
# env:   SHARED=path to the shared bench inputs (default ../shared/bench)
#
# Why: the kernel maps a binary's code 64 KiB at a time around each page it faults in, and
# a start-up executes ~2,700 functions (3 MB) spread over all 16 MB of code, so every
# 64 KiB block is touched and peak RSS counts all of it. Laid out together they fill
# 3 MB. A name missing from the binary (code changed since the list was made) is skipped
# at link time, and only that function goes back to its default place: rerun this script
# when `bench/run.sh` reports that much of the list is stale.
#
# The runs: a trivial script with the sandbox on and off, a short read loop and a short
# denied loop (the SDK's file path and the denial path), under the shipped bench policy;
# then the trivial script under the permit-all policy (the whole schema's path).
# Callgrind records every function executed; the list keeps those defined in the binary,
# in the order callgrind first met them.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=$(cd "${SHARED:-../shared/bench}" && pwd)
command -v valgrind > /dev/null || { echo "startup-order.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
# The same build as bench/run.sh (same packages, so features unify the same way).
cargo build --release --locked -q -p rex-cli -p rex-engine \
    --bin rex-runner --example native_read --example bare_rhai
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
RUNNER=$TARGET/release/rex-runner
OUT=crates/rex-cli/startup.order
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p /tmp/rexbench
printf 'hello rex bench\n' > /tmp/rexbench/small.txt
printf 'top secret\n' > /tmp/rexbench/secret.txt
S=$SHARED/scripts P=$SHARED/policies/read-scoped.cedar A=$SHARED/args

n=0
profile() {  # profile ARGS... : one callgrind run of the runner (POLICY overrides the policy)
    n=$((n + 1))
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/cg.$n" \
        "$RUNNER" --policy-file "${POLICY:-$P}" "$@" > "$WORK/out.$n" 2> "$WORK/err.$n" || true
    grep -q '"status":"SUCCESS"' "$WORK/out.$n" || {
        echo "startup-order.sh: run $n failed: $(head -c 300 "$WORK/out.$n") $(tail -n 3 "$WORK/err.$n")" >&2
        exit 1
    }
}
profile --script-file "$S/trivial.rhai"
profile --script-file "$S/trivial.rhai" --sandbox off
# The scoped policy is validated against the schema cut to its actions; a policy with an
# unconstrained `action` builds the whole schema (other code, laid out after).
POLICY=$SHARED/policies/permit-all.cedar profile --script-file "$S/trivial.rhai"
profile --script-file "$S/read-loop.rhai" --script-arguments-file "$A/read-100.json"
profile --script-file "$S/deny-loop.rhai" --script-arguments-file "$A/deny-10000.json"

# Callgrind names a function in full the first time it appears: `fn=(id) name`.
nm --defined-only "$RUNNER" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u > "$WORK/defined"
cat "$WORK"/cg.* | sed -nE 's/^c?fn=\([0-9]+\) (.+)$/\1/p' | awk '!seen[$0]++' > "$WORK/executed"
awk 'NR == FNR {d[$0] = 1; next} ($0 in d)' "$WORK/defined" "$WORK/executed" > "$OUT"
echo "startup-order.sh: $(wc -l < "$OUT") functions written to $OUT"
