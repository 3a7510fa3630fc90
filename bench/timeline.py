#!/usr/bin/env python3
"""Uprobe timeline of short runs: when each step of a run starts and ends, in ms from exec.

usage (as root, tracefs mounted at /sys/kernel/tracing):
  python3 bench/timeline.py RUNNER RUNS -- COMMAND...
  EXTRA='name= regex of an `nm -C` line$,...' python3 bench/timeline.py ...   (more probes)

Puts an entry and a return uprobe on each function below (found with `nm -C` in RUNNER,
so it must be a binary with symbols, as the release build is), enables them with the
`sched_process_exec` and `sched_process_exit` tracepoints, runs COMMAND RUNS times and
prints, for every event, its median time after the exec (the first occurrence in each
run; `exit` is the first thread of the run to end). Removes its probes at the end.
"""
import collections
import os
import re
import statistics
import subprocess
import sys

TRACE = "/sys/kernel/tracing"
PROBES = [
    ("main", r" main$"),
    ("prewarm", r" rex_policy::schema::prewarm$"),
    ("load", r" rex_policy::policies::Policies::load_files_meanwhile$"),
    ("plan", r" rex_sandbox::plan::plan$"),
    ("helpers", r" rex_policy::schema::wait_for_helpers_named$"),
    ("apply", r" rex_sandbox::apply::apply$"),
    ("gate", r" rex_policy::gate::GateBuilder::build$"),
    ("run", r" rex_engine::run::run_then$"),
    ("thread", r" rex_engine::run::run_on_this_thread$"),
    ("engine", r" rex_engine::engine::build$"),
    ("print", r" rex_cli::print_document$"),
]


def write(name, text, truncate=False):
    # tracefs files refuse seeks, so no Python-level append mode.
    fd = os.open(f"{TRACE}/{name}", os.O_WRONLY | (os.O_TRUNC if truncate else os.O_APPEND))
    try:
        if text:
            os.write(fd, text.encode())
    finally:
        os.close(fd)


def text_offset(binary, address):
    """File offset of a virtual address, from the program headers."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            offset, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if vaddr <= address < vaddr + filesz:
                return address - vaddr + offset
    sys.exit(f"timeline.py: address {address:#x} is in no LOAD segment of `{binary}`")


def main():
    if len(sys.argv) < 5 or "--" not in sys.argv:
        sys.exit(__doc__)
    binary, runs = os.path.abspath(sys.argv[1]), int(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1:]
    probes = PROBES + [tuple(p.split("=", 1)) for p in os.environ.get("EXTRA", "").split(",") if p]
    symbols = subprocess.run(["nm", "-C", binary], capture_output=True, text=True).stdout.splitlines()
    write("events/enable", "0", truncate=True)
    write("uprobe_events", "", truncate=True)
    try:
        for name, pattern in probes:
            found = [s for s in symbols if re.search(pattern, s)]
            if not found:
                print(f"(no symbol for `{name}`: {pattern})")
                continue
            offset = text_offset(binary, int(found[0].split()[0], 16))
            write("uprobe_events", f"p:rex/{name}_in {binary}:{offset:#x}\n")
            write("uprobe_events", f"r:rex/{name}_out {binary}:{offset:#x}\n")
        write("trace", "", truncate=True)
        for event in ("rex", "sched/sched_process_exec", "sched/sched_process_exit"):
            write(f"events/{event}/enable", "1", truncate=True)
        with open(os.devnull, "w") as null:
            for _ in range(runs):
                subprocess.run(command, stdout=null, stderr=null)
        write("events/enable", "0", truncate=True)
        with open(f"{TRACE}/trace") as f:
            lines = f.read().splitlines()
    finally:
        write("events/enable", "0", truncate=True)
        write("uprobe_events", "", truncate=True)
    runs_seen, current = [], None
    for line in lines:
        m = re.search(r"\s(\d+\.\d+): (\S+?):", line)
        if not m:
            continue
        t, event = float(m.group(1)), m.group(2)
        if event == "sched_process_exec":
            current = {"t0": t}
            runs_seen.append(current)
        elif current is not None:
            current.setdefault("exit" if event == "sched_process_exit" else event, (t - current["t0"]) * 1000)
    events = collections.OrderedDict((k, 1) for r in runs_seen for k in r if k != "t0")
    rows = sorted((statistics.median(r[k] for r in runs_seen if k in r), k) for k in events)
    print(f"{len(runs_seen)} runs; median ms from exec")
    for ms, event in rows:
        print(f"{ms:8.3f}  {event}")


if __name__ == "__main__":
    main()
