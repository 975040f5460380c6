#!/usr/bin/env bash
# Runs every check acmebox has: formatting, lints, unit, property, doc and integration tests.
# Installs what it needs first, so it works on a fresh Debian machine with rustup.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '[test] %s\n' "$*" >&2; }

need_rustup_component() {
    if ! rustup component list --installed 2>/dev/null | grep -q "^$1"; then
        log "installing rustup component $1"
        rustup component add "$1"
    fi
}

need_rustup_component rustfmt
need_rustup_component clippy
if ! rustup target list --installed | grep -qx wasm32-wasip2; then
    log "installing the wasm32-wasip2 target (guest providers and test fixtures build for it)"
    rustup target add wasm32-wasip2
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The guest workspaces build for wasm32-wasip2 (the tests build their components).
for guests in guest-providers tests/fixtures; do
    log "cargo fmt --check and clippy in $guests"
    (cd "$guests" && cargo fmt --all -- --check &&
        CARGO_TARGET_DIR="$root/target/wasm-guests" \
            cargo clippy --release --locked --target wasm32-wasip2 -- -D warnings)
done

# The providers' and the SDK's own unit and doc tests run natively.
log "cargo test in guest-providers (native)"
(cd guest-providers && CARGO_TARGET_DIR="$root/target/guest-host" cargo test --locked)

# The tests build the JavaScript provider with componentize-js (node and npm) and the Python
# one with componentize-py, which they install into a venv under target/ (python3-venv).
apt_missing=()
command -v node >/dev/null && command -v npm >/dev/null || apt_missing+=(nodejs npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
if ((${#apt_missing[@]})); then
    log "installing ${apt_missing[*]} (the JavaScript and Python providers are built with them)"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${apt_missing[@]}" >/dev/null 2>&1 || {
        "${sudo[@]}" apt-get update -q >/dev/null
        "${sudo[@]}" apt-get install -y -q --no-install-recommends "${apt_missing[@]}" >/dev/null
    }
fi

log "starting PowerDNS and Pebble on loopback"
trap 'bash scripts/servers.sh stop all' EXIT
bash scripts/servers.sh start all
eval "$(bash scripts/servers.sh env)"

log "cargo test"
cargo test --workspace --locked --no-fail-fast
