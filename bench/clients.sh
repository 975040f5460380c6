#!/usr/bin/env bash
# acmebox as the DNS-01 hook of ACME clients, against the hooks in use today and under load,
# in one run on one machine, against a private PowerDNS and Pebble on loopback:
#
#   1. one present + cleanup: acmebox-lego-exec, a curl + jq script (bench/pdns-exec.sh), and
#      the library in process (tests/benches/hooks.rs `pairs`);
#   2. 1,000 challenges at once through one loaded provider (`scale`), and 10,000 requests to
#      `acmebox serve` from a second process (`serve`); with PowerDNS's sqlite in WAL mode (its
#      default) and, with --journal both, again with sqlite's rollback journal;
#   3. one certificate (apex + wildcard): `acmebox issue`, lego + the curl script, lego +
#      acmebox-lego-exec (bench/e2e.sh).
#
#   bench/run.sh clients [--pairs N] [--challenges N] [--requests N] [--concurrency N]
#                        [--e2e-runs N] [--journal wal|delete|both] [--markdown FILE]
#
# Defaults: 100 pairs, 1000 challenges, 10000 requests at 32 at a time, 5 certificates each,
# --journal both. Installs what is missing (Debian: pdns, pebble, lego, curl, jq, sqlite3; the
# wasm32-wasip2 target), builds the release binaries, and stops the servers it started. Ports:
# 46353 (DNS), 46381 (API), 46000/46001 (Pebble), or the ACMEBOX_* variables of
# scripts/servers.sh. Takes 10-20 minutes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
pairs=100 challenges=1000 requests=10000 concurrency=32 e2e_runs=5 journal=both markdown=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --pairs) pairs=$2; shift 2 ;;
        --challenges) challenges=$2; shift 2 ;;
        --requests) requests=$2; shift 2 ;;
        --concurrency) concurrency=$2; shift 2 ;;
        --e2e-runs) e2e_runs=$2; shift 2 ;;
        --journal) journal=$2; shift 2 ;;
        --markdown) markdown=$(realpath -m "$2"); shift 2 ;;
        -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/clients.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case $journal in wal | delete | both) ;; *) echo "--journal: wal, delete or both" >&2; exit 2 ;; esac

say() { printf '==> %s\n' "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-clients.XXXXXX")
export ACMEBOX_SERVERS_DIR="$work/servers"
export ACMEBOX_PDNS_DNS_PORT="${ACMEBOX_PDNS_DNS_PORT:-46353}"
export ACMEBOX_PDNS_API_PORT="${ACMEBOX_PDNS_API_PORT:-46381}"
export ACMEBOX_PEBBLE_PORT="${ACMEBOX_PEBBLE_PORT:-46000}"
export ACMEBOX_PEBBLE_MGMT_PORT="${ACMEBOX_PEBBLE_MGMT_PORT:-46001}"
export ACMEBOX_PEBBLE_HTTP_PORT="${ACMEBOX_PEBBLE_HTTP_PORT:-46080}"
export ACMEBOX_PEBBLE_TLS_PORT="${ACMEBOX_PEBBLE_TLS_PORT:-46443}"
export ACMEBOX_PDNS_ZONES="example.test."
ACMEBOX_PDNS_API_KEY="bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
export ACMEBOX_PDNS_API_KEY
servers="$repo/scripts/servers.sh"
finish() {
    local status=$?
    bash "$servers" stop all >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT TERM

# Debian packages the benchmarks need beyond what scripts/servers.sh installs.
missing=()
for p in lego jq curl sqlite3; do
    [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == *"ok installed"* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    say "installing ${missing[*]}"
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        "${sudo[@]}" apt-get update -q >/dev/null
        "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
fi
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

cd "$repo"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
say "building the release binaries and the hooks bench"
cargo build --release -p acmebox-cli >&2
cargo bench -p acmebox-tests --bench hooks --no-run >&2
acmebox="$target_dir/release/acmebox"
# lego's EXEC_PATH: the acmebox binary under the name acmebox-lego-exec, as installed. A hard
# link: the benchmarks resolve symbolic links, and acmebox picks its mode by its own name.
lego_exec="$target_dir/release/acmebox-lego-exec"
ln -f "$acmebox" "$lego_exec"
hooks() { cargo bench -q -p acmebox-tests --bench hooks -- "$@"; }

start_servers() { # JOURNAL (wal: PowerDNS's default)
    if [[ $1 == delete ]]; then
        ACMEBOX_PDNS_SQLITE_JOURNAL_MODE=delete bash "$servers" start all >&2
    else
        bash "$servers" start all >&2
    fi
    eval "$(bash "$servers" env)"
    local mode
    mode=$(sqlite3 "$ACMEBOX_SERVERS_DIR/pdns/db.sqlite3" 'PRAGMA journal_mode')
    say "PowerDNS sqlite journal mode: $mode"
}

out="$work/report.md"
busy=$(pgrep -x rustc | wc -l || true)
{
    echo "Measured $(date -u +'%Y-%m-%d %H:%M UTC') on $(nproc) × $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r); load average at the start $(cut -d' ' -f1-3 /proc/loadavg), $busy rustc process(es) running; commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
    echo "PowerDNS $(dpkg-query -W -f='${Version}' pdns-server), Pebble $(dpkg-query -W -f='${Version}' pebble), lego $(dpkg-query -W -f='${Version}' lego), curl $(curl --version | head -n 1 | cut -d' ' -f2), $(jq --version)."
    echo
} >"$out"

start_servers wal
say "1. one present + cleanup, $pairs pairs each way"
hooks pairs --lego-exec "$lego_exec" --script "$repo/bench/pdns-exec.sh" --pairs "$pairs" | tee -a "$out"
echo >>"$out"

modes=("$journal")
[[ $journal == both ]] && modes=(wal delete)
current=wal
for mode in "${modes[@]}"; do
    if [[ $mode != "$current" ]]; then
        bash "$servers" stop pdns >&2
        start_servers "$mode"
        current=$mode
    fi
    say "2. scale, sqlite journal $mode: $challenges challenges at once"
    { echo "#### sqlite journal mode: $mode"; echo; } >>"$out"
    hooks scale --challenges "$challenges" | tee -a "$out"
    echo >>"$out"
    say "2. acmebox serve, sqlite journal $mode: $requests requests, $concurrency at a time"
    hooks serve --acmebox "$acmebox" --requests "$requests" --concurrency "$concurrency" | tee -a "$out"
    echo >>"$out"
done
if [[ $current != wal ]]; then
    bash "$servers" stop pdns >&2
    start_servers wal
fi

say "3. one certificate, apex + wildcard, $e2e_runs runs each"
component="$repo/target/wasm-guests/wasm32-wasip2/release/acmebox_provider_powerdns.wasm"
bench/e2e.sh --acmebox "$acmebox" --lego-exec "$lego_exec" --component "$component" \
    --runs "$e2e_runs" | tee -a "$out"
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)." >>"$out"

echo >&2
cat "$out"
if [[ -n $markdown ]]; then
    cp "$out" "$markdown"
    say "wrote $markdown"
fi
