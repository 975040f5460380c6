#!/usr/bin/env bash
# Starts and stops the real servers acmebox is tested against, on loopback only:
#   PowerDNS Authoritative (sqlite backend, HTTP API): the DNS provider and the DNS server;
#   Pebble: the ACME test CA, resolving every name through that PowerDNS;
#   BIND 9 and Knot DNS: authoritative servers taking RFC 2136 updates signed with TSIG;
#   pebble-bind: a second Pebble, resolving every name through that BIND;
#   pebble-eab: a third Pebble, registering only accounts with an External Account Binding;
#   pebble-noari: a fourth, Pebble v2.5.2, which predates ACME Renewal Information (RFC 9773):
#                 a CA whose directory has no renewalInfo.
#
# usage: scripts/servers.sh start [pdns|pebble|bind|knot|pebble-bind|pebble-eab|pebble-noari|all]
#                                  (default all; reuses running servers)
#        scripts/servers.sh stop  [pdns|pebble|bind|knot|pebble-bind|pebble-eab|pebble-noari|all]
#        scripts/servers.sh env   (prints `export` lines for eval)
#        scripts/servers.sh acquire PID | release PID (shared use by several processes: start
#                                    and register PID; unregister it and stop the servers once
#                                    no registered process is alive any more)
#
# Settings (environment, with defaults): ACMEBOX_SERVERS_DIR (state, logs),
# ACMEBOX_ADDR=127.0.0.1, ACMEBOX_PDNS_DNS_PORT=25353, ACMEBOX_PDNS_API_PORT=25381,
# ACMEBOX_PDNS_API_KEY, ACMEBOX_PDNS_ZONES="example.test. delegated.test.",
# ACMEBOX_PEBBLE_PORT=24000, ACMEBOX_PEBBLE_MGMT_PORT=25000, ACMEBOX_PEBBLE_HTTP_PORT=25080,
# ACMEBOX_PEBBLE_TLS_PORT=25443, ACMEBOX_BIND_PORT=25354, ACMEBOX_KNOT_PORT=25355,
# ACMEBOX_PEBBLE_BIND_PORT=24001, ACMEBOX_PEBBLE_BIND_MGMT_PORT=25001, ACMEBOX_PEBBLE_EAB_PORT=24002,
# ACMEBOX_PEBBLE_EAB_MGMT_PORT=25002, ACMEBOX_PEBBLE_NOARI_PORT=24003,
# ACMEBOX_PEBBLE_NOARI_MGMT_PORT=25003,
# ACMEBOX_BIND_TSIG_SECRET, ACMEBOX_BIND_TSIG_SHA1_SECRET, ACMEBOX_BIND_TSIG_OTHER_SECRET,
# ACMEBOX_KNOT_TSIG_SECRET (base64; the defaults are fixed test-only keys).
# ACMEBOX_PDNS_SQLITE_JOURNAL_MODE: unset keeps PowerDNS's own default (WAL); `delete` selects
# sqlite's rollback journal, for benchmarks that compare the two.
set -euo pipefail

: "${ACMEBOX_SERVERS_DIR:=${TMPDIR:-/tmp}/acmebox-servers}"
: "${ACMEBOX_ADDR:=127.0.0.1}"
: "${ACMEBOX_PDNS_DNS_PORT:=25353}"
: "${ACMEBOX_PDNS_API_PORT:=25381}"
: "${ACMEBOX_PDNS_API_KEY:=acmebox-test-key}"
: "${ACMEBOX_PDNS_ZONES:=example.test. delegated.test.}"
: "${ACMEBOX_PEBBLE_PORT:=24000}"
: "${ACMEBOX_PEBBLE_MGMT_PORT:=25000}"
: "${ACMEBOX_PEBBLE_HTTP_PORT:=25080}"
: "${ACMEBOX_PEBBLE_TLS_PORT:=25443}"
: "${ACMEBOX_BIND_PORT:=25354}"
: "${ACMEBOX_KNOT_PORT:=25355}"
: "${ACMEBOX_PEBBLE_BIND_PORT:=24001}"
: "${ACMEBOX_PEBBLE_BIND_MGMT_PORT:=25001}"
: "${ACMEBOX_PEBBLE_EAB_PORT:=24002}"
: "${ACMEBOX_PEBBLE_EAB_MGMT_PORT:=25002}"
: "${ACMEBOX_PEBBLE_NOARI_PORT:=24003}"
: "${ACMEBOX_PEBBLE_NOARI_MGMT_PORT:=25003}"
# The External Account Binding pebble-eab requires: a test-only key id and MAC key (the
# base64url of the 39 bytes "acmebox test-only EAB MAC key, 40 bytes").
: "${ACMEBOX_PEBBLE_EAB_KID:=acmebox-test-kid}"
: "${ACMEBOX_PEBBLE_EAB_HMAC_KEY:=YWNtZWJveCB0ZXN0LW9ubHkgRUFCIE1BQyBrZXksIDQwIGJ5dGVz}"
# Test-only TSIG secrets: each is the base64 of "acmebox test-only TSIG key: ..." (32 bytes).
: "${ACMEBOX_BIND_TSIG_SECRET:=YWNtZWJveCB0ZXN0LW9ubHkgVFNJRyBrZXk6IGJpbmQ=}"
: "${ACMEBOX_BIND_TSIG_SHA1_SECRET:=YWNtZWJveCB0ZXN0LW9ubHkgVFNJRyBrZXk6IHNoYTE=}"
: "${ACMEBOX_BIND_TSIG_OTHER_SECRET:=YWNtZWJveCB0ZXN0LW9ubHkgVFNJRyBrZXk6b3RoZXI=}"
: "${ACMEBOX_KNOT_TSIG_SECRET:=YWNtZWJveCB0ZXN0LW9ubHkgVFNJRyBrZXk6IGtub3Q=}"

