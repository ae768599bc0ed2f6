#!/usr/bin/env python3
"""Markdown table of a campaign for bench/FUZZING.md, from bench/fuzz.sh's log of runs.

usage: fuzz/campaign_table.py [build-fuzz/fuzz/campaign.tsv] [TARGETS_FILE]

Per target (in the order of build-fuzz/fuzz/targets.txt): seconds and executions summed over all
runs (the corpus is kept between runs, so runs add up), coverage (cov), features (ft) and corpus
size of the last run, findings summed; CPU seconds summed (wall seconds for rows written before
bench/fuzz.sh recorded CPU time).
"""
import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tsv = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "build-fuzz", "fuzz", "campaign.tsv")
order_file = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(tsv), "targets.txt")
runs = {}
with open(tsv) as f:
    for line in f:
        cols = line.rstrip("\n").split("\t")
        if len(cols) < 9:
            continue
        _, target, secs, execs, cov, ft, corpus, found, _rc = cols[:9]
        r = runs.setdefault(target, {"secs": 0, "cpu": 0, "execs": 0, "found": 0, "runs": 0})
        r["secs"] += int(secs or 0)
        # Column 10 (newer runs): CPU seconds the fuzzer used; older rows count their wall seconds.
        r["cpu"] += int(cols[9]) if len(cols) > 9 and cols[9] else int(secs or 0)
        r["execs"] += int(execs or 0)
        r["found"] += int(found or 0)
        r["runs"] += 1
        r.update(cov=cov, ft=ft, corpus=corpus)
order = [t.strip() for t in open(order_file)] if os.path.exists(order_file) else sorted(runs)
for t in order:
    r = runs.get(t)
    if not r:
        print(f"| `{t}` | — | — | not run | | | | |")
        continue
    print(f"| `{t}` | {r['cpu']} | {r['secs']} ({r['runs']} run{'s' if r['runs'] > 1 else ''}) | {r['execs']:,} | "
          f"{r['cov']} | {r['ft']} | {r['corpus']} | {r['found']} |")
