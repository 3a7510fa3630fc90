#!/usr/bin/env bash
# Runs every rex fuzz target for SECONDS each (default 60), one after the other, on one
# core at the lowest priority. Not part of .ci/run (too long for its budget): run it by
# hand or on a schedule, see README.md.
#
#   fuzz/run.sh 600                # 10 minutes per target
#   FUZZ_TARGETS="url_normalize" fuzz/run.sh 60
#   FUZZ_BIN_DIR=/path/to/built/targets fuzz/run.sh 600   # run prebuilt binaries
#
# Honours CARGO_TARGET_DIR. Crashes are left in fuzz/artifacts/<target>/ and make the
# script exit non-zero; the corpus grows in fuzz/corpus/<target>/ (seeded from the repo's
# examples on the first run).
set -euo pipefail
seconds="${1:-60}"
cd "$(dirname "$0")"
repo="$(cd .. && pwd)"
targets="${FUZZ_TARGETS:-script_args policy_load path_canonical url_normalize script_run}"
# No sanitizer: every rex crate forbids unsafe code; libFuzzer's coverage guidance and
# Rust's own checks (debug assertions, overflow checks: `-a`) are what find bugs here, at
# several times the speed of ASan. Set FUZZ_SANITIZER=address to run under ASan anyway.
sanitizer="${FUZZ_SANITIZER:-none}"

seed() {
    local target="$1" dir="corpus/$1"
    mkdir -p "$dir"
    [ -n "$(ls -A "$dir")" ] && return 0
    case "$target" in
        script_args) n=0; for f in "$repo"/examples/*/args.json; do cp "$f" "$dir/args-$n.json"; n=$((n+1)); done ;;
        policy_load) n=0; for f in "$repo"/examples/*/*.cedar; do cp "$f" "$dir/p-$n.cedar"; n=$((n+1)); done ;;
        script_run) n=0; for f in "$repo"/examples/*/*.rhai; do cp "$f" "$dir/s-$n.rhai"; n=$((n+1)); done ;;
        path_canonical) printf 'a/b/f' > "$dir/1"; printf 'a/l_rel/../b/./f' > "$dir/2"
            printf 'a/l_up/l_abs' > "$dir/3"; printf 'a/loop1/x' > "$dir/4"; printf '/etc//passwd' > "$dir/5" ;;
        url_normalize) printf 'https://Example.COM:443/a/../b?q#f' > "$dir/1"
            printf 'http://0x7f.1/\n//evil.example/x' > "$dir/2"; printf 'http://[::ffff:127.0.0.1]:80/' > "$dir/3"
            printf 'https://host./p\n../../q?x=1' > "$dir/4" ;;
    esac
}

failed=0
for t in $targets; do
    seed "$t"
    echo "== $t: ${seconds}s"
    flags=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -max_len=8192
        -print_final_stats=1)
    if [ -n "${FUZZ_BIN_DIR:-}" ]; then
        # Already built (`cargo +nightly fuzz build -s none -a`, then copied): run the
        # binaries as `cargo fuzz run` would, without rebuilding.
        mkdir -p "artifacts/$t"
        cmd=(nice -n 19 "$FUZZ_BIN_DIR/$t" -artifact_prefix="artifacts/$t/" "${flags[@]}" "corpus/$t")
    else
        cmd=(nice -n 19 cargo +nightly fuzz run -s "$sanitizer" -a "$t" "corpus/$t" -- "${flags[@]}")
    fi
    if ! "${cmd[@]}"; then
        echo "== $t: FAILED (see fuzz/artifacts/$t/)"
        failed=1
    fi
done
exit "$failed"
