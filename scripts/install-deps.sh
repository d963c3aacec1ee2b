#!/usr/bin/env bash
# Installs the system packages gridtop needs, only those missing.
# Debian/Ubuntu: libncursesw5-dev (ncursesw), libsqlite3-dev, pkg-config, tmux (end-to-end tests),
# openssl (a self-signed TLS server in the client's certificate test), python3 and python3-venv
# (the real EVM of the end-to-end tests, py-evm from PyPI: scripts/evm-venv.sh).
set -euo pipefail

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in libncursesw5-dev libsqlite3-dev pkg-config tmux openssl python3 python3-venv; do
    have_pkg "$p" || missing+=("$p")
done
if ! command -v swift >/dev/null 2>&1; then
    echo "error: the Swift toolchain (swift 6.1 or newer) is not on PATH; install it from swift.org first." >&2
    exit 1
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing system packages (${missing[*]}) and no apt-get to install them; install them by hand." >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "error: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
