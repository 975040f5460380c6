"""acmeow 1.2.0 ordering a certificate through acmebox.WasmDnsHandler (a sandboxed provider).

usage: issue.py CONFIG PROVIDER DIRECTORY CA_CERT STORAGE DOMAIN DNS_SERVER OUT

Orders DOMAIN and *.DOMAIN from the ACME server at DIRECTORY (its HTTPS checked against the
CA file CA_CERT), the account kept in STORAGE, answering DNS-01 through the provider PROVIDER
of the acmebox config CONFIG, with propagation checked at DNS_SERVER (IP:port, both resolver
and authoritative server). Writes a JSON object to OUT: on success the full chain PEM and the
provider's audit; on failure the exception's class and message (the exit status is 0 either
way: the test judges the outcome).
"""

import json
import sys
from pathlib import Path

import acmeow
import acmebox
from acmeow.models.authorization import Authorization

KNOWN_CHALLENGES = {"dns-01", "http-01", "tls-alpn-01", "dns-persist-01"}


def _known_challenges_only(parse):
    """acmeow 1.2.0 reads a challenge type it does not know as dns-01 (`Challenge.from_dict`),
    so it answers the dns-account-01 challenge Pebble offers beside dns-01 with a dns-01 record
    and the CA looks at another name. The authorizations it parses here keep only the types it
    knows."""

    def from_dict(cls, data, url):
        data = dict(data, challenges=[
            c for c in data.get("challenges", []) if c.get("type") in KNOWN_CHALLENGES
        ])
        return parse(data, url)

    return classmethod(from_dict)


Authorization.from_dict = _known_challenges_only(Authorization.from_dict)


def main() -> None:
    config, provider, directory, ca_cert, storage, domain, dns_server, out = sys.argv[1:]
    handler = acmebox.WasmDnsHandler(
        config, provider, resolvers=[dns_server], authoritative=[dns_server], timeout=30
    )
    # What acmeow users pass where CallbackDnsHandler was.
    assert isinstance(handler, acmeow.ChallengeHandler), "registered as a ChallengeHandler"
    client = acmeow.AcmeClient(
        server_url=directory,
        email="acmeow@example.test",
        storage_path=Path(storage),
        verify_ssl=ca_cert,
    )
    client.create_account(terms_agreed=True)
    client.create_order([acmeow.Identifier.dns(domain), acmeow.Identifier.dns(f"*.{domain}")])
    try:
        client.complete_challenges(handler, challenge_type=acmeow.ChallengeType.DNS)
        client.finalize_order(acmeow.KeyType.EC256)
        fullchain, key = client.get_certificate()
        result = {"fullchain": fullchain, "key": key is not None, "audit": handler.audit()}
    except Exception as err:  # noqa: BLE001: the test reads the class and the message
        result = {
            "error_class": f"{type(err).__module__}.{type(err).__qualname__}",
            "is_provider_error": isinstance(err, acmebox.ProviderError),
            "message": str(err),
            "audit": handler.audit(),
        }
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