state="$ACMEBOX_SERVERS_DIR"
pdns_dir="$state/pdns"
pebble_dir="$state/pebble"
bind_dir="$state/bind"
knot_dir="$state/knot"
pebble_bind_dir="$state/pebble-bind"
pebble_eab_dir="$state/pebble-eab"
pebble_noari_dir="$state/pebble-noari"
logs="$state/logs"
pdns_api="http://$ACMEBOX_ADDR:$ACMEBOX_PDNS_API_PORT/api/v1/servers/localhost"
pebble_dir_url="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_PORT/dir"
pebble_mgmt="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_MGMT_PORT"
pebble_bind_dir_url="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_BIND_PORT/dir"
pebble_bind_mgmt="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_BIND_MGMT_PORT"
pebble_eab_dir_url="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_EAB_PORT/dir"
pebble_eab_mgmt="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_EAB_MGMT_PORT"
pebble_noari_dir_url="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_NOARI_PORT/dir"
pebble_noari_mgmt="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_NOARI_MGMT_PORT"
bind_zone=bind.test.
knot_zone=knot.test.
# TSIG keys: acmebox-bind. and acmebox-bind-sha1. may update the TXT records below; BIND knows
# acmebox-bind-other. but grants it nothing (its updates are refused).
bind_key=acmebox-bind.
bind_sha1_key=acmebox-bind-sha1.
bind_other_key=acmebox-bind-other.
knot_key=acmebox-knot.
# The only owners BIND and Knot accept updates at: TXT at `_acme-challenge.LABEL.ZONE` for
# these labels, and at `_acme-challenge.ZONE`. Listed, not a pattern: BIND 9.18's update-policy
# wildcards only cover the leftmost label (`*.bind.test.`, which would also grant `www`), and
# Knot 3.2's update-owner-name takes exact names.
acme_labels="conformance wrongkey bench a b c d e f g h x"
# Loopback traffic must never go through a proxy from the environment.
export NO_PROXY="127.0.0.1,::1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,::1,localhost${no_proxy:+,$no_proxy}"

say() { printf '[servers] %s\n' "$*" >&2; }
die() { printf '[servers] error: %s\n' "$*" >&2; exit 1; }

case "$ACMEBOX_ADDR" in
    127.*) ;;
    *) die "ACMEBOX_ADDR=$ACMEBOX_ADDR is not an IPv4 loopback address; the test servers bind to loopback only" ;;
esac

# Checks that Debian packages are installed; when one is missing, runs scripts/deps.sh, the one
# place that installs what acmebox uses.
ensure_packages() {
    local p
    for p in "$@"; do
        if [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) != *"ok installed"* ]]; then
            say "$p is missing: running scripts/deps.sh"
            bash "$(dirname "${BASH_SOURCE[0]}")/deps.sh" || die "scripts/deps.sh failed"
            return 0
        fi
    done
}

