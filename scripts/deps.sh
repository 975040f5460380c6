#!/usr/bin/env bash
# Installs every outside program acmebox's scripts, tests, demo and benchmarks use, at pinned
# versions, on a fresh Debian machine with rustup. Idempotent: quiet when everything is there.
# When an install fails it stops with the exact command that failed and what to do.
#
# usage: scripts/deps.sh            (install what is missing, then check every version)
#        scripts/deps.sh --list     (print the manifest below: what is installed, and how)
#
# The manifest is the `program`, `base` and `pinned` lines below. A test
# (tests/src/deps_scan.rs) reads it and fails when a test, script or benchmark starts a program
# that is not listed here, so keep every new tool in it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '[deps] %s\n' "$*" >&2; }
die() { printf '[deps] error: %s\n' "$*" >&2; exit 1; }

# ---- manifest ---------------------------------------------------------------------------
# program NAME  SOURCE              where NAME (a command on PATH) comes from:
#   apt:PKG=VERSION-PREFIX  a Debian package; its installed version must start with the prefix
#   ifmissing:PKG           a Debian package installed only when NAME is not on PATH (npm comes
#                           with some nodejs builds and conflicts with Debian's npm there)
#   rustup                  the rustup toolchain (cargo, rustc, rustup)
#   npm:DIR                 node_modules/.bin of DIR, pinned by its package-lock.json
#   venv:NAME==VERSION      target/py-venv/bin (PyPI, pinned)
#   go:MODULE/cmd/CMD@VERSION   target/go-bin/NAME, built by `go install` from the Go module
#                           proxy (pinned; NAME may differ from CMD, for two versions of one
#                           program); needs the machine's Go toolchain (1.26)
#   gomod:DIR               target/go-bin, built by `go build` from the Go main package in DIR
#                           (a test client of the repository's own), its modules pinned by
#                           DIR's go.mod and go.sum and fetched from the Go module proxy
# package WHAT  apt:PKG=VERSION     a Debian package that brings no command of its own
# pyenv DIR REQUIREMENTS    a Python venv at DIR with exactly the pinned REQUIREMENTS (the
#                           stand-ins of DNS providers' APIs and the vendors' client libraries)
# npmdir DIR                `npm install` in DIR, pinned by its package-lock.json (the vendors'
#                           Node.js clients that check the stand-ins)
# base NAME...              part of every Debian system (coreutils, util-linux, procps, bash):
#                           checked, never installed
MANIFEST='
program pdns_server     apt:pdns-server=4.7.
package sqlite-backend  apt:pdns-backend-sqlite3=4.7.
program sqlite3         apt:sqlite3=3.40.
program curl            apt:curl=7.88.
program jq              apt:jq=1.6
program dig             apt:dnsutils=1:9.18.
program nsupdate        apt:bind9-dnsutils=1:9.18.
program named           apt:bind9=1:9.18.
program named-checkconf apt:bind9-utils=1:9.18.
program knotd           apt:knot=3.2.
program knotc           apt:knot=3.2.
program openssl         apt:openssl=3.0.
program certbot         apt:certbot=2.1.
program lego            apt:lego=4.9.1
program pebble          go:github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3
program pebble-2.5      go:github.com/letsencrypt/pebble/v2/cmd/pebble@v2.5.2
program lego5           gomod:tests/clients/lego5
program caddy           gomod:tests/clients/caddy
program cert-manager-client gomod:tests/clients/cert-manager-client
program node            apt:nodejs=18.|20.|22.
program npm             ifmissing:npm
program python3         apt:python3=3.
program flock           apt:util-linux=2.
program setsid          apt:util-linux=2.
program git             apt:git=1:2.
program cargo           rustup
program rustc           rustup
program rustup          rustup
program componentize-js npm:guest-providers/httpreq-js
program componentize-py venv:componentize-py==0.25.1
pyenv   target/standins-venv tests/standins/requirements.txt
pyenv   target/certbot-venv integrations/certbot-dns-acmebox/requirements-test.txt
pyenv   target/acmeow-venv integrations/acmeow-acmebox/requirements-test.txt
npmdir  tests/standins/node
base bash env kill mktemp od tr sed awk grep cut head tail sort date sleep nohup realpath cat
base chmod mkdir rm touch pgrep nproc dpkg-query id printf test wc uname sha256sum
base dirname basename cp mv tee seq ln sh
'
# rustup components and targets the toolchain needs.
RUST_COMPONENTS="rustfmt clippy"
RUST_TARGETS="wasm32-wasip2"

