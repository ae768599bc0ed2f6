#!/usr/bin/env python3
"""CPU milliseconds a process tree has used: cpu_ms.py PID

The process's own threads (utime, stime) and its reaped children (cutime, cstime), plus the same
for every live child, recursively (serve's workers and scanner, the console's children). Used by
the bench scripts: unlike msg/s, hardly moved by what else the machine runs.
"""
import os
import sys

TICK = os.sysconf("SC_CLK_TCK")


def walk(pid):
    try:
        s = open(f"/proc/{pid}/stat").read()
    except OSError:
        return 0
    f = s[s.rindex(")") + 2:].split()
    total = sum(int(x) for x in f[11:15])
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            for k in open(f"/proc/{pid}/task/{t}/children").read().split():
                total += walk(int(k))
    except OSError:
        pass
    return total


print(walk(int(sys.argv[1])) * 1000 // TICK)
