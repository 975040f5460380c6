#!/usr/bin/env bash
# Builds every provider in guest-providers/ into one directory, with a SHA256SUMS file, so an
# operator can copy the components and pin each with `sha256 = "..."` in acmebox.toml.
#
# usage: scripts/build-providers.sh [OUT_DIR]      (default: dist/providers)
#
# Rust providers: `cargo build --release --target wasm32-wasip2` of the guest workspace.
# JavaScript (httpreq-js) with componentize-js, Python (powerdns-py) with componentize-py, both
# at the versions scripts/deps.sh pins. Each component is named after its folder:
# digitalocean.wasm, powerdns.wasm, httpreq-js.wasm, ... Check them with
# `cd OUT_DIR && sha256sum -c SHA256SUMS`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$(realpath -m "${1:-$root/dist/providers}")
say() { printf '[build-providers] %s\n' "$*" >&2; }

bash "$root/scripts/deps.sh"
mkdir -p "$out"
tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

say "Rust providers (wasm32-wasip2, release)"
target="$root/target/wasm-guests"
(cd "$root/guest-providers" && CARGO_TARGET_DIR="$target" \
    cargo build --release --locked --target wasm32-wasip2 --quiet)
# Every member of the guest workspace except the SDK is a provider crate.
members=$(cd "$root/guest-providers" && cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    if any("cdylib" in t["kind"] for t in p["targets"]):
        print(p["name"], p["manifest_path"])')
while read -r name manifest; do
    dir=$(basename "$(dirname "$manifest")")
    cp "$target/wasm32-wasip2/release/${name//-/_}.wasm" "$tmp/$dir.wasm"
done <<<"$members"

say "JavaScript providers (componentize-js)"
for dir in "$root"/guest-providers/*/; do
    [[ -f $dir/package.json && -f $dir/provider.js ]] || continue
    name=$(basename "$dir")
    (cd "$dir" && node_modules/.bin/componentize-js provider.js --wit "$root/wit" \
        --world-name provider -o "$tmp/$name.wasm" >/dev/null)
done

say "Python providers (componentize-py)"
for dir in "$root"/guest-providers/*/; do
    [[ -f $dir/app.py ]] || continue
    name=$(basename "$dir")
    (cd "$dir" && PYTHONDONTWRITEBYTECODE=1 "$root/target/py-venv/bin/componentize-py" \
        -d "$root/wit" -w provider componentize app -p . -o "$tmp/$name.wasm" >/dev/null)
done

(cd "$tmp" && sha256sum -- *.wasm >SHA256SUMS)
# Replace the directory's components and sums together, so a reader never sees a mix.
rm -f "$out"/*.wasm "$out/SHA256SUMS"
mv "$tmp"/*.wasm "$tmp/SHA256SUMS" "$out/"
say "$(wc -l <"$out/SHA256SUMS") providers in $out (SHA256SUMS beside them)"
