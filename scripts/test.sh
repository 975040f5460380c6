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

# The fuzz targets (fuzz/, outside the workspace) build on stable into the main target directory
# with the main lock's versions and features, so after `cargo test` only the acmebox crates and
# the targets compile, and replay their checked-in corpora; with nightly and cargo-fuzz each also
# runs coverage-guided for ACMEBOX_FUZZ_SECONDS (60) seconds. See fuzz/README.md.
log "fuzz targets: build and replay the corpora on stable"
fuzz_targets=(fuzz/fuzz_targets/*.rs)
fuzz_targets=("${fuzz_targets[@]##*/}")
fuzz_targets=("${fuzz_targets[@]%.rs}")
cp Cargo.lock fuzz/Cargo.lock
(cd fuzz && cargo fmt --check &&
    CARGO_TARGET_DIR="$root/target" cargo build --bins 2>&1 | tee "$root/target/fuzz-build.log")
if grep '^ *Compiling ' target/fuzz-build.log | grep -v -e ' acmebox' -e ' arbitrary '; then
    log "warning: the fuzz build compiled the crates above a second time: the features in fuzz/Cargo.toml drifted from the workspace's"
fi
for target in "${fuzz_targets[@]}"; do
    "$root/target/debug/$target" "fuzz/corpus/$target"
done
if ! rustup toolchain list | grep -q '^nightly'; then
    log "no nightly toolchain: coverage-guided fuzzing skipped (fuzz/README.md says how to run it)"
elif ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    log "no cargo-fuzz for nightly: coverage-guided fuzzing skipped (fuzz/README.md says how to run it)"
else
    for target in "${fuzz_targets[@]}"; do
        log "coverage-guided fuzzing of $target for ${ACMEBOX_FUZZ_SECONDS:-60} s (nightly)"
        # New inputs go to target/fuzz-corpus; the checked-in corpus is only read.
        mkdir -p "target/fuzz-corpus/$target"
        fuzz_log="$root/target/fuzz-corpus/$target.log"
        if ! (cd fuzz && cargo +nightly fuzz run --sanitizer none "$target" \
            "$root/target/fuzz-corpus/$target" "corpus/$target" -- \
            -max_total_time="${ACMEBOX_FUZZ_SECONDS:-60}" -dict="dicts/$target.dict" \
            >"$fuzz_log" 2>&1); then
            tail -n 40 "$fuzz_log" >&2
            log "$target: crashed; the input is in fuzz/artifacts/$target/, the log in $fuzz_log"
            exit 1
        fi
        log "$target: $(grep -a 'DONE' "$fuzz_log" | tail -n 1)"
    done
fi
