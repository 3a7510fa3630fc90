#!/usr/bin/env python3
"""Issue 7's targets as ratios from paired, interleaved runs (bench/run.sh calls this).

usage: targets.py ROUNDS
env:   RUNNER, NATIVE, BARE  the three release binaries
       SHARED                the shared bench inputs (scripts/, policies/, args/)
       FIX                   the fixture directory of the shared run.sh (/tmp/rexbench)
       SANDBOX               rex-runner's --sandbox (default auto, the runner's default)
       SIZES                 the policy sizes generated in FIX/gen (default "10 10000"); the
                             smallest and the largest are compared
       SEED                  the shuffle's seed (default 7)

Why paired: the machines here are shared, and their speed drifts by up to 2x within a
minute. The shared run.sh times all repetitions of one case, then all of the next, so a
ratio of two of its medians also measures how the machine's speed moved between the two
cases. Here every round runs each command once, in a new random order, so both sides of
a ratio sample the same minutes, and the medians of both sides are taken over the same
mix of fast and slow periods.

Each command is spawned directly (posix_spawn + wait4): wall time is taken around the
spawn and wait, CPU time (user + sys, microsecond resolution) comes from the child's
rusage. Peak RSS comes from GNU time's `%M` instead (five runs, median): a child spawned
by this (Python, about 16 MiB) process is charged the parent's peak at `exec`, because the
kernel folds the replaced memory's high-water mark into `ru_maxrss`.

A per-operation cost is the difference of the medians (over all rounds) of two loop
lengths of the same command, divided by the difference in operations, so start-up
cancels; the ratio of two such costs is the target's figure. Beside it, the same figure
from the first and from the second half of the rounds: where the halves disagree, the
machine's speed moved more than the margin, and more rounds help. Start-up is the median
of every run of the trivial script (several per round).

Every command is run once first and its output checked; a failed check stops the run.
"""
import os
import random
import statistics
import sys
import time


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"targets.py: set `{name}`")
    return value


ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 11
RUNNER, NATIVE, BARE = env("RUNNER"), env("NATIVE"), env("BARE")
SHARED, FIX = env("SHARED"), env("FIX", "/tmp/rexbench")
SANDBOX = env("SANDBOX", "auto")
S, P, A = (os.path.join(SHARED, d) for d in ("scripts", "policies", "args"))
DEVNULL = os.open(os.devnull, os.O_RDWR)


def rex(script, policy, args=None, *extra):
    cmd = [RUNNER, "--script-file", f"{S}/{script}", "--policy-file", policy,
           "--output-format", "json", "--sandbox", SANDBOX]
    if args:
        cmd += ["--script-arguments-file", f"{A}/{args}"]
    return cmd + list(extra)


SIZES = sorted(int(k) for k in env("SIZES", "10 10000").split())
SMALL, BIG = SIZES[0], SIZES[-1]
LOG = os.path.join(FIX, "targets-decisions.jsonl")
# name -> (command, text its stdout must contain, file removed before each run)
CASES = {
    "cat-10k": (rex("read-loop.rhai", f"{P}/read-scoped.cedar", "read-10000.json"), '"output":"160000"', None),
    "cat-100k": (rex("read-loop.rhai", f"{P}/read-scoped.cedar", "read-100000.json"), '"output":"1600000"', None),
    "native-10k": ([NATIVE, f"{FIX}/small.txt", "10000"], "", None),
    "native-100k": ([NATIVE, f"{FIX}/small.txt", "100000"], "", None),
    "deny-10k": (rex("deny-loop.rhai", f"{P}/read-scoped.cedar", "deny-10000.json"), '"output":"10000"', None),
    "deny-100k": (rex("deny-loop.rhai", f"{P}/read-scoped.cedar", "deny-100000.json"), '"output":"100000"', None),
    "log-10k": (rex("read-loop.rhai", f"{P}/read-scoped.cedar", "read-10000.json", "--audit-log", LOG), '"output":"160000"', LOG),
    "log-100k": (rex("read-loop.rhai", f"{P}/read-scoped.cedar", "read-100000.json", "--audit-log", LOG), '"output":"1600000"', LOG),
    "compute-100k": (rex("compute-loop.rhai", f"{P}/permit-all.cedar", "compute-100000.json"), '"output":"2300000"', None),
    "compute-1m": (rex("compute-loop.rhai", f"{P}/permit-all.cedar", "compute-1000000.json"), '"output":"23000000"', None),
    "bare-100k": ([BARE, f"{S}/compute-loop.rhai", "100000", f"{FIX}/small.txt"], "2300000", None),
    "bare-1m": ([BARE, f"{S}/compute-loop.rhai", "1000000", f"{FIX}/small.txt"], "23000000", None),
    "startup": (rex("trivial.rhai", f"{P}/read-scoped.cedar"), '"output":"2"', None),
    "startup-10000": (rex("trivial.rhai", f"{FIX}/gen/read-{BIG}-scope.cedar"), '"output":"2"', None),
    # A minimal Rust process (the native baseline reading nothing): what any start-up
    # costs on this machine, for scale.
    "minimal": ([NATIVE, f"{FIX}/small.txt", "0"], "", None),
}
for k in (SMALL, BIG):
    for form in ("scope", "when"):
        pol = f"{FIX}/gen/read-{k}-{form}.cedar"
        CASES[f"size-{k}-{form}-1k"] = (rex("read-loop.rhai", pol, "read-1000.json"), '"output":"16000"', None)
        CASES[f"size-{k}-{form}-10k"] = (rex("read-loop.rhai", pol, "read-10000.json"), '"output":"160000"', None)
