#!/usr/bin/env bash
# Crash soak: N flows of `acmebox issue` for a name and its wildcard (two DNS-01 values through
# the PowerDNS provider in the sandbox), each killed with SIGKILL at a random step (or not at
# all), each followed by `acmebox cleanup --stale`; then every name is checked in PowerDNS.
# Not part of CI: a long run that backs the kill tests of `tests/tests/integration/issue_dns.rs`.
#
#   bench/crash-soak.sh --acmebox BIN --component WASM [--flows 1000] [--seed N]
#
# Expects the environment of `scripts/servers.sh env`. Prints how many flows stopped at each
# step, how many stale records the cleanups removed, and how many TXT values were left (the
# target is zero). Exits 1 if any value is left.
set -euo pipefail

flows=1000 seed=$$ acmebox="" component=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --acmebox) acmebox=$(realpath "$2"); shift 2 ;;
        --component) component=$(realpath "$2"); shift 2 ;;
        --flows) flows=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        *) echo "crash-soak.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -x $acmebox && -f $component ]] || {
    echo "crash-soak.sh: --acmebox and --component are required" >&2
    exit 2
}
: "${ACMEBOX_PDNS_API_URL:?run under the environment of scripts/servers.sh env}"
RANDOM=$seed

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-soak.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/pdns-config.sh"
write_pdns_config "$work" "$component"

steps=(order-created challenge-ready checking-ready validating challenge-cleaned-up none)
declare -A stopped=()
cleaned=0 left=0 names=()
started=$(date +%s)
for ((i = 0; i < flows; i++)); do
    step=${steps[RANDOM % ${#steps[@]}]}
    name="soak-$seed-$i.example.test"
    names+=("$name")
    rm -f "$work/account.json"
    set +e
    # bash's own "Killed" notice for the flow goes to the dropped stderr of this block.
    { ACMEBOX_CRASH_AT=$step "$acmebox" issue -d "$name" -d "*.$name" --challenge dns-01 \
        --config "$work/acmebox.toml" --provider pdns \
        --resolver "$ACMEBOX_PDNS_DNS" --authoritative "$ACMEBOX_PDNS_DNS" \
        --directory "$ACMEBOX_PEBBLE_DIRECTORY" --ca-cert "$ACMEBOX_PEBBLE_CA_CERT" \
        --out "$work/out-$i" --account "$work/account.json" --agree-tos >/dev/null 2>"$work/issue.log"
      status=$?; } 2>/dev/null
    set -e
    if [[ $step == none && $status -ne 0 ]] || [[ $step != none && $status -ne 137 ]]; then
        echo "flow $i ($step): unexpected exit status $status" >&2
        tail -n 5 "$work/issue.log" >&2
    fi
    stopped[$step]=$((${stopped[$step]:-0} + 1))
    n=$("$acmebox" cleanup --stale --config "$work/acmebox.toml" 2>&1 | grep -c 'cleaned up stale record' || true)
    cleaned=$((cleaned + n))
done
elapsed=$(($(date +%s) - started))
for name in "${names[@]}"; do
    records=$(curl -sf -H "X-API-Key: $ACMEBOX_PDNS_API_KEY" \
        "$ACMEBOX_PDNS_API_URL/zones/example.test." |
        jq --arg n "_acme-challenge.$name." '[.rrsets[] | select(.name == $n and .type == "TXT") | .records | length] | add // 0')
    left=$((left + records))
done
echo "| flows | killed before present | between presents | in propagation | in validation | between cleanups | not killed | stale records cleaned | TXT values left | time |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
echo "| $flows | ${stopped[order-created]:-0} | ${stopped[challenge-ready]:-0} | ${stopped[checking-ready]:-0} | ${stopped[validating]:-0} | ${stopped[challenge-cleaned-up]:-0} | ${stopped[none]:-0} | $cleaned | $left | ${elapsed} s |"
[[ $left -eq 0 ]]
