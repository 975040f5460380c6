#!/usr/bin/env bash
# Runs every check acmebox has: formatting, lints, unit, property, doc and integration tests.
# Installs what it needs first (scripts/deps.sh), so it works on a fresh Debian machine with rustup.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '[test] %s\n' "$*" >&2; }

log "installing what is missing (scripts/deps.sh)"
bash scripts/deps.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

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

log "starting PowerDNS and Pebble on loopback"
trap 'bash scripts/servers.sh stop all' EXIT
bash scripts/servers.sh start all
eval "$(bash scripts/servers.sh env)"

# The stand-ins of DNS providers' APIs, checked by the vendors' own client libraries.
log "stand-ins against the vendors' client libraries (pytest)"
(cd tests/standins && PYTHONDONTWRITEBYTECODE=1 ../../target/standins-venv/bin/python -m pytest -q -p no:cacheprovider tests)

log "cargo test"
cargo test --workspace --locked --no-fail-fast
