#!/usr/bin/env bash
# The closing summary of a `cargo test` log: the time each test binary took, slowest first,
# and the name of every failed test (also of a binary that died without a result line).
# Usage: scripts/test-summary.sh LOG
set -euo pipefail
log=${1:?usage: scripts/test-summary.sh LOG}

awk '
function finish(status,   label) {
    if (bin == "") return
    label = bin " [" exe "]"
    if (status == "") { status = "DIED"; died[++ndied] = label }
    rows[++nrows] = sprintf("%9.2f  %-6s  %s  %s", secs, status, label, counts)
    bin = ""
}
/^ *Running / {
    finish("")
    # "Running tests/fly.rs (target/debug/deps/fly-0123abcd)" or "Running unittests src/main.rs (...)"
    line = $0; sub(/^ *Running /, "", line)
    exe = line; sub(/.*\(/, "", exe); sub(/\).*/, "", exe); sub(/.*\//, "", exe); sub(/-[0-9a-f]+$/, "", exe)
    bin = line; sub(/ \(.*/, "", bin)
    secs = 0; counts = ""
    next
}
/^ *Doc-tests / { finish(""); bin = ""; next }
/^test .* \.\.\. FAILED$/ && bin != "" {
    name = $0; sub(/^test /, "", name); sub(/ \.\.\. FAILED$/, "", name)
    failed[++nfailed] = bin " [" exe "]: " name
    next
}
/^test result: / && bin != "" {
    status = ($3 == "ok.") ? "ok" : "FAILED"
    counts = $4 " passed, " $6 " failed"
    secs = $NF; sub(/s$/, "", secs)
    finish(status)
    next
}
END {
    finish("")
    print "test: summary: seconds per test binary, slowest first"
    cmd = "sort -rn"
    for (i = 1; i <= nrows; i++) print rows[i] | cmd
    close(cmd)
    if (nfailed == 0 && ndied == 0) { print "test: every test passed"; exit 0 }
    if (nfailed > 0) {
        print "test: " nfailed " failed test(s):"
        for (i = 1; i <= nfailed; i++) print "  " failed[i]
    }
    if (ndied > 0) {
        print "test: " ndied " test binary(ies) ended without a result (crashed or killed):"
        for (i = 1; i <= ndied; i++) print "  " died[i]
    }
}
' "$log"
