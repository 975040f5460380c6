#!/usr/bin/env bash
# `acmebox renew --all` over many lineages of which a few are due, against the real Pebble and
# PowerDNS: the wall time of the run and the requests it made to the CA.
#
#   bench/renew.sh --acmebox BIN --component WASM [--lineages 100] [--due 10] [--runs 3]
#
# Issues LINEAGES certificates (one name each, dns-01 through the PowerDNS provider, one shared
# account), then for each run sets DUE of them to "renew now" through Pebble's management
# endpoint (a renewal window in the past) and times `renew --all`. The requests to the CA are
# counted from Pebble's log (one "-> calling handler()" line per request), so run it with
# nothing else using that Pebble. Before each run the kept renewal decisions are removed, as
# if every certificate's Retry-After had passed: every lineage asks the CA again.
#
# Expects the environment of `scripts/servers.sh env`. Prints a markdown table.
set -euo pipefail

lineages=100 due=10 runs=3 acmebox="" component=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --acmebox) acmebox=$(realpath "$2"); shift 2 ;;
        --component) component=$(realpath "$2"); shift 2 ;;
        --lineages) lineages=$2; shift 2 ;;
        --due) due=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        *) echo "renew.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x $acmebox && -f $component ]] || {
    echo "renew.sh: --acmebox and --component are required" >&2
    exit 2
}
((due <= lineages)) || { echo "renew.sh: --due is larger than --lineages" >&2; exit 2; }
: "${ACMEBOX_PDNS_API_URL:?run under the environment of scripts/servers.sh env}"
pebble_log="$ACMEBOX_SERVERS_DIR/logs/pebble.log"
[[ -f $pebble_log ]] || { echo "renew.sh: no Pebble log at $pebble_log" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-renew.XXXXXX")
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state"
. "$(dirname "${BASH_SOURCE[0]}")/pdns-config.sh"
write_pdns_config "$work" "$component"

now_ms() { echo $(($(date +%s%N) / 1000000)); }
requests() { grep -c -- '-> calling handler()' "$pebble_log" || true; }

echo "renew.sh: issuing $lineages certificates" >&2
start=$(now_ms)
for ((i = 0; i < lineages; i++)); do
    "$acmebox" issue -d "renew-$i-$$.example.test" --challenge dns-01 \
        --config "$work/acmebox.toml" --provider pdns \
        --resolver "$ACMEBOX_PDNS_DNS" --authoritative "$ACMEBOX_PDNS_DNS" \
        --directory "$ACMEBOX_PEBBLE_DIRECTORY" --ca-cert "$ACMEBOX_PEBBLE_CA_CERT" \
        --account "$work/account.json" --agree-tos --out "$work/out-$i" \
        >/dev/null 2>"$work/issue.log" || { cat "$work/issue.log" >&2; exit 1; }
done
echo "renew.sh: issued in $(($(now_ms) - start)) ms" >&2

set_due() { # I: a renewal window in the past for lineage I's live certificate
    jq -n --rawfile cert "$work/out-$1/cert.pem" \
        '{Certificate: $cert, ARIResponse: "{\"suggestedWindow\":{\"start\":\"2020-01-01T00:00:00Z\",\"end\":\"2020-01-02T00:00:00Z\"}}"}' \
        | curl -sS --fail --cacert "$ACMEBOX_PEBBLE_CA_CERT" -X POST --data-binary @- \
            "$ACMEBOX_PEBBLE_MGMT/set-renewal-info/" >/dev/null
}

results=()
for ((run = 1; run <= runs; run++)); do
    for ((i = 0; i < due; i++)); do set_due $(((run - 1) * due % lineages + i)); done
    rm -f "$work"/out-*/renewal.json
    before=$(requests)
    start=$(now_ms)
    "$acmebox" renew --all >/dev/null 2>"$work/renew.log" || { cat "$work/renew.log" >&2; exit 1; }
    ms=$(($(now_ms) - start))
    made=$(($(requests) - before))
    summary=$(tail -n 1 "$work/renew.log")
    [[ $summary == "acmebox: $due renewed, $((lineages - due)) not due, 0 failed" ]] \
        || { echo "renew.sh: unexpected summary: $summary" >&2; exit 1; }
    echo "renew.sh: run $run: $ms ms, $made requests to the CA ($summary)" >&2
    results+=("$ms $made")
done

python3 - "$lineages" "$due" "${results[@]}" <<'PY'
import statistics, sys
lineages, due = int(sys.argv[1]), int(sys.argv[2])
runs = [tuple(map(int, r.split())) for r in sys.argv[3:]]
ms = [r[0] for r in runs]
reqs = [r[1] for r in runs]
print(f"| `renew --all`, {lineages} lineages, {due} due | median | min | max |")
print("|---|---|---|---|")
print(f"| wall time | {statistics.median(ms)/1000:.1f} s | {min(ms)/1000:.1f} s | {max(ms)/1000:.1f} s |")
print(f"| requests to the CA | {statistics.median(reqs):.0f} | {min(reqs)} | {max(reqs)} |")
PY
