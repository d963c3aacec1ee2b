#!/usr/bin/env bash
# Physical detection report (issue 13; method in docs/detection.md): SimBench LV grids,
# AC power flows (pandapower), class-B meters, every attack kind, served as a schema v1
# chain over JSON-RPC and audited by `gridtop alerts --from-block 0 --to-block head --json`.
# Makes .build/validation-venv from Validation/requirements.txt (pinned, PyPI) when it is
# missing or the pins changed; builds gridtop unless GRIDTOP names a binary.
# Environment: SEEDS (default 4), ONLY, GRIDTOP, KEEP, CACHE (see Validation/physical_report.py).
# Markdown on stdout, progress on stderr; exits non-zero with a one-line error on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/validation-venv
req=Validation/requirements.txt
if ! [ -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
    if ! command -v python3 >/dev/null 2>&1; then
        echo "error: python3 is not installed; apt-get install python3 python3-venv, then run again" >&2
        exit 1
    fi
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
            echo "installing python3-venv (for the physical validation)" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 \
                || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1; }
        fi
        python3 -c "import venv, ensurepip" 2>/dev/null \
            || { echo "error: python3-venv is missing and could not be installed; apt-get install python3-venv" >&2; exit 1; }
    fi
    mkdir -p .build
    rm -rf "$venv"
    echo "creating $venv from $req (pandapower, simbench, pycryptodome; PyPI)" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >"$venv.log" 2>&1 \
        || { echo "error: pip could not install $req (see $venv.log)" >&2; rm -rf "$venv"; exit 1; }
    cp "$req" "$venv/requirements.txt"
fi
if [ -z "${GRIDTOP:-}" ]; then
    swift build --product gridtop >&2
    GRIDTOP=.build/debug/gridtop
fi
export GRIDTOP
exec "$venv/bin/python" Validation/physical_report.py