# Pebble is built from the Go module proxy at a pinned version by scripts/deps.sh.
# pebble-noari runs the older v2.5.2, built beside it.
pebble_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target/go-bin/pebble"
pebble_noari_bin="${pebble_bin}-2.5"
ensure_pebble() {
    if [[ ! -x $pebble_bin || ! -x $pebble_noari_bin ]]; then
        say "$pebble_bin or $pebble_noari_bin is missing: running scripts/deps.sh"
        bash "$(dirname "${BASH_SOURCE[0]}")/deps.sh" || die "scripts/deps.sh failed"
    fi
}

port_busy() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# running PIDFILE NAME: the recorded process is alive and is NAME (guards against reused PIDs).
running() {
    [[ -s $1 ]] || return 1
    local pid
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
    # No pipe into `grep -q` here: under pipefail its early exit can fail the check.
    local cmdline
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *"$2"* ]]
}

# alive PIDFILE: the recorded process still exists. For the start-up wait only: right after
# the fork, before the exec, its command line is still this script's, so `running` cannot be
# used yet.
alive() { kill -0 "$(<"$1")" 2>/dev/null; }

# spawn PIDFILE LOG CMD...: starts CMD detached from our stdio and records its PID.
spawn() {
    local pidfile=$1 log=$2
    shift 2
    : >"$log"
    nohup "$@" </dev/null >>"$log" 2>&1 9>&- &
    echo $! >"$pidfile"
}

