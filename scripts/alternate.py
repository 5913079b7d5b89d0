#!/usr/bin/env python3
"""alternate.py RUNS OUT.json CMD...: runs one start of each command per round, RUNS rounds
(after one warm-up round), and writes hyperfine-shaped JSON ({"results": [{"command",
"median", "times"}]}, seconds). Interleaving spreads the noise of a shared machine evenly over
the commands, which hyperfine's one-command-after-another order does not. Commands are split
on whitespace and run without a shell; their output is discarded and exit codes ignored."""
import json
import statistics
import subprocess
import sys
import time

runs, out, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times = [[] for _ in cmds]
for rnd in range(runs + 1):
    for i, cmd in enumerate(cmds):
        t0 = time.perf_counter()
        subprocess.run(cmd.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t1 = time.perf_counter()
        if rnd > 0:
            times[i].append(t1 - t0)
json.dump(
    {"results": [{"command": c, "median": statistics.median(t), "times": t} for c, t in zip(cmds, times)]},
    open(out, "w"),
)
