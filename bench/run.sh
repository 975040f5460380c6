#!/usr/bin/env bash
# Benchmark acmebox against acmeow 1.2.0 on the same challenge operations.
#
#   bench/run.sh [--markdown FILE] [--python PYTHON]
#   bench/run.sh clients [options]   acmebox as a DNS-01 hook against a curl script, at scale,
#                                    and end to end beside lego (bench/clients.sh --help)
#
#   --markdown FILE   also write the table (with a line on the machine) as markdown to FILE,
#                     for refreshing BENCHMARKS.md
#   --python PYTHON   a Python that already has acmeow==1.2.0; default: a throw-away venv
#
# Steps: make a venv in a mktemp dir and install acmeow==1.2.0; run the criterion bench
# (`cargo bench -p acmebox-challenge --bench challenge`) and read each median from
# <target>/criterion/<id>/new/estimates.json; run bench/acmeow_bench.py; print ops/s for both,
# the ratio acmebox/acmeow and PASS/MISS against the targets. Needs python3 and cargo.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/deps.sh"
if [[ ${1-} == clients ]]; then
    shift
    exec "$repo/bench/clients.sh" "$@"
fi
markdown=""
python=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --markdown) markdown=$(realpath -m "$2"); shift 2 ;;
        --python) python="$2"; shift 2 ;;
        -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/acmebox-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [[ -z "$python" ]]; then
    echo "==> installing acmeow==1.2.0 into a throw-away venv" >&2
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check acmeow==1.2.0
    python="$work/venv/bin/python"
fi

busy=$(pgrep -x rustc | wc -l || true)
if [[ "$busy" -gt 0 ]]; then
    echo "warning: $busy rustc process(es) running; figures will be disturbed" >&2
fi

cd "$repo"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

echo "==> building the criterion bench" >&2
cargo bench -p acmebox-challenge --bench challenge --no-run >&2
touch "$work/stamp"
echo "==> cargo bench -p acmebox-challenge --bench challenge" >&2
cargo bench -p acmebox-challenge --bench challenge >&2

echo "==> acmeow bench" >&2
"$python" bench/acmeow_bench.py >"$work/acmeow.json"

nproc_=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
versions=$(python3 -c '
import json, sys
print("acmeow {acmeow_version} (cryptography {cryptography_version}, Python {python})"
      .format(**json.load(open(sys.argv[1]))))' "$work/acmeow.json")
preamble="Measured $(date -u +'%Y-%m-%d %H:%M UTC') on ${nproc_} × ${cpu:-unknown CPU}, ${mem}; $(rustc --version | cut -d' ' -f1-2), ${versions}."

echo >&2
echo "$preamble"
echo
python3 bench/report.py \
    --criterion-dir "$target_dir/criterion" \
    --acmeow-json "$work/acmeow.json" \
    --newer-than "$work/stamp" \
    ${markdown:+--markdown "$work/table.md"}

if [[ -n "$markdown" ]]; then
    { echo "$preamble"; echo; cat "$work/table.md"; } >"$markdown"
    echo "wrote $markdown" >&2
fi