# stop_pid PIDFILE NAME: SIGTERM the recorded process if it is still NAME, SIGKILL after 10 s.
stop_pid() {
    local pidfile=$1 name=$2 pid i
    if running "$pidfile" "$name"; then
        pid=$(<"$pidfile")
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        say "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

# soa_answers PORT ZONE: the DNS server at $ACMEBOX_ADDR:PORT answers the SOA of ZONE over TCP.
soa_answers() {
    local out
    out=$(dig +tcp +time=1 +tries=1 +norecurse +short "@$ACMEBOX_ADDR" -p "$1" SOA "$2" 2>/dev/null) || return 1
    [[ $out == "ns1.$2 "* ]]
}

# wait_dns PIDFILE LOG NAME PORT ZONE: waits (at most 20 s) until the server just spawned answers
# for ZONE; when it exits or never answers, stops it and fails with its log's tail.
wait_dns() {
    local pidfile=$1 log=$2 name=$3 port=$4 zone=$5 deadline=$((SECONDS + 20))
    while ((SECONDS < deadline)); do
        soa_answers "$port" "$zone" && return 0
        alive "$pidfile" || { tail -n 20 "$log" >&2; die "$name exited while starting"; }
        sleep 0.05
    done
    soa_answers "$port" "$zone" && return 0
    tail -n 20 "$log" >&2
    stop_pid "$pidfile" "$name"
    die "$name did not answer for $zone at $ACMEBOX_ADDR:$port (log: $log)"
}

# zone_file ZONE: the zone BIND and Knot start from, the shape of the PowerDNS zones: SOA, NS,
# and an A record for the apex and every name below it, so that HTTP-01 and TLS-ALPN-01
# validation of any name in the zone reaches loopback.
zone_file() {
    cat <<EOF
\$ORIGIN $1
\$TTL 60
@   SOA ns1 hostmaster 1 10800 3600 604800 1
@   NS  ns1
ns1 A   $ACMEBOX_ADDR
@   A   $ACMEBOX_ADDR
*   A   $ACMEBOX_ADDR
EOF
}

# update_owners ZONE: the names of ZONE whose TXT records the TSIG keys may update.
update_owners() {
    local label
    echo "_acme-challenge.$1"
    for label in $acme_labels; do
        echo "_acme-challenge.$label.$1"
    done
}

pdns_call() { # METHOD PATH [JSON]
    local args=(-sS --fail-with-body --max-time 10 -X "$1" -H "X-API-Key: $ACMEBOX_PDNS_API_KEY")
    [[ -n ${3-} ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    curl "${args[@]}" "$pdns_api$2"
}

start_pdns() {
    ensure_packages pdns-server pdns-backend-sqlite3 sqlite3 curl
    local bin
    bin=$(PATH="$PATH:/usr/sbin" command -v pdns_server) || die "pdns_server is not installed"
    mkdir -p "$pdns_dir" "$logs"
    chmod 700 "$pdns_dir"
    if running "$pdns_dir/pid" pdns_server; then
        say "PowerDNS already running (pid $(<"$pdns_dir/pid"))"
    else
        for port in "$ACMEBOX_PDNS_DNS_PORT" "$ACMEBOX_PDNS_API_PORT"; do
            port_busy "$ACMEBOX_ADDR" "$port" \
                && die "$ACMEBOX_ADDR:$port is in use by another process; set ACMEBOX_PDNS_DNS_PORT / ACMEBOX_PDNS_API_PORT"
        done
        local schema=/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
        [[ -r $schema ]] || die "the PowerDNS sqlite schema $schema is missing"
        rm -f "$pdns_dir/db.sqlite3"
        sqlite3 "$pdns_dir/db.sqlite3" <"$schema"
        # Only this file is read (--config-dir): no /etc/powerdns, no outbound traffic, no caches
        # (API changes must be visible to the next query).
        cat >"$pdns_dir/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$pdns_dir/db.sqlite3
local-address=$ACMEBOX_ADDR
local-port=$ACMEBOX_PDNS_DNS_PORT
socket-dir=$pdns_dir
daemon=no
guardian=no
write-pid=no
disable-syslog=yes
loglevel=5
log-dns-queries=yes
api=yes
api-key=$ACMEBOX_PDNS_API_KEY
webserver=yes
webserver-address=$ACMEBOX_ADDR
webserver-port=$ACMEBOX_PDNS_API_PORT
webserver-allow-from=127.0.0.0/8
security-poll-suffix=
primary=no
secondary=no
disable-axfr=yes
cache-ttl=0
query-cache-ttl=0
negquery-cache-ttl=0
zone-cache-refresh-interval=0
EOF
        if [[ -n ${ACMEBOX_PDNS_SQLITE_JOURNAL_MODE-} ]]; then
            [[ $ACMEBOX_PDNS_SQLITE_JOURNAL_MODE =~ ^(wal|WAL|delete|DELETE)$ ]] \
                || die "ACMEBOX_PDNS_SQLITE_JOURNAL_MODE must be wal or delete"
            echo "gsqlite3-pragma-journal-mode=$ACMEBOX_PDNS_SQLITE_JOURNAL_MODE" >>"$pdns_dir/pdns.conf"
        fi
        spawn "$pdns_dir/pid" "$logs/pdns.log" "$bin" --config-dir="$pdns_dir"
        local i
        for ((i = 0; i < 200; i++)); do
            pdns_call GET "" >/dev/null 2>&1 && break
            alive "$pdns_dir/pid" || { tail -n 20 "$logs/pdns.log" >&2; die "pdns_server exited while starting"; }
            sleep 0.1
        done
        pdns_call GET "" >/dev/null || die "the PowerDNS API did not answer at $pdns_api (log: $logs/pdns.log)"
        say "started PowerDNS (pid $(<"$pdns_dir/pid")): DNS $ACMEBOX_ADDR:$ACMEBOX_PDNS_DNS_PORT, API $pdns_api"
    fi
    local zone
    for zone in $ACMEBOX_PDNS_ZONES; do
        zone="${zone%.}."
        pdns_call GET "/zones/$zone" >/dev/null 2>&1 && continue
        # SOA, NS, and an A record for the apex and every name below it, so that HTTP-01 and
        # TLS-ALPN-01 validation of any name in the zone reaches loopback.
        pdns_call POST /zones "$(cat <<EOF
{"name":"$zone","kind":"Native","nameservers":[],"rrsets":[
 {"name":"$zone","type":"SOA","ttl":60,"records":[{"content":"ns1.$zone hostmaster.$zone 1 10800 3600 604800 1","disabled":false}]},
 {"name":"$zone","type":"NS","ttl":60,"records":[{"content":"ns1.$zone","disabled":false}]},
 {"name":"ns1.$zone","type":"A","ttl":60,"records":[{"content":"$ACMEBOX_ADDR","disabled":false}]},
 {"name":"$zone","type":"A","ttl":60,"records":[{"content":"$ACMEBOX_ADDR","disabled":false}]},
 {"name":"*.$zone","type":"A","ttl":60,"records":[{"content":"$ACMEBOX_ADDR","disabled":false}]}]}
EOF
)" >/dev/null || die "creating zone $zone failed"
        say "created zone $zone"
    done
}

pebble_certs() {
    local d="$state/pebble-tls"
    if [[ -s $d/ca.pem && -s $d/cert.pem && -s $d/key.pem ]] \
        && openssl x509 -checkend 86400 -noout -in "$d/cert.pem" >/dev/null 2>&1; then
        return 0
    fi
    ensure_packages openssl
    mkdir -p "$d"
    chmod 700 "$d"
    # A private CA for Pebble's own HTTPS listeners (Debian's pebble ships no test certificates).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
        -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=acmebox test listener CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
        -keyout "$d/key.pem" -out "$d/cert.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf"
    openssl x509 -req -sha256 -days 825 -in "$d/cert.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
    say "made the listener CA $d/ca.pem"
}

# run_pebble NAME DIR PORT_VAR MGMT_PORT_VAR DNS_PORT DNS_SERVER: starts (or reuses) a Pebble
# whose ACME and management listeners are on the ports in the variables PORT_VAR and
# MGMT_PORT_VAR, resolving every name through the DNS server DNS_SERVER on DNS_PORT, and saves
# its issuing root as DIR/root.pem. NAME (log, messages) must be in DIR's path: it tells the
# instances apart in `running`. With EAB ("KID:KEY"), new accounts need that External Account
# Binding. The program is $pebble_bin unless the variable `bin` names another.
run_pebble() {
    local name=$1 dir=$2 port=${!3} mgmt_port=${!4} dns_port=$5 dns_server=$6 eab=${7-}
    local eab_json='"externalAccountBindingRequired":false'
    [[ -n $eab ]] && eab_json="\"externalAccountBindingRequired\":true,\"externalAccountMACKeys\":{\"${eab%%:*}\":\"${eab#*:}\"}"
    local tls="$state/pebble-tls" url="https://$ACMEBOX_ADDR:$port/dir"
    ensure_pebble
    ensure_packages curl
    pebble_certs
    mkdir -p "$dir" "$logs"
    if running "$dir/pid" "$name"; then
        say "$name already running (pid $(<"$dir/pid"))"
    else
        local p
        for p in "$port" "$mgmt_port"; do
            port_busy "$ACMEBOX_ADDR" "$p" \
                && die "$ACMEBOX_ADDR:$p is in use by another process; set $3 / $4"
        done
        port_busy "$ACMEBOX_ADDR" "$dns_port" \
            || die "$dns_server is not running on $ACMEBOX_ADDR:$dns_port: $name resolves every name through it; start it first"
        cat >"$dir/config.json" <<EOF
{"pebble":{"listenAddress":"$ACMEBOX_ADDR:$port",
 "managementListenAddress":"$ACMEBOX_ADDR:$mgmt_port",
 "certificate":"$tls/cert.pem","privateKey":"$tls/key.pem",
 "httpPort":$ACMEBOX_PEBBLE_HTTP_PORT,"tlsPort":$ACMEBOX_PEBBLE_TLS_PORT,
 "ocspResponderURL":"",$eab_json,
 "profiles":{"default":{"description":"90-day certificates","validityPeriod":7776000},
  "shortlived":{"description":"6-day certificates","validityPeriod":518400}}}}
EOF
        # -dnsserver: every lookup (TXT for DNS-01, A for HTTP-01/TLS-ALPN-01) goes to our
        # DNS server, never to the system resolver. No validation sleep, no bogus badNonce, no
        # authorization reuse: every order is really validated. httpPort and tlsPort are where
        # Pebble connects to for HTTP-01 and TLS-ALPN-01, so every instance shares them.
        spawn "$dir/pid" "$logs/$name.log" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
            PEBBLE_AUTHZREUSE=0 "${bin:-$pebble_bin}" -config "$dir/config.json" \
            -dnsserver "$ACMEBOX_ADDR:$dns_port" -strict=false
        local i
        for ((i = 0; i < 200; i++)); do
            curl -s --fail --max-time 2 --cacert "$tls/ca.pem" -o /dev/null "$url" && break
            alive "$dir/pid" || { tail -n 20 "$logs/$name.log" >&2; die "$name exited while starting"; }
            sleep 0.1
        done
        curl -s --fail --max-time 2 --cacert "$tls/ca.pem" -o /dev/null "$url" \
            || die "$name did not answer at $url (log: $logs/$name.log)"
        say "started $name (pid $(<"$dir/pid")): $url, resolving through $dns_server"
    fi
    # The issuing root is new at every Pebble start: save this instance's.
    curl -sS --fail --cacert "$tls/ca.pem" "https://$ACMEBOX_ADDR:$mgmt_port/roots/0" >"$dir/root.pem"
}

start_pebble() {
    run_pebble pebble "$pebble_dir" ACMEBOX_PEBBLE_PORT ACMEBOX_PEBBLE_MGMT_PORT \
        "$ACMEBOX_PDNS_DNS_PORT" PowerDNS
}

start_pebble_bind() {
    run_pebble pebble-bind "$pebble_bind_dir" ACMEBOX_PEBBLE_BIND_PORT ACMEBOX_PEBBLE_BIND_MGMT_PORT \
        "$ACMEBOX_BIND_PORT" BIND
}

start_pebble_eab() {
    run_pebble pebble-eab "$pebble_eab_dir" ACMEBOX_PEBBLE_EAB_PORT ACMEBOX_PEBBLE_EAB_MGMT_PORT \
        "$ACMEBOX_PDNS_DNS_PORT" PowerDNS "$ACMEBOX_PEBBLE_EAB_KID:$ACMEBOX_PEBBLE_EAB_HMAC_KEY"
}

start_pebble_noari() {
    bin=$pebble_noari_bin run_pebble pebble-noari "$pebble_noari_dir" ACMEBOX_PEBBLE_NOARI_PORT \
        ACMEBOX_PEBBLE_NOARI_MGMT_PORT "$ACMEBOX_PDNS_DNS_PORT" PowerDNS
}

start_bind() {
    ensure_packages bind9 bind9-dnsutils
    local bin
    bin=$(PATH="$PATH:/usr/sbin" command -v named) || die "named is not installed"
    mkdir -p "$bind_dir" "$logs"
    chmod 700 "$bind_dir"
    if running "$bind_dir/pid" named; then
        say "BIND already running (pid $(<"$bind_dir/pid"))"
        return 0
    fi
    port_busy "$ACMEBOX_ADDR" "$ACMEBOX_BIND_PORT" \
        && die "$ACMEBOX_ADDR:$ACMEBOX_BIND_PORT is in use by another process; set ACMEBOX_BIND_PORT"
    # Every start begins from this zone file: the journal of a previous run would replay its
    # updates (or, with a serial that went back, refuse to load).
    rm -f "$bind_dir"/*.jnl "$bind_dir"/*.bind "$bind_dir"/*.mkeys
    zone_file "$bind_zone" >"$bind_dir/$bind_zone"db
    local owner grants=""
    for owner in $(update_owners "$bind_zone"); do
        grants+="        grant $bind_key name $owner TXT;"$'\n'
        grants+="        grant $bind_sha1_key name $owner TXT;"$'\n'
    done
    # Only this file (-c) and the packaged trust anchors are read; every file named writes is in
    # $bind_dir. No rndc control channel, no recursion, no transfers, no NOTIFY (ns1 is
    # loopback, port 53).
    cat >"$bind_dir/named.conf" <<EOF
options {
    directory "$bind_dir";
    pid-file "$bind_dir/named.pid";
    session-keyfile "$bind_dir/session.key";
    managed-keys-directory "$bind_dir";
    dump-file "$bind_dir/cache.db";
    statistics-file "$bind_dir/named.stats";
    memstatistics-file "$bind_dir/named.memstats";
    listen-on port $ACMEBOX_BIND_PORT { $ACMEBOX_ADDR; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    allow-transfer { none; };
    notify no;
    querylog yes;
    version none;
    hostname none;
    server-id none;
};
controls { };
key "$bind_key" { algorithm hmac-sha256; secret "$ACMEBOX_BIND_TSIG_SECRET"; };
key "$bind_sha1_key" { algorithm hmac-sha1; secret "$ACMEBOX_BIND_TSIG_SHA1_SECRET"; };
key "$bind_other_key" { algorithm hmac-sha256; secret "$ACMEBOX_BIND_TSIG_OTHER_SECRET"; };
zone "$bind_zone" {
    type primary;
    file "$bind_dir/${bind_zone}db";
    journal "$bind_dir/${bind_zone}db.jnl";
    update-policy {
$grants    };
};
EOF
    # -g: foreground, logging to stderr. No -u: it runs as whoever starts it, root or not, and
    # only touches files in $bind_dir.
    spawn "$bind_dir/pid" "$logs/bind.log" "$bin" -g -c "$bind_dir/named.conf"
    wait_dns "$bind_dir/pid" "$logs/bind.log" named "$ACMEBOX_BIND_PORT" "$bind_zone"
    say "started BIND (pid $(<"$bind_dir/pid")): DNS $ACMEBOX_ADDR:$ACMEBOX_BIND_PORT, zone $bind_zone"
}

start_knot() {
    ensure_packages knot bind9-dnsutils
    local bin
    bin=$(PATH="$PATH:/usr/sbin" command -v knotd) || die "knotd is not installed"
    mkdir -p "$knot_dir" "$logs"
    chmod 700 "$knot_dir"
    if running "$knot_dir/pid" knotd; then
        say "Knot already running (pid $(<"$knot_dir/pid"))"
        return 0
    fi
    port_busy "$ACMEBOX_ADDR" "$ACMEBOX_KNOT_PORT" \
        && die "$ACMEBOX_ADDR:$ACMEBOX_KNOT_PORT is in use by another process; set ACMEBOX_KNOT_PORT"
    # knotd always opens its control socket, and a unix socket path has at most 107 bytes.
    ((${#knot_dir} + 10 <= 107)) \
        || die "knotd's control socket $knot_dir/knot.sock would be longer than 107 bytes; set a shorter ACMEBOX_SERVERS_DIR"
    # A fresh zone and database at every start; updates live in memory only (no journal, the
    # zone file is never written back).
    rm -rf "$knot_dir/db"
    mkdir "$knot_dir/db"
    zone_file "$knot_zone" >"$knot_dir/${knot_zone}zone"
    local owner owners=""
    for owner in $(update_owners "$knot_zone"); do
        owners+="${owners:+, }$owner"
    done
    # Only this file is read (-c). rundir, pidfile, control socket and database are in
    # $knot_dir (the packaged defaults are /run/knot and /var/lib/knot, and user knot when
    # configured so); without `user` it runs as whoever starts it.
    cat >"$knot_dir/knot.conf" <<EOF
server:
    rundir: "$knot_dir"
    pidfile: "$knot_dir/knot.pid"
    listen: $ACMEBOX_ADDR@$ACMEBOX_KNOT_PORT
    automatic-acl: off
    identity: ""
    version: ""
log:
  - target: stderr
    any: info
database:
    storage: "$knot_dir/db"
control:
    listen: "$knot_dir/knot.sock"
key:
  - id: $knot_key
    algorithm: hmac-sha256
    secret: $ACMEBOX_KNOT_TSIG_SECRET
acl:
  - id: acme-txt
    key: $knot_key
    action: update
    update-type: TXT
    update-owner: name
    update-owner-match: equal
    update-owner-name: [ $owners ]
template:
  - id: default
    storage: "$knot_dir"
    file: "%s.zone"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $knot_zone
    acl: acme-txt
EOF
    spawn "$knot_dir/pid" "$logs/knot.log" "$bin" -c "$knot_dir/knot.conf"
    wait_dns "$knot_dir/pid" "$logs/knot.log" knotd "$ACMEBOX_KNOT_PORT" "$knot_zone"
    say "started Knot (pid $(<"$knot_dir/pid")): DNS $ACMEBOX_ADDR:$ACMEBOX_KNOT_PORT, zone $knot_zone"
}

print_env() {
    cat <<EOF
export ACMEBOX_SERVERS_DIR='$state'
export ACMEBOX_ADDR='$ACMEBOX_ADDR'
export ACMEBOX_PDNS_API_URL='$pdns_api'
export ACMEBOX_PDNS_API_KEY='$ACMEBOX_PDNS_API_KEY'
export ACMEBOX_PDNS_DNS='$ACMEBOX_ADDR:$ACMEBOX_PDNS_DNS_PORT'
export ACMEBOX_PEBBLE_DIRECTORY='$pebble_dir_url'
export ACMEBOX_PEBBLE_CA_CERT='$state/pebble-tls/ca.pem'
export ACMEBOX_PEBBLE_ROOT='$pebble_dir/root.pem'
export ACMEBOX_PEBBLE_MGMT='$pebble_mgmt'
export ACMEBOX_PEBBLE_HTTP_PORT='$ACMEBOX_PEBBLE_HTTP_PORT'
export ACMEBOX_PEBBLE_TLS_PORT='$ACMEBOX_PEBBLE_TLS_PORT'
export ACMEBOX_PDNS_ZONES='$ACMEBOX_PDNS_ZONES'
export ACMEBOX_BIND_DNS='$ACMEBOX_ADDR:$ACMEBOX_BIND_PORT'
export ACMEBOX_BIND_ZONE='$bind_zone'
export ACMEBOX_BIND_TSIG_NAME='$bind_key'
export ACMEBOX_BIND_TSIG_SECRET='$ACMEBOX_BIND_TSIG_SECRET'
export ACMEBOX_BIND_TSIG_SHA1_NAME='$bind_sha1_key'
export ACMEBOX_BIND_TSIG_SHA1_SECRET='$ACMEBOX_BIND_TSIG_SHA1_SECRET'
export ACMEBOX_BIND_TSIG_OTHER_NAME='$bind_other_key'
export ACMEBOX_BIND_TSIG_OTHER_SECRET='$ACMEBOX_BIND_TSIG_OTHER_SECRET'
export ACMEBOX_KNOT_DNS='$ACMEBOX_ADDR:$ACMEBOX_KNOT_PORT'
export ACMEBOX_KNOT_ZONE='$knot_zone'
export ACMEBOX_KNOT_TSIG_NAME='$knot_key'
export ACMEBOX_KNOT_TSIG_SECRET='$ACMEBOX_KNOT_TSIG_SECRET'
export ACMEBOX_PEBBLE_BIND_DIRECTORY='$pebble_bind_dir_url'
export ACMEBOX_PEBBLE_BIND_MGMT='$pebble_bind_mgmt'
export ACMEBOX_PEBBLE_BIND_ROOT='$pebble_bind_dir/root.pem'
export ACMEBOX_PEBBLE_EAB_DIRECTORY='$pebble_eab_dir_url'
export ACMEBOX_PEBBLE_EAB_MGMT='$pebble_eab_mgmt'
export ACMEBOX_PEBBLE_EAB_KID='$ACMEBOX_PEBBLE_EAB_KID'
export ACMEBOX_PEBBLE_EAB_HMAC_KEY='$ACMEBOX_PEBBLE_EAB_HMAC_KEY'
export ACMEBOX_PEBBLE_NOARI_DIRECTORY='$pebble_noari_dir_url'
export ACMEBOX_PEBBLE_NOARI_MGMT='$pebble_noari_mgmt'
EOF
}

start_all() {
    start_pdns && start_pebble && start_bind && start_knot && start_pebble_bind \
        && start_pebble_eab && start_pebble_noari
}

# stop_all: the reverse of start_all.
stop_all() {
    stop_pid "$pebble_noari_dir/pid" pebble-noari
    stop_pid "$pebble_eab_dir/pid" pebble-eab
    stop_pid "$pebble_bind_dir/pid" pebble-bind
    stop_pid "$knot_dir/pid" knotd
    stop_pid "$bind_dir/pid" named
    stop_pid "$pebble_dir/pid" pebble
    stop_pid "$pdns_dir/pid" pdns_server
}

# release PID: forget PID, and stop everything once no registered user is alive.
release() {
    rm -f "$state/users/$1"
    local f
    for f in "$state"/users/*; do
        [[ -e $f ]] || continue
        kill -0 "${f##*/}" 2>/dev/null && return 0
        rm -f "$f"
    done
    stop_all
}

action=${1:-}
which=${2:-all}
# One start, stop or release at a time: concurrent test processes share these servers.
mkdir -p "$state"
if [[ $action != env ]]; then
    exec 9>"$state/.lock"
    flock 9
fi
case "$action:$which" in
    acquire:[0-9]*) mkdir -p "$state/users" && : >"$state/users/$which" && start_all ;;
    release:[0-9]*) release "$which" ;;
    start:pdns) start_pdns ;;
    start:pebble) start_pebble ;;
    start:bind) start_bind ;;
    start:knot) start_knot ;;
    start:pebble-bind) start_pebble_bind ;;
    start:pebble-eab) start_pebble_eab ;;
    start:pebble-noari) start_pebble_noari ;;
    start:all) start_all ;;
    stop:pdns) stop_pid "$pdns_dir/pid" pdns_server ;;
    stop:pebble) stop_pid "$pebble_dir/pid" pebble ;;
    stop:bind) stop_pid "$bind_dir/pid" named ;;
    stop:knot) stop_pid "$knot_dir/pid" knotd ;;
    stop:pebble-bind) stop_pid "$pebble_bind_dir/pid" pebble-bind ;;
    stop:pebble-eab) stop_pid "$pebble_eab_dir/pid" pebble-eab ;;
    stop:pebble-noari) stop_pid "$pebble_noari_dir/pid" pebble-noari ;;
    stop:all) stop_all ;;
    env:*) print_env ;;
    *) die "usage: $0 start|stop [pdns|pebble|bind|knot|pebble-bind|pebble-eab|pebble-noari|all] | $0 env | $0 acquire|release PID" ;;
esac