if [[ ${1-} == --list ]]; then
    printf '%s\n' "$MANIFEST" | sed '/^$/d'
    exit 0
fi

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo -n)

# run_or_die WHAT CMD...: runs CMD quietly; on failure prints its output, the exact command
# and what to do, and stops.
run_or_die() {
    local what=$1 out
    shift
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" | tail -n 30 >&2
        die "installing $what failed: \`$*\` (exit status above). Check that the package registry is reachable and run scripts/deps.sh again; if it is refused, the project cannot run here until it is available."
    fi
}

# ---- Rust toolchain ------------------------------------------------------------------------
command -v rustup >/dev/null && command -v cargo >/dev/null \
    || die "rustup and cargo are missing: install Rust with rustup (https://rustup.rs), then run scripts/deps.sh again"
installed_components=$(rustup component list --installed 2>/dev/null)
for c in $RUST_COMPONENTS; do
    grep -q "^$c" <<<"$installed_components" || { say "rustup component add $c"; run_or_die "$c" rustup component add "$c"; }
done
installed_targets=$(rustup target list --installed)
for t in $RUST_TARGETS; do
    grep -qx "$t" <<<"$installed_targets" || { say "rustup target add $t"; run_or_die "the $t target" rustup target add "$t"; }
done

# ---- Debian packages -----------------------------------------------------------------------
apt_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }

