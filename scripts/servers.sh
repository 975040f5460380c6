#!/usr/bin/env bash
# Starts and stops the real servers acmebox is tested against, on loopback only:
#   PowerDNS Authoritative (sqlite backend, HTTP API): the DNS provider and the DNS server;
#   Pebble: the ACME test CA, resolving every name through that PowerDNS.
#
# usage: scripts/servers.sh start [pdns|pebble|all]   (default all; reuses running servers)
#        scripts/servers.sh stop  [pdns|pebble|all]
#        scripts/servers.sh env                       (prints `export` lines for eval)
#        scripts/servers.sh acquire PID | release PID (shared use by several processes: start
#                                    and register PID; unregister it and stop the servers once
#                                    no registered process is alive any more)
#
# Settings (environment, with defaults): ACMEBOX_SERVERS_DIR (state, logs),
# ACMEBOX_ADDR=127.0.0.1, ACMEBOX_PDNS_DNS_PORT=25353, ACMEBOX_PDNS_API_PORT=25381,
# ACMEBOX_PDNS_API_KEY, ACMEBOX_PDNS_ZONES="example.test. delegated.test.",
# ACMEBOX_PEBBLE_PORT=24000, ACMEBOX_PEBBLE_MGMT_PORT=25000, ACMEBOX_PEBBLE_HTTP_PORT=25080,
# ACMEBOX_PEBBLE_TLS_PORT=25443.
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

state="$ACMEBOX_SERVERS_DIR"
pdns_dir="$state/pdns"
pebble_dir="$state/pebble"
logs="$state/logs"
pdns_api="http://$ACMEBOX_ADDR:$ACMEBOX_PDNS_API_PORT/api/v1/servers/localhost"
pebble_dir_url="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_PORT/dir"
pebble_mgmt="https://$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_MGMT_PORT"
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

start_pebble() {
    ensure_packages pebble
    ensure_packages curl
    pebble_certs
    mkdir -p "$pebble_dir" "$logs"
    local tls="$state/pebble-tls"
    if running "$pebble_dir/pid" pebble; then
        say "Pebble already running (pid $(<"$pebble_dir/pid"))"
    else
        for port in "$ACMEBOX_PEBBLE_PORT" "$ACMEBOX_PEBBLE_MGMT_PORT"; do
            port_busy "$ACMEBOX_ADDR" "$port" \
                && die "$ACMEBOX_ADDR:$port is in use by another process; set ACMEBOX_PEBBLE_PORT / ACMEBOX_PEBBLE_MGMT_PORT"
        done
        port_busy "$ACMEBOX_ADDR" "$ACMEBOX_PDNS_DNS_PORT" || die "PowerDNS is not running: Pebble resolves every name through it; run '$0 start pdns' first"
        cat >"$pebble_dir/config.json" <<EOF
{"pebble":{"listenAddress":"$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_PORT",
 "managementListenAddress":"$ACMEBOX_ADDR:$ACMEBOX_PEBBLE_MGMT_PORT",
 "certificate":"$tls/cert.pem","privateKey":"$tls/key.pem",
 "httpPort":$ACMEBOX_PEBBLE_HTTP_PORT,"tlsPort":$ACMEBOX_PEBBLE_TLS_PORT,
 "ocspResponderURL":"","externalAccountBindingRequired":false}}
EOF
        # -dnsserver: every lookup (TXT for DNS-01, A for HTTP-01/TLS-ALPN-01) goes to our
        # PowerDNS, never to the system resolver. No validation sleep, no bogus badNonce, no
        # authorization reuse: every order is really validated.
        spawn "$pebble_dir/pid" "$logs/pebble.log" env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
            PEBBLE_AUTHZREUSE=0 "$(command -v pebble)" -config "$pebble_dir/config.json" \
            -dnsserver "$ACMEBOX_ADDR:$ACMEBOX_PDNS_DNS_PORT" -strict=false
        local i
        for ((i = 0; i < 200; i++)); do
            curl -s --fail --max-time 2 --cacert "$tls/ca.pem" -o /dev/null "$pebble_dir_url" && break
            alive "$pebble_dir/pid" || { tail -n 20 "$logs/pebble.log" >&2; die "pebble exited while starting"; }
            sleep 0.1
        done
        curl -s --fail --max-time 2 --cacert "$tls/ca.pem" -o /dev/null "$pebble_dir_url" \
            || die "Pebble did not answer at $pebble_dir_url (log: $logs/pebble.log)"
        say "started Pebble (pid $(<"$pebble_dir/pid")): $pebble_dir_url"
    fi
    # The issuing root is new at every Pebble start: save this instance's.
    curl -sS --fail --cacert "$tls/ca.pem" "$pebble_mgmt/roots/0" >"$pebble_dir/root.pem"
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
EOF
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
    stop_pid "$pebble_dir/pid" pebble
    stop_pid "$pdns_dir/pid" pdns_server
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
    acquire:[0-9]*) mkdir -p "$state/users" && : >"$state/users/$which" && start_pdns && start_pebble ;;
    release:[0-9]*) release "$which" ;;
    start:pdns) start_pdns ;;
    start:pebble) start_pebble ;;
    start:all) start_pdns && start_pebble ;;
    stop:pdns) stop_pid "$pdns_dir/pid" pdns_server ;;
    stop:pebble) stop_pid "$pebble_dir/pid" pebble ;;
    stop:all) stop_pid "$pebble_dir/pid" pebble && stop_pid "$pdns_dir/pid" pdns_server ;;
    env:*) print_env ;;
    *) die "usage: $0 start|stop [pdns|pebble|all] | $0 env" ;;
esac
