#!/usr/bin/env bash
# One certificate for a name and its wildcard (two DNS-01 challenges), several ways, against
# the same PowerDNS and Pebble, interleaved run by run:
#
#   acmebox issue                    the provider in the sandbox, acmebox's own ACME client
#   lego + bench/pdns-exec.sh        lego 4.9.1's exec provider with a curl + jq script
#   lego + acmebox-lego-exec         lego's exec provider with acmebox as the hook
#   lego5 + ... (both again)         lego v5.6.0's client and exec provider, through the
#                                    repository's own small front end (tests/clients/lego5:
#                                    lego 5's CLI itself does not build from the module proxy)
#   certbot + dns-acmebox            certbot 5.8.0 (PyPI) with acmebox's certbot DNS plugin
#
#   bench/e2e.sh --acmebox BIN --lego-exec BIN --component WASM [--runs N]
#
# Expects the environment of `scripts/servers.sh env` (bench/clients.sh sets it up). Every run
# uses a fresh account and a fresh name, and checks the certificate and that no TXT rrset is
# left. lego runs with EXEC_POLLING_INTERVAL=1 and EXEC_SEQUENCE_INTERVAL=0 (the smallest
# values it accepts; its defaults are 2 s and 60 s); certbot's plugin waits for propagation
# through acmebox (certbot's own sleep is 0). Prints a markdown table.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runs=5
acmebox="" lego_exec="" component=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --acmebox) acmebox=$(realpath "$2"); shift 2 ;;
        --lego-exec) lego_exec=$(realpath "$2"); shift 2 ;;
        --component) component=$(realpath "$2"); shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "e2e.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x $acmebox && -x $lego_exec && -f $component ]] || {
    echo "e2e.sh: --acmebox, --lego-exec and --component are required" >&2
    exit 2
}
: "${ACMEBOX_PDNS_API_URL:?run under the environment of scripts/servers.sh env}"

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
origin=${ACMEBOX_PDNS_API_URL%%/api/*}
. "$(dirname "${BASH_SOURCE[0]}")/pdns-config.sh"
write_pdns_config "$work" "$component"
root=$(cd "$here/.." && pwd)
lego5="$root/target/go-bin/lego5"
certbot="$root/target/certbot-venv/bin/certbot"
[[ -x $lego5 && -x $certbot ]] || {
    echo "e2e.sh: $lego5 or $certbot is missing: run scripts/deps.sh" >&2
    exit 2
}
# The certbot plugin, installed from a copy of its source (pip builds in the folder it is
# given) beside certbot's venv, with no index.
cp -r "$root/integrations/certbot-dns-acmebox" "$work/plugin-source"
"$root/target/certbot-venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    --no-build-isolation --no-index --target "$work/certbot-plugin" "$work/plugin-source" >/dev/null

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# run_one METHOD DOMAIN DIR: issues the certificate, prints the milliseconds it took.
run_one() {
    local method=$1 domain=$2 dir=$3 start end cert
    mkdir -p "$dir"
    local lego=(lego --server "$ACMEBOX_PEBBLE_DIRECTORY" --accept-tos --email bench@example.test
        --path "$dir/lego" --dns.resolvers "$ACMEBOX_PDNS_DNS" --dns.disable-cp
        -d "$domain" -d "*.$domain" --dns exec run)
    local lego5=("$lego5" --server "$ACMEBOX_PEBBLE_DIRECTORY" --accept-tos
        --email bench@example.test --path "$dir/lego" --dns.resolvers "$ACMEBOX_PDNS_DNS"
        --dns.propagation.disable-ans -d "$domain" -d "*.$domain" --dns exec)
    local lego_env=(LEGO_CA_CERTIFICATES="$ACMEBOX_PEBBLE_CA_CERT" EXEC_POLLING_INTERVAL=1
        EXEC_SEQUENCE_INTERVAL=0 EXEC_PROPAGATION_TIMEOUT=60)
    start=$(now_ms)
    case $method in
        acmebox)
            "$acmebox" issue -d "$domain" -d "*.$domain" --challenge dns-01 \
                --config "$work/acmebox.toml" --provider pdns \
                --resolver "$ACMEBOX_PDNS_DNS" --authoritative "$ACMEBOX_PDNS_DNS" \
                --directory "$ACMEBOX_PEBBLE_DIRECTORY" --ca-cert "$ACMEBOX_PEBBLE_CA_CERT" \
                --account "$dir/account.json" --email bench@example.test --agree-tos --out "$dir/cert" \
                >"$dir/log" 2>&1
            cert="$dir/cert/cert.pem"
            ;;
        lego-curl)
            env "${lego_env[@]}" EXEC_PATH="$here/pdns-exec.sh" PDNS_API_URL="$origin" \
                PDNS_API_KEY="$ACMEBOX_PDNS_API_KEY" "${lego[@]}" >"$dir/log" 2>&1
            cert="$dir/lego/certificates/$domain.crt"
            ;;
        lego-acmebox)
            env "${lego_env[@]}" EXEC_PATH="$lego_exec" ACMEBOX_CONFIG="$work/acmebox.toml" \
                ACMEBOX_PROVIDER=pdns "${lego[@]}" >"$dir/log" 2>&1
            cert="$dir/lego/certificates/$domain.crt"
            ;;
        lego5-curl)
            env "${lego_env[@]}" EXEC_PATH="$here/pdns-exec.sh" PDNS_API_URL="$origin" \
                PDNS_API_KEY="$ACMEBOX_PDNS_API_KEY" "${lego5[@]}" >"$dir/log" 2>&1
            cert="$dir/lego/certificates/$domain.crt"
            ;;
        lego5-acmebox)
            env "${lego_env[@]}" EXEC_PATH="$lego_exec" ACMEBOX_CONFIG="$work/acmebox.toml" \
                ACMEBOX_PROVIDER=pdns "${lego5[@]}" >"$dir/log" 2>&1
            cert="$dir/lego/certificates/$domain.crt"
            ;;
        certbot-acmebox)
            env REQUESTS_CA_BUNDLE="$ACMEBOX_PEBBLE_CA_CERT" PYTHONPATH="$work/certbot-plugin" \
                "$certbot" certonly --non-interactive --agree-tos \
                --register-unsafely-without-email --server "$ACMEBOX_PEBBLE_DIRECTORY" \
                --config-dir "$dir/certbot/config" --work-dir "$dir/certbot/work" \
                --logs-dir "$dir/certbot/logs" --authenticator dns-acmebox \
                --dns-acmebox-config "$work/acmebox.toml" --dns-acmebox-provider pdns \
                --dns-acmebox-binary "$acmebox" --dns-acmebox-authoritative "$ACMEBOX_PDNS_DNS" \
                --cert-name bench -d "$domain" -d "*.$domain" >"$dir/log" 2>&1
            cert="$dir/certbot/config/live/bench/cert.pem"
            ;;
    esac || { cat "$dir/log" >&2; echo "e2e.sh: $method failed for $domain" >&2; return 1; }
    end=$(now_ms)
    [[ -s $cert ]] || { echo "e2e.sh: $method wrote no certificate" >&2; return 1; }
    local left
    left=$(curl -sS --fail -H "X-API-Key: $ACMEBOX_PDNS_API_KEY" \
        "$ACMEBOX_PDNS_API_URL/zones/example.test.?rrset_name=_acme-challenge.$domain.&rrset_type=TXT" \
        | jq '[.rrsets[]? | select(.type == "TXT")] | length')
    [[ $left == 0 ]] || { echo "e2e.sh: $method left a TXT rrset for $domain" >&2; return 1; }
    echo $((end - start))
}

methods=(acmebox lego-curl lego-acmebox lego5-curl lego5-acmebox certbot-acmebox)
declare -A times
# One warm-up run each (the component cache, the page cache, lego's binary), not counted.
for ((i = 0; i <= runs; i++)); do
    for method in "${methods[@]}"; do
        ms=$(run_one "$method" "e2e-$method-$i-$$.example.test" "$work/$method-$i")
        ((i == 0)) || times[$method]+="$ms "
        echo "e2e: $method run $i: $ms ms" >&2
    done
done
# Keep one log of each, for where the time goes.
for method in "${methods[@]}"; do
    cp "$work/$method-$runs/log" "${E2E_LOG_DIR:-$work}/e2e-$method.log" 2>/dev/null || true
done

python3 - "$runs" "${times[acmebox]}" "${times[lego-curl]}" "${times[lego-acmebox]}" \
    "${times[lego5-curl]}" "${times[lego5-acmebox]}" "${times[certbot-acmebox]}" <<'PY'
import statistics, sys
runs = sys.argv[1]
rows = [("`acmebox issue` (sandboxed provider)", sys.argv[2]),
        ("lego 4.9.1, exec + `bench/pdns-exec.sh` (curl + jq)", sys.argv[3]),
        ("lego 4.9.1, exec + `acmebox-lego-exec`", sys.argv[4]),
        ("lego v5.6.0 (library), exec + `bench/pdns-exec.sh`", sys.argv[5]),
        ("lego v5.6.0 (library), exec + `acmebox-lego-exec`", sys.argv[6]),
        ("certbot 5.8.0 + `certbot-dns-acmebox`", sys.argv[7])]
base = statistics.median(int(t) for t in rows[0][1].split())
print(f"### One certificate, apex + wildcard (two DNS-01 challenges), {runs} runs each\n")
print("| Client | median | min | max | vs `acmebox issue` |")
print("|---|---:|---:|---:|---:|")
for name, text in rows:
    t = [int(x) for x in text.split()]
    m = statistics.median(t)
    print(f"| {name} | {m / 1000:.2f} s | {min(t) / 1000:.2f} s | {max(t) / 1000:.2f} s | {m / base:.2f}× |")
PY