declare -A want=()
while read -r kind name source; do
    [[ ($kind == program || $kind == package) && $source == apt:* ]] || continue
    spec=${source#apt:}
    want[${spec%%=*}]=${spec#*=}
done <<<"$MANIFEST"

missing=()
for pkg in "${!want[@]}"; do
    [[ -n $(apt_version "$pkg") ]] || missing+=("$pkg")
done
while read -r kind name source; do
    [[ $kind == program && $source == ifmissing:* ]] || continue
    command -v "$name" >/dev/null || missing+=("${source#ifmissing:}")
done <<<"$MANIFEST"
if ((${#missing[@]})); then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort)
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # One `apt-get update` first: a new machine's package lists are empty or old.
    run_or_die "the Debian package lists" "${sudo[@]}" apt-get update -q
    run_or_die "${missing[*]}" "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for pkg in "${!want[@]}"; do
    have=$(apt_version "$pkg")
    ok=0
    IFS='|' read -ra prefixes <<<"${want[$pkg]}"
    for p in "${prefixes[@]}"; do [[ $have == "$p"* ]] && ok=1; done
    ((ok)) || die "$pkg $have is installed, but acmebox is tested with ${want[$pkg]}*: install that version (apt-get install $pkg=<version>) and run scripts/deps.sh again"
done

# ---- JavaScript: node_modules pinned by package-lock.json ------------------------------------
npm_install() { # DIR WHAT
    local dir=$1 stamp="$1/node_modules/.package-lock.json"
    if [[ ! $stamp -nt $dir/package-lock.json ]]; then
        say "npm install in ${dir#"$root"/} ($2)"
        # Not `npm ci`: it refuses a lock file on a fresh checkout that lacks entries for
        # optional packages of other platforms. `npm install` installs the versions it pins.
        (cd "$dir" && run_or_die "$2 (npm)" npm install --no-audit --no-fund)
    fi
}
while read -r kind name source; do
    case $kind in
        program) [[ $source == npm:* ]] && npm_install "$root/${source#npm:}" "$name" ;;
        npmdir) npm_install "$root/$name" "the packages of $name" ;;
    esac
done <<<"$MANIFEST"

# ---- Python: componentize-py in target/py-venv -----------------------------------------------
venv="$root/target/py-venv"
while read -r kind name source; do
    [[ $kind == program && $source == venv:* ]] || continue
    req=${source#venv:}
    if [[ $("$venv/bin/$name" --version 2>/dev/null) != "$name ${req#*==}" ]]; then
        if [[ ! -x $venv/bin/pip ]]; then
            say "python3 -m venv target/py-venv"
            run_or_die "a Python venv" python3 -m venv --clear "$venv"
        fi
        say "pip install $req"
        run_or_die "$req (PyPI)" "$venv/bin/pip" install --quiet --disable-pip-version-check "$req"
    fi
done <<<"$MANIFEST"

# ---- Python environments from pinned requirement files ---------------------------------------
while read -r kind dir req; do
    [[ $kind == pyenv ]] || continue
    # The file and the files it includes (`-r requirements/<vendor>.txt`) next to it.
    includes=("$(dirname "$root/$req")"/requirements/*.txt)
    [[ -e ${includes[0]} ]] || includes=()
    want_sum=$(cat "$root/$req" "${includes[@]}" | sha256sum | cut -d' ' -f1)
    stamp="$root/$dir/.requirements.sha256"
    if [[ ! -x $root/$dir/bin/python || $(cat "$stamp" 2>/dev/null) != "$want_sum" ]]; then
        say "python3 -m venv $dir; pip install -r $req"
        run_or_die "a Python venv at $dir" python3 -m venv --clear "$root/$dir"
        run_or_die "the packages of $req (PyPI)" "$root/$dir/bin/pip" install --quiet \
            --disable-pip-version-check -r "$root/$req"
        echo "$want_sum" >"$stamp"
    fi
done <<<"$MANIFEST"

# ---- Go programs: target/go-bin, built from the Go module proxy at pinned versions ----------
gobin="$root/target/go-bin"
while read -r kind name source; do
    [[ $kind == program && $source == go:* ]] || continue
    module=${source#go:}
    stamp="$gobin/.$name.version"
    if [[ ! -x $gobin/$name || $(cat "$stamp" 2>/dev/null) != "$module" ]]; then
        command -v go >/dev/null \
            || die "go is missing: install the Go toolchain (1.26) to build $name ($module), then run scripts/deps.sh again"
        say "go install $module"
        mkdir -p "$gobin"
        # Each into a folder of its own first: two versions of one program share its name.
        build="$gobin/.build-$name"
        run_or_die "$name (Go module proxy)" env GOBIN="$build" go install "$module"
        cmd=${module%@*}
        mv -f "$build/${cmd##*/}" "$gobin/$name"
        rm -rf "$build"
        echo "$module" >"$stamp"
    fi
done <<<"$MANIFEST"
while read -r kind name source; do
    [[ $kind == program && $source == gomod:* ]] || continue
    dir=$root/${source#gomod:}
    stamp="$gobin/.$name.version"
    want_sum=$(cat "$dir"/go.mod "$dir"/go.sum "$dir"/*.go | sha256sum | cut -d' ' -f1)
    if [[ ! -x $gobin/$name || $(cat "$stamp" 2>/dev/null) != "$want_sum" ]]; then
        command -v go >/dev/null \
            || die "go is missing: install the Go toolchain (1.26) to build $name (${source#gomod:}), then run scripts/deps.sh again"
        say "go build ${source#gomod:} -> target/go-bin/$name"
        mkdir -p "$gobin"
        run_or_die "$name (Go module proxy)" env -C "$dir" GOFLAGS=-mod=readonly go build -o "$gobin/$name" .
        echo "$want_sum" >"$stamp"
    fi
done <<<"$MANIFEST"

# ---- base system programs: present everywhere, checked only ---------------------------------
while read -r kind rest; do
    [[ $kind == base ]] || continue
    for p in $rest; do
        command -v "$p" >/dev/null || die "$p is missing; it is part of every Debian system (coreutils, util-linux, procps): install it with apt-get"
    done
done <<<"$MANIFEST"

# Every listed program must now run.
while read -r kind name source; do
    [[ $kind == program ]] || continue
    case $source in
        npm:*) path="$root/${source#npm:}/node_modules/.bin/$name" ;;
        venv:*) path="$venv/bin/$name" ;;
        go:* | gomod:*) path="$gobin/$name" ;;
        *) path=$(PATH="$PATH:/usr/sbin:/sbin" command -v "$name" || true) ;;
    esac
    [[ -n $path && -e $path ]] || die "$name is still missing after the install ($source): run scripts/deps.sh again and read its errors"
done <<<"$MANIFEST"
