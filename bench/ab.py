#!/usr/bin/env python3
"""Whole-process A/B timing: python3 bench/ab.py ROUNDS 'CMD A' 'CMD B' ...

Each round runs every command once, in a new random order, spawned directly
(`posix_spawn` + `waitpid`, output to /dev/null), so all commands sample the same minutes
of a machine whose speed drifts. Prints each command's median and first-quartile wall
time. Use it to compare two builds of the runner on the same arguments, with a minimal
process alongside for scale (e.g. `target/release/examples/native_read FILE 0`).
"""
import os
import random
import statistics
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    commands = [c.split() for c in sys.argv[2:]]
    times = [[] for _ in commands]
    null = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
    for _ in range(rounds):
        order = list(range(len(commands)))
        random.shuffle(order)
        for i in order:
            start = time.perf_counter()
            pid = os.posix_spawn(commands[i][0], commands[i], os.environ, file_actions=actions)
            os.waitpid(pid, 0)
            times[i].append(time.perf_counter() - start)
    for command, t in zip(commands, times):
        t.sort()
        print(f"{statistics.median(t) * 1000:7.3f} ms  q1 {t[len(t) // 4] * 1000:7.3f}  {' '.join(command)}")


if __name__ == "__main__":
    main()
