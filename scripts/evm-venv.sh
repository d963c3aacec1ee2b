#!/usr/bin/env bash
# Makes .build/evm-venv: the real EVM (py-evm through eth-tester) that the end-to-end tests
# serve over JSON-RPC (Tests/evm-node/). Test tooling only, pinned in Tests/evm-node/requirements.txt.
# Idempotent: does nothing when the venv already holds exactly these pins (a stamp of the file).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/evm-venv
req=Tests/evm-node/requirements.txt
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 is needed for the EVM end-to-end tests (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "error: python3's venv module is missing (Debian: apt-get install python3-venv)" >&2
    exit 1
fi
echo "evm-venv: installing py-evm and eth-tester into $venv (pinned, $req)"
mkdir -p .build
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$req"
"$venv/bin/python" -c 'import eth_tester, eth, websockets' 
echo "$want" > "$stamp"
