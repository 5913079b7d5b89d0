#!/usr/bin/env python3
"""alternate.py RUNS OUT.json CMD...: runs one start of each command per round, RUNS rounds
(after one warm-up round), and writes hyperfine-shaped JSON ({"results": [{"command",
"median", "times"}]}, seconds). Interleaving spreads the noise of a shared machine evenly over
the commands, which hyperfine's one-command-after-another order does not. Commands are split
on whitespace and run without a shell, except those starting with `sh:`, which the shell runs
(pipelines, with pipefail); their output is discarded. A command must exit 0, or non-zero if it
starts with `fail:` (before any `sh:`): a command that fails unexpectedly would be timed as
fast, so the run stops with its stderr instead."""
import json
import statistics
import subprocess
import sys
import time

runs, out, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]


def parse(cmd):
    expect_failure = cmd.startswith("fail:")
    if expect_failure:
        cmd = cmd[len("fail:"):]
    if cmd.startswith("sh:"):
        return expect_failure, ["bash", "-o", "pipefail", "-c", cmd[3:]]
    return expect_failure, cmd.split()


plans = [parse(c) for c in cmds]
times = [[] for _ in cmds]
for rnd in range(runs + 1):
    for i, (expect_failure, argv) in enumerate(plans):
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        t1 = time.perf_counter()
        if (done.returncode != 0) != expect_failure:
            tail = done.stderr.decode(errors="replace")[-2000:]
            sys.exit(f"alternate.py: `{cmds[i]}` exited {done.returncode} in round {rnd}:\n{tail}")
        if rnd > 0:
            times[i].append(t1 - t0)
json.dump(
    {"results": [{"command": c, "median": statistics.median(t), "times": t} for c, t in zip(cmds, times)]},
    open(out, "w"),
)
