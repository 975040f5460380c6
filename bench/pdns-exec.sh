#!/usr/bin/env bash
# A lego `exec` DNS hook for PowerDNS written the way such hooks usually are: a shell script
# with curl and jq. It is the baseline the benchmarks compare acmebox against, and it makes the
# same requests as acmebox's PowerDNS provider: find the zone (GET /zones), read the TXT rrset
# (GET ?rrset_name=&rrset_type=TXT), write it back with the value added or removed (PATCH
# REPLACE, or DELETE when no value is left), and start over from the read when PowerDNS
# answers 5xx (12 rounds at most, pauses from 25 ms doubling to 1 s, jittered).
#
#   EXEC_PATH=bench/pdns-exec.sh lego --dns exec ...
#   bench/pdns-exec.sh present|cleanup <fqdn> <value>
#
# Environment: PDNS_API_URL (the webserver's base URL, such as http://127.0.0.1:8081),
# PDNS_API_KEY, PDNS_SERVER_ID (default localhost), PDNS_TTL (default 60).
set -euo pipefail

die() { printf 'pdns-exec: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 3 ]] || die "usage: $0 present|cleanup <fqdn> <value>"
op=$1
fqdn=$(printf '%s' "${2%.}." | tr '[:upper:]' '[:lower:]')
value=$3
: "${PDNS_API_URL:?set PDNS_API_URL to the PowerDNS webserver, such as http://127.0.0.1:8081}"
: "${PDNS_API_KEY:?set PDNS_API_KEY}"
api="${PDNS_API_URL%/}/api/v1/servers/${PDNS_SERVER_ID:-localhost}"
body=$(mktemp)
trap 'rm -f "$body"' EXIT

# call METHOD URL [JSON]: the response body goes to $body, the status to stdout.
call() {
    local args=(-sS --max-time 30 -o "$body" -w '%{http_code}' -X "$1"
        -H "X-API-Key: $PDNS_API_KEY" -H 'Accept: application/json')
    [[ -n ${3-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$2"
}

# One read-modify-write; returns 75 when PowerDNS answered 5xx (worth another round).
round() {
    local status zone records patch
    status=$(call GET "$api/zones")
    [[ $status == 200 ]] || { [[ $status == 5* ]] && return 75; die "GET /zones: $status $(<"$body")"; }
    zone=$(jq -r --arg n "$fqdn" '[.[].name | ascii_downcase
        | select(. as $z | $n == $z or ($n | endswith("." + $z)))] | max_by(length) // empty' "$body")
    [[ -n $zone ]] || die "no zone at the PowerDNS server holds $fqdn"
    status=$(call GET "$api/zones/$zone?rrset_name=$fqdn&rrset_type=TXT")
    [[ $status == 200 ]] || { [[ $status == 5* ]] && return 75; die "GET rrset: $status $(<"$body")"; }
    records=$(jq -c --arg n "$fqdn" '[.rrsets[]? | select(.type == "TXT" and (.name | ascii_downcase) == $n)
        | .records[]] // []' "$body")
    patch=$(jq -cn --arg n "$fqdn" --arg v "\"$value\"" --arg op "$op" --argjson ttl "${PDNS_TTL:-60}" \
        --argjson have "$records" '
        (if $op == "present" then ($have | map(select(.content != $v))) + [{content: $v, disabled: false}]
         else $have | map(select(.content != $v)) end) as $want
        | if ($want | map(.content) | sort) == ($have | map(.content) | sort) then empty
          elif $want == [] then {rrsets: [{name: $n, type: "TXT", changetype: "DELETE"}]}
          else {rrsets: [{name: $n, type: "TXT", ttl: $ttl, changetype: "REPLACE", records: $want}]} end')
    [[ -n $patch ]] || return 0 # already present, or already absent
    status=$(call PATCH "$api/zones/$zone" "$patch")
    [[ $status == 2* ]] || { [[ $status == 5* ]] && return 75; die "PATCH: $status $(<"$body")"; }
}

case $op in
    present | cleanup) ;;
    *) die "unknown command $op; expected present or cleanup" ;;
esac
pause_ms=25
for attempt in $(seq 12); do
    status=0
    round || status=$?
    [[ $status == 75 ]] || exit "$status"
    ((attempt < 12)) || die "PowerDNS answered 5xx 12 times: $(<"$body")"
    wait_ms=$((pause_ms / 2 + RANDOM % (pause_ms + 1)))
    sleep "$((wait_ms / 1000)).$(printf '%03d' $((wait_ms % 1000)))"
    pause_ms=$((pause_ms * 2 > 1000 ? 1000 : pause_ms * 2))
done
