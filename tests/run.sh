#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine that has only rustup, as root:
# installs just, then everything else through `just setup`, then `just test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v just >/dev/null; then
    cargo install --locked --quiet just --version 1.59.0
fi
just setup
just test
