#!/usr/bin/env bash
# Build times and binary size of the acmebox workspace, each from a cold target directory.
#
#   bench/build-times.sh [--repo DIR] [--skip-release]
#
# Measures, on the checkout at DIR (default: this one):
#   1. challenge-only: a new crate that computes a DNS-01 record and depends on the challenge
#      layer alone (`acmebox-challenge`, default features off); also how many wasmtime crates
#      are in its dependency tree;
#   2. workspace: `cargo build --workspace --all-targets` (what the tests compile);
#   3. incremental: the same after touching one file of the sandbox host;
#   4. release: `cargo build --release` of the command, and the size of the shipped binary.
# A checkout from before the workspace was split into layers (one `runtime/` crate) is measured
# the same way, with the whole `acmebox` crate as the challenge-only crate's dependency.
# Figures go to stdout as markdown rows; cargo's output goes to a log in the work directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
release=1
while [ $# -gt 0 ]; do
    case "$1" in
        --repo) repo=$(cd "$2" && pwd); shift 2 ;;
        --skip-release) release=0; shift ;;
        *) echo "usage: $0 [--repo DIR] [--skip-release]" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-build-times.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/cargo.log"
say() { printf '[build-times] %s\n' "$*" >&2; }

# Seconds taken by a command, cargo's output to the log; the command's failure is fatal.
timed() {
    local start end
    start=$(date +%s.%N)
    if ! "$@" >>"$log" 2>&1; then
        tail -30 "$log" >&2
        say "failed: $*"
        exit 1
    fi
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.1f}')"
}

if [ -d "$repo/crates/challenge" ]; then
    layout=layers
    dep="acmebox-challenge = { path = \"$repo/crates/challenge\", default-features = false }"
    import="acmebox_challenge"
    touched="$repo/crates/sandbox/src/engine.rs"
    cli=(-p acmebox-cli)
else
    layout=single-crate
    dep="acmebox = { path = \"$repo/runtime\" }"
    import="acmebox::challenge"
    touched="$repo/runtime/src/sandbox/engine.rs"
    cli=(-p acmebox --bins)
fi
say "measuring $repo ($layout); log: $log"

# 1. A crate that only computes challenge responses.
crate="$work/challenge-only"
mkdir -p "$crate/src"
cat >"$crate/Cargo.toml" <<EOF
[package]
name = "challenge-only"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
$dep

[workspace]
EOF
cat >"$crate/src/main.rs" <<EOF
use $import::{Identifier, KeyAuthorization, dns01::Dns01Record};

fn main() {
    let key_authorization = KeyAuthorization::parse(
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    )
    .expect("a valid key authorization");
    let identifier = Identifier::parse("example.com").expect("a valid name");
    let record = Dns01Record::new(&identifier, &key_authorization).expect("a DNS name");
    println!("{} {}", record.fqdn(), record.value().as_str());
}
EOF
cp "$repo/Cargo.lock" "$crate/Cargo.lock"
secs=$(cd "$crate" && CARGO_TARGET_DIR="$work/target-challenge" timed cargo build)
wasmtime=$(cd "$crate" && cargo tree -e normal --prefix none | sort -u | grep -c '^wasmtime' || true)
echo "| challenge-only crate, cold \`cargo build\` | $secs s | $wasmtime wasmtime crates in its tree |"

# 2. and 3. The workspace, cold, then after touching one file of the sandbox.
ws_target="$work/target-workspace"
secs=$(cd "$repo" && CARGO_TARGET_DIR="$ws_target" timed cargo build --workspace --all-targets --locked)
echo "| workspace, cold \`cargo build --workspace --all-targets\` | $secs s | |"
touch "$touched"
secs=$(cd "$repo" && CARGO_TARGET_DIR="$ws_target" timed cargo build --workspace --all-targets --locked)
echo "| workspace, incremental after touching \`${touched#"$repo"/}\` | $secs s | |"
rm -rf "$ws_target"

# 4. The release build of the command and the size of what it ships.
if [ "$release" = 1 ]; then
    rel_target="$work/target-release"
    secs=$(cd "$repo" && CARGO_TARGET_DIR="$rel_target" timed cargo build --release --locked "${cli[@]}")
    bin="$rel_target/release/acmebox"
    size=$(python3 -c "import os; print(f'{os.path.getsize(\"$bin\") / 1e6:.1f}')")
    extra=""
    for file in "$rel_target"/release/acmebox-lego-exec "$rel_target"/release/acmebox.dwp; do
        [ -e "$file" ] || continue
        extra="$extra, $(basename "$file") $(python3 -c "import os; print(f'{os.path.getsize(\"$file\") / 1e6:.1f}')") MB"
    done
    echo "| release build of the command, cold | $secs s | \`acmebox\` $size MB$extra |"
fi
