#!/usr/bin/env bash
# Makes .build/bench-venv with web3.py (PyPI `web3`) for the comparison in `make bench`.
# Idempotent: does nothing when the venv already imports web3. Never fails the bench:
# when web3.py cannot be installed it says why, and GridtopBench reports the Swift
# numbers with the comparison marked as not run.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.build/bench-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import web3" 2>/dev/null; then
    exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "web3.py comparison: python3 is not installed (apt-get install python3 python3-venv); skipped" >&2
    exit 0
fi
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "installing python3-venv (for the web3.py comparison)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1; }
    fi
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
        echo "web3.py comparison: python3-venv is missing and could not be installed; skipped" >&2
        exit 0
    fi
fi
mkdir -p .build
rm -rf "$venv"
echo "creating $venv with web3.py (PyPI) for the comparison benchmark"
if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    echo "web3.py comparison: could not create $venv; skipped" >&2
    rm -rf "$venv"
    exit 0
fi
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check web3 >"$venv.log" 2>&1; then
    echo "web3.py comparison: pip could not install web3 (see $venv.log); skipped" >&2
    exit 0
fi
"$venv/bin/python" -c "import web3; print('web3.py', web3.__version__, 'in $venv')"