# Start-up runs are short and noisy: several per round.
REPEAT = {"startup": 9, "minimal": 9, "startup-10000": 3}


def spawn(cmd, out=DEVNULL):
    start = time.perf_counter_ns()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, DEVNULL, 2)])
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - start) / 1e9
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def capture(cmd, fd):
    """Runs `cmd` with its file descriptor `fd` (1 or 2) captured and the other one
    discarded; returns (exit code, captured text)."""
    r, w = os.pipe()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[
        (os.POSIX_SPAWN_DUP2, w if fd == 1 else DEVNULL, 1),
        (os.POSIX_SPAWN_DUP2, w if fd == 2 else DEVNULL, 2)])
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace")


def peak_rss_kib(cmd):
    """Median of five peak-RSS readings of `cmd` by GNU time (KiB)."""
    return statistics.median(
        int(capture(["/usr/bin/time", "-f", "%M", *cmd], 2)[1].split()[-1]) for _ in range(5))


def check(name, cmd, expect):
    code, out = capture(cmd, 1)
    if code != 0 or expect not in out:
        sys.exit(f"targets.py: case `{name}` failed its check (wanted `{expect}`): {out[:300]}")


def remove(path):
    if path:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


for name, (cmd, expect, fresh) in CASES.items():
    remove(fresh)
    check(name, cmd, expect)

# runs[name] = one list per round of (wall, cpu) pairs
runs = {name: [] for name in CASES}
rng = random.Random(int(env("SEED", "7")))
started = time.monotonic()
for rnd in range(ROUNDS):
    order = [n for n in CASES for _ in range(REPEAT.get(n, 1))]
    rng.shuffle(order)
    for name in CASES:
        runs[name].append([])
    for name in order:
        cmd, _, fresh = CASES[name]
        remove(fresh)
        wall, cpu, code = spawn(cmd)
        # Removed at once (outside the timing), so the kernel drops its dirty pages instead
        # of writing ~100 MB back while the next commands are timed.
        remove(fresh)
        if code != 0:
            sys.exit(f"targets.py: case `{name}` exited with {code} in round {rnd + 1}")
        runs[name][-1].append((wall, cpu))
    print(f"# round {rnd + 1}/{ROUNDS} done, {time.monotonic() - started:.0f} s", file=sys.stderr)


def per_op(short, long, ops, field, rounds):
    """Cost of one operation: the difference of the medians (over `rounds`) of two loop
    lengths of the same command, divided by the difference in operations."""
    def med(name):
        return statistics.median(r[field] for i in rounds for r in runs[name][i])
    return (med(long) - med(short)) / ops


def ok(c):
    return "MET" if c else "not met"


