#!/usr/bin/env bash
# Whole-process benchmarks of rex-runner against the shared REX inputs, with ratios.
#
# usage: bench/run.sh [REPS]        (default REPS=5; medians are reported)
#        ROUNDS=N bench/run.sh ...  rounds of the paired target runs (default 2 x REPS)
# env:   SHARED=path to the shared bench inputs (default ../shared/bench)
#        SIZES  policy sizes of the growth sweep (default "10 100 1000 10000")
#        CASES  as in the shared run.sh (a subset of the shared cases)
#        SANDBOX  rex-runner's --sandbox for the extra cases (default auto, as the shared
#                 cases, which run the runner with its defaults)
#
# Builds release binaries (rex-runner, the native std::fs::read baseline and the bare-Rhai
# baseline), prints the table of every case of the shared run.sh (each case's repetitions
# back to back, as the original's figures were measured), then every target of issue 7
# from bench/targets.py: the commands of each ratio run interleaved, in rounds, so both
# sides of a ratio see the same minutes of this machine.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
SHARED=$(cd "${SHARED:-../shared/bench}" && pwd)
SIZES=${SIZES:-"10 100 1000 10000"}
SANDBOX=${SANDBOX:-auto}
# One build for all three, with the packages named, so features unify the same way each
# time (BUILD=0 skips it and uses the binaries already in the target dir).
if [ "${BUILD:-1}" != 0 ]; then
    cargo build --release --locked -q -p rex-cli -p rex-engine \
        --bin rex-runner --example native_read --example bare_rhai
fi
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
RUNNER=$TARGET/release/rex-runner
NATIVE_BIN=$TARGET/release/examples/native_read
BARE=$TARGET/release/examples/bare_rhai
FIX=/tmp/rexbench
# The generated policies permit /tmp/rexbench/other/fNNNNN.txt, files no case reads. The
# shared run.sh does not create them; create them, so the sandbox plan has one Landlock
# rule per permitted file, as it would on a host where the files exist (without them the
# rules merge into one on their parent directory and start-up looks cheaper than it is).
max=0
for k in $SIZES; do [ "$k" -gt "$max" ] && max=$k; done
mkdir -p "$FIX/other"
for ((i = 0; i < max; i++)); do
    printf -v f '%s/other/f%05d.txt' "$FIX" "$i"
    [ -e "$f" ] || : > "$f"
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC') $(uname -srm), $(nproc) cores, REPS=$REPS"
# The release link lays out these functions together (crates/rex-cli/build.rs); names the
# code no longer has are skipped, and those functions go back to their default place.
ORDER=crates/rex-cli/startup.order
if [ -s "$ORDER" ] && command -v nm > /dev/null; then
    found=$(nm --defined-only "$RUNNER" | awk '{print $3}' | sort -u | comm -12 - <(sort -u "$ORDER") | wc -l)
    echo "# startup.order: $found of $(wc -l < "$ORDER") functions are in this runner (bench/startup-order.sh rewrites the list)"
fi
SIZES=$SIZES NATIVE=$NATIVE_BIN bash "$SHARED/run.sh" "$RUNNER" "$REPS"

# Issue 7's targets, from paired runs: every command once per round, in a new random
# order each round, spawned directly (see bench/targets.py for why the shared table's
# medians above are not used for the ratios). ROUNDS defaults to twice REPS.
echo
echo "== targets of issue 7 (bench/targets.py: ratios from interleaved rounds; per-operation costs are differences of two loop lengths, so start-up cancels) =="
RUNNER=$RUNNER NATIVE=$NATIVE_BIN BARE=$BARE SHARED=$SHARED FIX=$FIX SANDBOX=$SANDBOX SIZES=$SIZES \
    python3 bench/targets.py "${ROUNDS:-$((REPS * 2))}"
