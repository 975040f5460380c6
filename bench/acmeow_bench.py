#!/usr/bin/env python3
"""Time acmeow on the operations `crates/challenge/benches/challenge.rs` times for acmebox.

Each operation is run with timeit: the loop count is picked so one repeat lasts at least
--min-time seconds, the repeat is done --repeats times, and the median and best time per
operation are reported, with ops/s from the median (criterion's figure is a median too).
Prints one JSON object on stdout. Run it with a Python that has acmeow 1.2.0 installed;
bench/run.sh makes a throw-away venv for that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import platform
import statistics
import sys
import tempfile
import timeit
from importlib.metadata import version
from pathlib import Path

from acmeow._internal.crypto import get_key_authorization
from acmeow.handlers.dns import CallbackDnsHandler
from acmeow.handlers.http import FileHttpHandler
from acmeow.handlers.tls_alpn import FileTlsAlpnHandler, generate_tls_alpn_certificate
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# The same inputs as the Rust bench.
DOMAIN = "www.example.com"
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
KEY_AUTHORIZATION = f"{TOKEN}.{THUMBPRINT}"
# About the size of a challenge certificate's to-be-signed part.
TBS_LEN = 300


def operations(workdir: Path) -> dict[str, tuple[str, object]]:
    """name -> (what is measured on the acmeow side, zero-argument callable)."""
    record_value = CallbackDnsHandler._compute_record_value
    record_name = CallbackDnsHandler._get_record_name
    key = ec.generate_private_key(ec.SECP256R1())
    http = FileHttpHandler(workdir / "webroot")
    tls = FileTlsAlpnHandler(workdir / "certs")

    def dns01_record() -> tuple[str, str]:
        return record_name(DOMAIN), record_value(KEY_AUTHORIZATION)

    def http01_file() -> None:
        http.setup(DOMAIN, TOKEN, KEY_AUTHORIZATION)
        http.cleanup(DOMAIN, TOKEN)

    ka_bytes = KEY_AUTHORIZATION.encode()
    tbs = b"\x5a" * TBS_LEN

    def p256_keygen_sign() -> bytes:
        return ec.generate_private_key(ec.SECP256R1()).sign(tbs, ec.ECDSA(hashes.SHA256()))

    def tls_alpn01_file() -> None:
        tls.setup(DOMAIN, TOKEN, KEY_AUTHORIZATION)
        tls.cleanup(DOMAIN, TOKEN)

    return {
        "dns01_value": (
            "CallbackDnsHandler._compute_record_value(key_authorization)",
            lambda: record_value(KEY_AUTHORIZATION),
        ),
        "dns01_record": (
            "CallbackDnsHandler._get_record_name(domain) + _compute_record_value(ka)"
            " (no normalisation)",
            dns01_record,
        ),
        "key_authorization_parse": (
            "get_key_authorization(token, thumbprint): acmeow has no parser, this string join"
            " (no validation) is its closest operation",
            lambda: get_key_authorization(TOKEN, THUMBPRINT),
        ),
        "tls_alpn01_fresh_p256": (
            "generate_tls_alpn_certificate(domain, ka): new P-256 key, cert and key PEM",
            lambda: generate_tls_alpn_certificate(DOMAIN, KEY_AUTHORIZATION),
        ),
        "tls_alpn01_reused_p256": (
            "generate_tls_alpn_certificate(domain, ka, key=key): cert and key PEM",
            lambda: generate_tls_alpn_certificate(DOMAIN, KEY_AUTHORIZATION, key=key),
        ),
        "http01_file_setup_cleanup": (
            "FileHttpHandler.setup + cleanup in a temp dir",
            http01_file,
        ),
        "tls_alpn01_file_setup_cleanup": (
            "FileTlsAlpnHandler.setup + cleanup in a temp dir (new P-256 key each time)",
            tls_alpn01_file,
        ),
        "floor_sha256": (
            "hashlib.sha256(key_authorization).digest(): the hash alone (OpenSSL)",
            lambda: hashlib.sha256(ka_bytes).digest(),
        ),
        "floor_p256_keygen_sign": (
            "ec.generate_private_key(SECP256R1()).sign(300 bytes, ECDSA(SHA256())) (OpenSSL)",
            p256_keygen_sign,
        ),
    }


def measure(func, repeats: int, min_time: float) -> dict:
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= min_time:
            break
        number *= 2
    times = [elapsed] + timer.repeat(repeat=repeats - 1, number=number)
    per_op_ns = sorted(t / number * 1e9 for t in times)
    median = statistics.median(per_op_ns)
    return {
        "median_ns": median,
        "best_ns": per_op_ns[0],
        "ops_per_sec": 1e9 / median,
        "loops": number,
        "repeats": repeats,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timeit repeats per operation")
    parser.add_argument(
        "--min-time", type=float, default=0.2, help="least seconds one repeat should last"
    )
    parser.add_argument("--only", action="append", help="measure only this operation")
    args = parser.parse_args()

    # acmeow's handlers log at INFO; keep logging configured as an application would (WARNING).
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory(prefix="acmeow-bench-") as tmp:
        ops = operations(Path(tmp))
        results = {}
        for name, (what, func) in ops.items():
            if args.only and name not in args.only:
                continue
            results[name] = {"what": what, **measure(func, args.repeats, args.min_time)}
            print(f"acmeow {name}: {results[name]['median_ns']:.0f} ns/op", file=sys.stderr)

    json.dump(
        {
            "acmeow_version": version("acmeow"),
            "cryptography_version": version("cryptography"),
            "python": platform.python_version(),
            "results": results,
        },
        sys.stdout,
        indent=2,
    )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
