#!/usr/bin/env python3
"""Record acmeow's DNS-01 and TLS-ALPN-01 outputs as cross-check vectors for acmebox.

acmeow (PyPI) is the reference peer. For ~30 identifiers and key authorizations this script
records, for each row:

* what acmeow's ``CallbackDnsHandler.setup`` hands to its create-record callback (the DNS-01
  record name and TXT value, RFC 8555 §8.4);
* the acmeIdentifier extension (OID 1.3.6.1.5.5.7.1.31, RFC 8737 §3) of the certificate from
  acmeow's ``generate_tls_alpn_certificate``: its raw value bytes (hex), its criticality, and the
  certificate's subjectAltName entries;
* what RFC 8555 / RFC 8737 / RFC 8738 call for, computed here from first principles (hashlib,
  the ``idna`` package with UTS 46 mapping), so that rows where acmeow departs from the RFCs can
  be flagged with ``acmeow_quirk`` and checked against the RFC instead.

The result is written to ``crates/challenge/tests/data/acmeow-vectors.json``; the integration test
``crates/challenge/tests/acmeow_vectors.rs`` replays it against acmebox.

Run it with a Python that has acmeow installed, for example:

    dir=$(mktemp -d) && python3 -m venv "$dir" && "$dir/bin/pip" install acmeow==1.2.0
    "$dir/bin/python" scripts/acmeow-vectors.py           # rewrite the JSON
    "$dir/bin/python" scripts/acmeow-vectors.py --check   # fail if the JSON is stale
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import json
import sys
from importlib.metadata import version
from pathlib import Path

import idna
from acmeow.handlers.dns import CallbackDnsHandler
from acmeow.handlers.tls_alpn import generate_tls_alpn_certificate
from cryptography import x509

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "crates" / "challenge" / "tests" / "data" / "acmeow-vectors.json"
ACME_IDENTIFIER_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
ACMEOW_VERSION_WANTED = "1.2.0"

# The identifiers, in the form a caller (or a CA's authorization) would hand them over.
IDENTIFIERS = [
    "example.com",
    "www.example.com",
    "Example.COM",
    "WWW.EXAMPLE.ORG",
    "example.com.",
    "Sub.Example.Net.",
    "*.example.com",
    "*.Example.Org.",
    "*.sub.example.net",
    "bücher.example",
    "BÜCHER.example",
    "*.bücher.example",
    "xn--bcher-kva.example",
    "münchen.test",
    "straße.example",
    "日本語.example",
    "a-b.c1.example",
    "deep.nested.sub.domain.example.com",
    "a" * 63 + ".example",
    "x1.acmebox.test",
    "x2.acmebox.test",
    "mail.example.net",
    "api-v2.example.org",
    "0day.example",
    "host-42.internal.example.com",
    "192.0.2.1",
    "2001:db8::1",
    "203.0.113.77",
]

# A fixed key authorization also used by the library's own unit tests.
KNOWN_KEY_AUTHORIZATION = (
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
)

NOTES = [
    "Inputs are passed to acmeow verbatim: identifier as `domain`, key_authorization as is.",
    "acmeow.dns01.record_name is what CallbackDnsHandler.setup passes to its create callback;"
    " acmeow writes names without a trailing dot, so compare absolute names:"
    " append '.' when it is missing.",
    "tls_alpn01.acme_identifier_hex is the raw extnValue of extension 1.3.6.1.5.5.7.1.31,"
    " that is the DER OCTET STRING 04 20 || SHA-256(key authorization).",
    "rfc holds what RFC 8555 §8.4, RFC 8737 §3 and RFC 8738 call for, computed by this script"
    " (hashlib; idna package with UTS 46 mapping); rows where acmeow differs carry acmeow_quirk"
    " and are checked against rfc instead of acmeow.",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="JSON file to write")
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare with the existing file instead of writing it; exit 1 if it differs",
    )
    args = parser.parse_args()

    acmeow_version = version("acmeow")
    if acmeow_version != ACMEOW_VERSION_WANTED:
        print(
            f"warning: acmeow {acmeow_version} is installed; the vectors are meant for"
            f" {ACMEOW_VERSION_WANTED}",
            file=sys.stderr,
        )

    document = {
        "description": "acmeow's DNS-01 and TLS-ALPN-01 outputs, cross-checked by"
        " crates/challenge/tests/acmeow_vectors.rs; regenerate with scripts/acmeow-vectors.py",
        "acmeow_version": acmeow_version,
        "cryptography_version": version("cryptography"),
        "notes": NOTES,
        "vectors": [vector(i, identifier) for i, identifier in enumerate(IDENTIFIERS)],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: rerun scripts/acmeow-vectors.py", file=sys.stderr)
            return 1
        print(f"{args.output} matches acmeow {acmeow_version}")
        return 0

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    quirks = sum(
        1
        for v in document["vectors"]
        for part in ("dns01", "tls_alpn01")
        if "acmeow_quirk" in v["acmeow"][part]
    )
    print(f"wrote {len(IDENTIFIERS)} vectors ({quirks} acmeow quirks flagged) to {args.output}")
    return 0


def vector(index: int, identifier: str) -> dict:
    key_authorization = KNOWN_KEY_AUTHORIZATION if index == 0 else derived_key_authorization(index)
    acmeow_dns = acmeow_dns01(identifier, key_authorization)
    acmeow_tls = acmeow_tls_alpn01(identifier, key_authorization)
    rfc_dns = rfc_dns01(identifier, key_authorization)
    rfc_tls = rfc_tls_alpn01(identifier, key_authorization)

    dns_quirk = dns01_quirk(identifier, acmeow_dns, rfc_dns)
    if dns_quirk:
        acmeow_dns["acmeow_quirk"] = dns_quirk
    tls_quirk = tls_alpn01_quirk(identifier, acmeow_tls, rfc_tls)
    if tls_quirk:
        acmeow_tls["acmeow_quirk"] = tls_quirk

    return {
        "identifier": identifier,
        "key_authorization": key_authorization,
        "acmeow": {"dns01": acmeow_dns, "tls_alpn01": acmeow_tls},
        "rfc": {"dns01": rfc_dns, "tls_alpn01": rfc_tls},
    }


def derived_key_authorization(index: int) -> str:
    """A deterministic `token.thumbprint`, both parts 43 base64url characters."""
    token = b64url(hashlib.sha256(f"acmebox vector token {index}".encode()).digest())
    thumbprint = b64url(hashlib.sha256(f"acmebox vector thumbprint {index}".encode()).digest())
    return f"{token}.{thumbprint}"


# --- acmeow's side -------------------------------------------------------------------------


def acmeow_dns01(identifier: str, key_authorization: str) -> dict:
    created: list[tuple[str, str, str]] = []
    handler = CallbackDnsHandler(
        create_record=lambda domain, name, value: created.append((domain, name, value)),
        delete_record=lambda domain, name: None,
        propagation_delay=0,
    )
    token = key_authorization.split(".", 1)[0]
    try:
        handler.setup(identifier, token, key_authorization)
    except Exception as err:  # noqa: BLE001 - any refusal is an outcome worth recording
        return {"error": f"{type(err).__name__}: {err}"}
    if len(created) != 1:
        return {"error": f"create callback called {len(created)} times"}
    _, name, value = created[0]
    return {"record_name": name, "record_value": value}


def acmeow_tls_alpn01(identifier: str, key_authorization: str) -> dict:
    try:
        cert_pem, _key_pem = generate_tls_alpn_certificate(identifier, key_authorization)
    except Exception as err:  # noqa: BLE001 - any refusal is an outcome worth recording
        return {"error": f"{type(err).__name__}: {err}"}
    cert = x509.load_pem_x509_certificate(cert_pem)
    extension = cert.extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {
        "acme_identifier_hex": extension.value.value.hex(),
        "critical": extension.critical,
        "subject_alt_names": [general_name(name) for name in san],
    }


def general_name(name: x509.GeneralName) -> dict:
    if isinstance(name, x509.DNSName):
        return {"dns": name.value}
    if isinstance(name, x509.IPAddress):
        return {"ip": str(name.value)}
    return {"other": repr(name)}


# --- what the RFCs call for ----------------------------------------------------------------


def rfc_dns01(identifier: str, key_authorization: str) -> dict:
    if ip_address(identifier):
        return {"refused": "RFC 8738 §7: dns-01 must not be used for IP identifiers"}
    base = normalized_name(identifier.removeprefix("*."))
    return {
        "record_name": f"_acme-challenge.{base}.",
        "record_value": b64url(sha256(key_authorization)),
    }


def rfc_tls_alpn01(identifier: str, key_authorization: str) -> dict:
    if identifier.startswith("*."):
        return {
            "refused": "tls-alpn-01 validates one concrete name; wildcard authorizations are"
            " validated with dns-01 only"
        }
    ip = ip_address(identifier)
    san = {"ip": str(ip)} if ip else {"dns": normalized_name(identifier)}
    return {
        "acme_identifier_hex": "0420" + sha256(key_authorization).hex(),
        "critical": True,
        "subject_alt_names": [san],
    }


def normalized_name(name: str) -> str:
    """RFC 8555 §7.1.4 / RFC 5890: A-labels, lower case, no trailing dot."""
    return idna.encode(name.removesuffix("."), uts46=True).decode("ascii").lower()


# --- where acmeow departs from them ---------------------------------------------------------


def dns01_quirk(identifier: str, got: dict, rfc: dict) -> str | None:
    if "refused" in rfc:
        if "error" in got:
            return None
        return (
            "acmeow builds a DNS-01 record for an IP address; RFC 8738 §7 forbids dns-01 for IP"
            " identifiers (acmebox refuses)"
        )
    if "error" in got:
        return f"acmeow fails: {got['error']}"
    reasons = []
    absolute = got["record_name"] if got["record_name"].endswith(".") else got["record_name"] + "."
    if absolute != rfc["record_name"]:
        base = identifier.removeprefix("*.")
        if identifier.startswith("*."):
            reasons.append(
                "the handler keeps '*.' in the record name; RFC 8555 §8.4 validates the base"
                " domain, so the record belongs at _acme-challenge.<base> (acmeow's client strips"
                " '*.' before calling the handler, the handler itself does not)"
            )
        if not base.isascii():
            reasons.append(
                "the record name keeps the Unicode (U-label) form; DNS and RFC 8555 §7.1.4"
                " identifiers use the A-label (xn--) form"
            )
        elif base.lower() != base:
            reasons.append(
                "the record name keeps the caller's letter case; DNS names compare"
                " case-insensitively (RFC 4343) so it still resolves, but acmebox normalises to"
                " lower case"
            )
        if not reasons:
            reasons.append(f"record name differs from RFC 8555 §8.4 ({rfc['record_name']})")
    if got["record_value"] != rfc["record_value"]:
        reasons.append("the TXT value differs from base64url(SHA-256(key authorization))")
    return "; ".join(reasons) or None


def tls_alpn01_quirk(identifier: str, got: dict, rfc: dict) -> str | None:
    if "refused" in rfc:
        if "error" in got:
            return None
        return (
            "acmeow issues a TLS-ALPN-01 certificate for a wildcard name; tls-alpn-01 cannot"
            " validate wildcard identifiers (acmebox refuses the challenge)"
        )
    if "error" in got:
        reason = f"acmeow fails: {got['error']}"
        if len(identifier) > 64 and identifier.isascii():
            reason += (
                " (it puts the name in the subject commonName, which RFC 5280 bounds at 64"
                " characters; RFC 8737 §3 needs only the subjectAltName, and DNS names may be"
                " 253 characters long)"
            )
        elif not identifier.isascii():
            reason += (
                " (it passes the U-label to cryptography; RFC 8737 §3 wants the dNSName being"
                " validated, which is the A-label form)"
            )
        return reason
    reasons = []
    if got["acme_identifier_hex"] != rfc["acme_identifier_hex"]:
        reasons.append("acmeIdentifier value differs from 04 20 || SHA-256(key authorization)")
    if not got["critical"]:
        reasons.append("acmeIdentifier is not critical (RFC 8737 §3 requires critical)")
    if got["subject_alt_names"] != rfc["subject_alt_names"]:
        if "ip" in rfc["subject_alt_names"][0]:
            reasons.append(
                "the IP address is put in a dNSName subjectAltName; RFC 8738 §6 requires an"
                " iPAddress subjectAltName"
            )
        else:
            if identifier.endswith("."):
                reasons.append(
                    "the dNSName keeps the trailing dot, which the preferred name syntax"
                    " required by RFC 5280 §4.2.1.6 does not allow"
                )
            if identifier.lower() != identifier:
                reasons.append(
                    "the dNSName keeps the caller's letter case (names compare"
                    " case-insensitively, so validation still works; acmebox writes lower case)"
                )
            if not reasons:
                reasons.append(f"subjectAltName differs from {rfc['subject_alt_names']}")
    return "; ".join(reasons) or None


# --- helpers --------------------------------------------------------------------------------


def ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.removeprefix("[").removesuffix("]"))
    except ValueError:
        return None


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


if __name__ == "__main__":
    sys.exit(main())
