#!/usr/bin/env bash
# The main job, end to end on one machine: a certificate for example.test and *.example.test
# from Pebble, over DNS-01, the TXT records published by the PowerDNS provider running as a
# sandboxed WebAssembly component. Everything stays on loopback.
#
# It installs what is missing (scripts/deps.sh: the wasm32-wasip2 Rust target, PowerDNS, Pebble and
# tools), starts PowerDNS and Pebble with a state directory and ports of its own,
# builds the provider and acmebox, runs `acmebox issue`, shows the certificate and the provider's
# HTTP audit, and stops what it started.
#
# usage: scripts/demo.sh        (DEMO_KEEP=1 keeps the scratch directory with the certificate)
# Ports (environment): ACMEBOX_PDNS_DNS_PORT=45353, ACMEBOX_PDNS_API_PORT=45381,
# ACMEBOX_PEBBLE_PORT=44000, ACMEBOX_PEBBLE_MGMT_PORT=45000.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf '\n[demo] %s\n' "$*" >&2; }
die() { printf '[demo] error: %s\n' "$*" >&2; exit 1; }

if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
    die "cargo and rustup are needed: install them from https://rustup.rs and run again"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-demo.XXXXXX")
# Servers of our own, apart from any test run's: own state directory, own ports, own API key.
export ACMEBOX_SERVERS_DIR="$work/servers"
export ACMEBOX_PDNS_DNS_PORT="${ACMEBOX_PDNS_DNS_PORT:-45353}"
export ACMEBOX_PDNS_API_PORT="${ACMEBOX_PDNS_API_PORT:-45381}"
export ACMEBOX_PEBBLE_PORT="${ACMEBOX_PEBBLE_PORT:-44000}"
export ACMEBOX_PEBBLE_MGMT_PORT="${ACMEBOX_PEBBLE_MGMT_PORT:-45000}"
export ACMEBOX_PEBBLE_HTTP_PORT="${ACMEBOX_PEBBLE_HTTP_PORT:-45080}"
export ACMEBOX_PEBBLE_TLS_PORT="${ACMEBOX_PEBBLE_TLS_PORT:-45443}"
export ACMEBOX_PDNS_ZONES="example.test."
ACMEBOX_PDNS_API_KEY="demo-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export ACMEBOX_PDNS_API_KEY

finish() {
    local status=$?
    say "stopping the servers this demo started"
    bash "$root/scripts/servers.sh" stop all || true
    if [[ ${DEMO_KEEP:-0} == 1 ]]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

say "installing what is missing"
bash "$root/scripts/deps.sh"

say "starting PowerDNS and Pebble on loopback"
bash "$root/scripts/servers.sh" start pdns
bash "$root/scripts/servers.sh" start pebble
eval "$(bash "$root/scripts/servers.sh" env)"
command -v openssl >/dev/null || die "openssl is missing"
dns="$ACMEBOX_PDNS_DNS"
api_base="${ACMEBOX_PDNS_API_URL%%/api/*}"

say "building the PowerDNS provider (wasm32-wasip2)"
guest_target="$root/guest-providers/target"
(cd "$root/guest-providers" \
    && CARGO_TARGET_DIR="$guest_target" cargo build --release --target wasm32-wasip2)
component="$guest_target/wasm32-wasip2/release/acmebox_provider_powerdns.wasm"
[[ -f $component ]] || die "the build produced no $component"

say "building acmebox"
native_target="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && CARGO_TARGET_DIR="$native_target" cargo build --release -p acmebox-cli)
acmebox="$native_target/release/acmebox"

cat >"$work/acmebox.toml" <<EOF
cache_dir = "cache"

[providers.pdns]
component = "$component"
allow = ["danger:$api_base"]

[providers.pdns.config]
api_url = "$api_base"
server_id = "localhost"
api_key = { env = "DEMO_PDNS_API_KEY", secret = true }
EOF
say "config $work/acmebox.toml:"
cat "$work/acmebox.toml"

say "acmebox issue -d example.test -d '*.example.test' --challenge dns-01"
DEMO_PDNS_API_KEY="$ACMEBOX_PDNS_API_KEY" "$acmebox" issue \
    -d example.test -d '*.example.test' --challenge dns-01 \
    --config "$work/acmebox.toml" --provider pdns \
    --resolver "$dns" --authoritative "$dns" \
    --directory "$ACMEBOX_PEBBLE_DIRECTORY" --ca-cert "$ACMEBOX_PEBBLE_CA_CERT" \
    --account "$work/account.json" --email demo@example.test --agree-tos \
    --out "$work/cert" 2>&1 | tee "$work/issue.log"

say "the certificate"
openssl x509 -noout -subject -ext subjectAltName -issuer -in "$work/cert/cert.pem"

say "verifying it against this Pebble's root"
curl -sS --fail --cacert "$ACMEBOX_PEBBLE_CA_CERT" -o "$work/root.pem" "$ACMEBOX_PEBBLE_MGMT/roots/0"
openssl verify -CAfile "$work/root.pem" -untrusted "$work/cert/chain.pem" "$work/cert/cert.pem"

say "what the provider sent (audit)"
grep 'audit:' "$work/issue.log"

say "TXT records left at _acme-challenge.example.test. (none expected)"
left=$(curl -sS --fail -H "X-API-Key: $ACMEBOX_PDNS_API_KEY" \
    "$ACMEBOX_PDNS_API_URL/zones/example.test.?rrset_name=_acme-challenge.example.test.&rrset_type=TXT" \
    | grep -o '"type": *"TXT"' || true)
[[ -z $left ]] || die "a TXT rrset was left behind"
echo "none"
