#!/usr/bin/env python3
"""Time two commands in alternation, one pair after the other, and print
"median_a_ms median_b_ms median_ratio" (ratio a/b of each pair, median over
the pairs).  Pairs make the comparison fair on a loaded machine: both
commands of a pair see the same load, which a run of all A then all B
(hyperfine with two commands) does not give.  Each command is started with
posix_spawn and waited for, no shell in between, the same cost for both.

Usage: bench/pairs.py RUNS WARMUP CMD-A... -- CMD-B...
"""
import os
import shutil
import statistics
import sys
import time


def spawn(argv, devnull):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("pairs: %s failed" % " ".join(argv))
    return (t1 - t0) / 1e6


def main():
    if len(sys.argv) < 6 or "--" not in sys.argv[3:]:
        sys.exit(__doc__.strip().splitlines()[-1])
    runs, warmup = int(sys.argv[1]), int(sys.argv[2])
    rest = sys.argv[3:]
    cut = rest.index("--")
    a, b = rest[:cut], rest[cut + 1:]
    for argv in (a, b):
        path = shutil.which(argv[0])
        if path is None:
            sys.exit("pairs: %s: not found" % argv[0])
        argv[0] = path
    devnull = os.open(os.devnull, os.O_WRONLY)
    ta, tb, ratio = [], [], []
    for i in range(warmup + runs):
        x = spawn(a, devnull)
        y = spawn(b, devnull)
        if i >= warmup:
            ta.append(x)
            tb.append(y)
            ratio.append(x / y)
    print("%.3f %.3f %.2f" % (statistics.median(ta), statistics.median(tb),
                              statistics.median(ratio)))


main()
