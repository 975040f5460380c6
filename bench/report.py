#!/usr/bin/env python3
"""Combine criterion's estimates and acmeow_bench.py's JSON into the comparison table.

Reads `<criterion-dir>/<bench id>/new/estimates.json` (median.point_estimate, in ns) for every
operation, and the acmeow JSON; prints a plain-text table with ops/s for both, the ratio
acmebox/acmeow and the PASS/MISS verdict on each target; optionally writes the same table as
markdown. Exits 0 whatever the verdicts: a miss is a finding, not a crash. Used by
bench/run.sh.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# (bench id, label, target ratio acmebox/acmeow or None)
OPERATIONS = [
    ("dns01_value", "DNS-01 TXT value", 10.0),
    ("dns01_record", "DNS-01 record (name + value from a string)", None),
    ("key_authorization_parse", "Key authorization parse (*)", None),
    ("tls_alpn01_fresh_p256", "TLS-ALPN-01 certificate, fresh P-256 key", 4.0),
    ("tls_alpn01_reused_p256", "TLS-ALPN-01 certificate, reused P-256 key", None),
    ("http01_file_setup_cleanup", "HTTP-01 file deployment, setup + cleanup", 2.0),
    ("tls_alpn01_file_setup_cleanup", "TLS-ALPN-01 file deployment, setup + cleanup", 2.0),
    ("floor_sha256", "Floor: SHA-256 of the key authorization (†)", None),
    ("floor_p256_keygen_sign", "Floor: P-256 key generation + one signature (†)", None),
    ("floor_spawn_blocking_x2", "Floor: two tokio spawn_blocking hand-offs (‡)", None),
]

FOOTNOTES = [
    "(*) acmeow has no key-authorization parser; its column times `get_key_authorization`, a"
    " plain string join without validation, so that row has no target.",
    "(†) The primitive alone, without the challenge code around it: ring on the acmebox side,"
    " hashlib / cryptography (OpenSSL) on the acmeow side.",
    "(‡) What the async file handlers pay to run their blocking file work off the executor"
    " (once in setup, once in cleanup), with no file work; acmeow's handlers are synchronous.",
]


def criterion_median_ns(criterion_dir: Path, bench_id: str, newer_than: float) -> float | None:
    estimates = criterion_dir / bench_id / "new" / "estimates.json"
    if not estimates.exists() or estimates.stat().st_mtime < newer_than:
        return None  # not run this time (or never): do not report a stale figure
    return json.loads(estimates.read_text())["median"]["point_estimate"]


def rows(criterion_dir: Path, acmeow: dict, newer_than: float) -> list[dict]:
    out = []
    for bench_id, label, target in OPERATIONS:
        ours_ns = criterion_median_ns(criterion_dir, bench_id, newer_than)
        theirs = acmeow["results"].get(bench_id)
        theirs_ns = theirs["median_ns"] if theirs else None
        ratio = theirs_ns / ours_ns if ours_ns and theirs_ns else None
        if target is None:
            verdict = "-"
        elif ratio is None:
            verdict = "not run"
        else:
            verdict = "PASS" if ratio >= target else "MISS"
        out.append(
            {
                "id": bench_id,
                "label": label,
                "ours_ns": ours_ns,
                "theirs_ns": theirs_ns,
                "ratio": ratio,
                "target": target,
                "verdict": verdict,
            }
        )
    return out


def cells(row: dict) -> list[str]:
    def ops(ns: float | None) -> str:
        return f"{1e9 / ns:,.0f}" if ns else "n/a"

    def time(ns: float | None) -> str:
        if not ns:
            return "n/a"
        return f"{ns / 1000:,.1f} µs" if ns >= 1000 else f"{ns:,.0f} ns"

    return [
        row["label"],
        ops(row["ours_ns"]),
        time(row["ours_ns"]),
        ops(row["theirs_ns"]),
        time(row["theirs_ns"]),
        ratio_text(row["ratio"]),
        f"≥ {row['target']:g}×" if row["target"] else "-",
        row["verdict"],
    ]


def ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "n/a"
    # Two significant digits below 1, so that a 200-fold slowdown does not read as 0.0×.
    return f"{ratio:,.1f}×" if ratio >= 1 else f"{ratio:.2g}×"


HEADER = [
    "Operation",
    "acmebox ops/s",
    "acmebox median",
    "acmeow ops/s",
    "acmeow median",
    "acmebox/acmeow",
    "Target",
    "Verdict",
]


def text_table(table: list[dict]) -> str:
    lines = [HEADER] + [cells(r) for r in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out) + "\n\n" + "\n".join(FOOTNOTES) + "\n"


def markdown_table(table: list[dict]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 7) + "|"]
    for row in table:
        c = cells(row)
        if c[-1] in ("PASS", "MISS"):
            c[-1] = f"**{c[-1]}**"
        out.append("| " + " | ".join(c) + " |")
    return "\n".join(out) + "\n\n" + "\n\n".join(FOOTNOTES) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--criterion-dir", type=Path, required=True)
    parser.add_argument("--acmeow-json", type=Path, required=True)
    parser.add_argument(
        "--newer-than", type=Path, help="ignore criterion estimates older than this file"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args()

    acmeow = json.loads(args.acmeow_json.read_text())
    newer_than = args.newer_than.stat().st_mtime if args.newer_than else 0.0
    table = rows(args.criterion_dir, acmeow, newer_than)

    print(text_table(table), end="")
    if args.markdown:
        args.markdown.write_text(markdown_table(table), encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    misses = [r["label"] for r in table if r["verdict"] == "MISS"]
    if misses:
        print("\nmissed targets: " + "; ".join(misses), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
