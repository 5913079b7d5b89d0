#!/usr/bin/env bash
# Fails unless every file given is a static ELF: no program interpreter, no dynamic section.
set -euo pipefail
for bin in "$@"; do
    desc=$(file -b "$bin")
    case "$desc" in
        *"statically linked"*) ;;
        *) echo "check-static: $bin is not statically linked: $desc" >&2; exit 1 ;;
    esac
    if readelf -lW "$bin" | grep -q INTERP; then
        echo "check-static: $bin has a program interpreter" >&2; exit 1
    fi
    if ! readelf -dW "$bin" | grep -q "no dynamic section"; then
        echo "check-static: $bin has a dynamic section" >&2; exit 1
    fi
    echo "check-static: $bin: static ($(stat -c %s "$bin") bytes)"
done
