"""The Google Cloud DNS stand-in, checked with Google's own libraries: google-auth signs the
service account's assertions and google-cloud-dns (Google's official client) drives the API."""

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import crypt
from google.auth import jwt as google_jwt
from google.auth.credentials import AnonymousCredentials
from google.cloud import dns
from google.oauth2 import service_account

KEYS = os.path.join(os.path.dirname(__file__), "..", "keys")
EMAIL = "acmebox-dns@acmebox-test.iam.gserviceaccount.com"
PROJECT = "acmebox-test"
SCOPE = "https://www.googleapis.com/auth/ndev.clouddns.readwrite"


def read(name: str) -> str:
    with open(os.path.join(KEYS, name)) as f:
        return f.read()


@pytest.fixture
def server(standin):
    return standin("gcloud", client_email=EMAIL, public_key=read("gcloud-test-key.pub.pem"))


def key_info(server, private_key: str) -> dict:
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "standin-key-1",
        "private_key": private_key,
        "client_email": EMAIL,
        "client_id": "1",
        "token_uri": f"{server.origin}/token",
    }


def client_for(server) -> dns.Client:
    credentials = service_account.Credentials.from_service_account_info(
        key_info(server, read("gcloud-test-key.pem")), scopes=[SCOPE]
    )
    return dns.Client(project=PROJECT, credentials=credentials,
                      client_options={"api_endpoint": server.origin})


def exchange(server, private_key: str, iat: int, exp: int) -> tuple[int, dict]:
    """Posts an assertion signed with ``private_key`` to the token endpoint."""
    signer = crypt.RSASigner.from_string(private_key, "standin-key-1")
    claims = {"iss": EMAIL, "scope": SCOPE, "aud": f"{server.origin}/token", "iat": iat, "exp": exp}
    assertion = google_jwt.encode(signer, claims).decode()
    form = urllib.parse.urlencode({
        "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": assertion,
    }).encode()
    request = urllib.request.Request(f"{server.origin}/token", data=form, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_google_cloud_dns_creates_lists_and_deletes_a_txt_record(server, label):
    client = client_for(server)
    zones = {z.name: z for z in client.list_zones()}
    zone = zones["example-test"]
    assert zone.dns_name == "example.test."

    name = f"_acme-challenge.{label}.example.test."
    record_set = zone.resource_record_set(name, "TXT", 60, ['"value-one"'])
    changes = zone.changes()
    changes.add_record_set(record_set)
    changes.create()
    for _ in range(10):
        if changes.status == "done":
            break
        changes.reload()
    assert changes.status == "done"

    listed = [r for r in zone.list_resource_record_sets() if r.name == name]
    assert [(r.record_type, r.rrdatas) for r in listed] == [("TXT", ['"value-one"'])]
    assert [r.content for r in server.store.find(name=name, type="TXT")] == ["value-one"]

    changes = zone.changes()
    changes.delete_record_set(record_set)
    changes.create()
    assert [r for r in zone.list_resource_record_sets() if r.name == name] == []


def test_a_stale_deletion_is_a_precondition_failure(server, label):
    zone = client_for(server).zone("example-test", "example.test.")
    name = f"_acme-challenge.{label}.example.test."
    changes = zone.changes()
    changes.delete_record_set(zone.resource_record_set(name, "TXT", 60, ['"never-there"']))
    with pytest.raises(api_exceptions.PreconditionFailed):
        changes.create()


def test_the_api_refuses_requests_without_a_token_it_issued(server):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer ya29.not-issued-here"
    stranger = dns.Client(project=PROJECT, credentials=AnonymousCredentials(), _http=session,
                          client_options={"api_endpoint": server.origin})
    with pytest.raises(api_exceptions.Unauthorized) as e:
        list(stranger.list_zones())
    assert e.value.code == 401


def test_a_fresh_assertion_gets_a_token(server):
    now = int(time.time())
    status, body = exchange(server, read("gcloud-test-key.pem"), now, now + 3600)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["access_token"]


def test_an_assertion_signed_with_another_key_is_refused(server):
    now = int(time.time())
    status, body = exchange(server, read("gcloud-wrong-key.pem"), now, now + 3600)
    assert (status, body) == (400, {"error": "invalid_grant",
                                    "error_description": "Invalid JWT Signature."})


@pytest.mark.parametrize("iat_ago, lifetime", [(7200, 3600), (5000, 5100)],
                         ids=["expired", "issued-too-long-ago"])
def test_a_stale_assertion_is_refused(server, iat_ago, lifetime):
    iat = int(time.time()) - iat_ago
    status, body = exchange(server, read("gcloud-test-key.pem"), iat, iat + lifetime)
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert "iat and exp" in body["error_description"]
