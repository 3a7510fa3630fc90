#!/usr/bin/env python3
"""Median wall time of a command spawned directly (posix_spawn + wait4), without the
shell and /usr/bin/time that the shared harness wraps every run in.

usage: spawn-time.py N COMMAND [ARG...]   (stdout goes to /dev/null; exits 1 if a run fails)
prints: median and 10th-percentile milliseconds over N runs
"""
import os
import statistics
import sys
import time

n = int(sys.argv[1])
cmd = sys.argv[2:]
devnull = os.open(os.devnull, os.O_WRONLY)
times = []
for _ in range(n):
    start = time.perf_counter_ns()
    pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, _ = os.wait4(pid, 0)
    times.append((time.perf_counter_ns() - start) / 1e6)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"spawn-time.py: `{' '.join(cmd)}` failed")
times.sort()
print(f"median {statistics.median(times):.2f} ms, p10 {times[len(times) // 10]:.2f} ms over {n} runs")