ALL = range(ROUNDS)
HALVES = (range(0, ROUNDS // 2), range(ROUNDS // 2, ROUNDS))


def ratio(num, den, field):
    """The ratio over all rounds, and over each half of the rounds (a check of how stable
    it is: with a steady machine the three agree)."""
    whole = per_op(*num, field, ALL) / per_op(*den, field, ALL)
    halves = [per_op(*num, field, h) / per_op(*den, field, h) for h in HALVES]
    return whole, halves


CAT = ("cat-10k", "cat-100k", 90000)
print(f"rounds: {ROUNDS}; each round runs every command once (start-up cases several "
      f"times) in a new random order, spawned directly; sandbox {SANDBOX}. Per-operation "
      f"costs are differences of medians of two loop lengths; [first half, second half] "
      f"of the rounds in brackets.")
for field, label in ((0, "wall time"), (1, "user+sys CPU time")):
    print(f"\n-- from {label} --")
    cat = per_op(*CAT, field, ALL)
    nat = per_op("native-10k", "native-100k", 90000, field, ALL)
    r, h = ratio(CAT, ("native-10k", "native-100k", 90000), field)
    print(f"read through cat: {cat * 1e6:.2f} us vs native std::fs::read {nat * 1e6:.2f} us "
          f"per read, ratio {r:.2f} [{h[0]:.2f}, {h[1]:.2f}] (target <= 2): {ok(r <= 2)}")
    for form in ("scope", "when"):
        small = (f"size-{SMALL}-{form}-1k", f"size-{SMALL}-{form}-10k", 9000)
        big = (f"size-{BIG}-{form}-1k", f"size-{BIG}-{form}-10k", 9000)
        r, h = ratio(big, small, field)
        print(f"per read by policy size ({form} form): {SMALL}: {per_op(*small, field, ALL) * 1e6:.2f} us; "
              f"{BIG}: {per_op(*big, field, ALL) * 1e6:.2f} us; ratio {r:.2f} [{h[0]:.2f}, {h[1]:.2f}] "
              f"(target <= 1.5): {ok(r <= 1.5)}")
    deny = ("deny-10k", "deny-100k", 90000)
    r, h = ratio(deny, CAT, field)
    print(f"denied vs allowed per request: {per_op(*deny, field, ALL) * 1e6:.2f} us vs {cat * 1e6:.2f} us, "
          f"ratio {r:.2f} [{h[0]:.2f}, {h[1]:.2f}] (target <= 1): {ok(r <= 1)}")
    log = ("log-10k", "log-100k", 90000)
    r, h = ratio(log, CAT, field)
    print(f"decision log on vs off per read: {per_op(*log, field, ALL) * 1e6:.2f} us vs {cat * 1e6:.2f} us, "
          f"{(r - 1) * 100:+.0f}% [{(h[0] - 1) * 100:+.0f}%, {(h[1] - 1) * 100:+.0f}%] "
          f"(target <= +20%): {ok(r <= 1.2)}")
    comp = ("compute-100k", "compute-1m", 900000)
    bare = ("bare-100k", "bare-1m", 900000)
    r, h = ratio(comp, bare, field)
    print(f"compute loop per iteration: rex {per_op(*comp, field, ALL) * 1e9:.0f} ns, bare rhai "
          f"{per_op(*bare, field, ALL) * 1e9:.0f} ns, {(r - 1) * 100:+.0f}% "
          f"[{(h[0] - 1) * 100:+.0f}%, {(h[1] - 1) * 100:+.0f}%] (target <= +15%): {ok(r <= 1.15)}")

print("\n-- start-up, whole process spawned directly (median over every run) --")
for name, label, ms, mib in (("startup", "trivial script", 5, 12), ("startup-10000", f"{BIG} policies", 60, 48)):
    def med(rounds):
        return statistics.median(r[0] for i in rounds for r in runs[name][i]) * 1000
    rss = peak_rss_kib(CASES[name][0]) / 1024
    whole = med(ALL)
    print(f"start-up, {label}: {whole:.1f} ms [{med(HALVES[0]):.1f}, {med(HALVES[1]):.1f}], "
          f"{rss:.1f} MiB peak RSS (targets {ms} ms, {mib} MiB): {ok(whole <= ms and rss <= mib)}")
walls = [r[0] for rnd in runs["minimal"] for r in rnd]
print(f"for scale, a minimal Rust process (native_read reading nothing) on this machine: "
      f"{statistics.median(walls) * 1000:.2f} ms")
