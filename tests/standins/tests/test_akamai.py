"""The Akamai Edge DNS stand-in, checked with Akamai's official Python client: ``requests``
with ``akamai.edgegrid.EdgeGridAuth`` (``edgegrid-python``), the way Akamai's own Python
examples call its APIs."""

import json
import urllib.request

import akamai.edgegrid.edgegrid as edgegrid
import pytest
import requests
from akamai.edgegrid import EdgeGridAuth

from standins.akamai import official_authorization

CLIENT_TOKEN = "akab-standin-client-token-7f3e9a2c1b"
CLIENT_SECRET = "standinClientSecret+4d8b1e6f0a2c9e7b5d3f1a=="
ACCESS_TOKEN = "akab-standin-access-token-2c6e0b8d4f"
OPTIONS = {"client_token": CLIENT_TOKEN, "client_secret": CLIENT_SECRET,
           "access_token": ACCESS_TOKEN}
ZONE = "/config-dns/v2/zones/example.test"


def session(secret: str = CLIENT_SECRET) -> requests.Session:
    s = requests.Session()
    s.auth = EdgeGridAuth(client_token=CLIENT_TOKEN, client_secret=secret,
                          access_token=ACCESS_TOKEN)
    return s


def test_the_official_client_creates_lists_and_deletes_a_txt_record_set(standin, label):
    server = standin("akamai", **OPTIONS)
    api = session()
    zone = api.get(server.origin + ZONE)
    assert zone.status_code == 200
    assert zone.json()["zone"] == "example.test"

    name = f"_acme-challenge.{label}.example.test"
    url = f"{server.origin}{ZONE}/names/{name}/types/TXT"
    assert api.get(url).status_code == 404
    created = api.post(url, json={"name": name, "type": "TXT", "ttl": 60,
                                  "rdata": ['"value-one"']})
    assert created.status_code == 201, created.text
    assert created.json()["rdata"] == ['"value-one"']
    assert api.post(url, json={"name": name, "type": "TXT", "ttl": 60,
                               "rdata": ['"again"']}).status_code == 409

    replaced = api.put(url, json={"name": name, "type": "TXT", "ttl": 60,
                                  "rdata": ['"value-one"', '"value-two"']})
    assert replaced.status_code == 200, replaced.text
    listed = api.get(url).json()
    assert listed == {"name": name, "type": "TXT", "ttl": 60,
                      "rdata": ['"value-one"', '"value-two"']}
    held = urllib.request.urlopen(f"{server.origin}/__standin__/txt?name={name}").read()
    assert json.loads(held) == ["value-one", "value-two"]

    deleted = api.delete(url)
    assert deleted.status_code == 204
    assert api.get(url).status_code == 404
    assert api.delete(url).status_code == 404


def test_a_wrong_client_secret_is_a_signature_mismatch(standin):
    server = standin("akamai", **OPTIONS)
    response = session(secret="bm90LXRoZS1zZWNyZXQ=").get(server.origin + ZONE)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://problems.luna.akamaiapis.net/-/pep-authn/deny"
    assert body["title"] == "Not authorized"
    assert body["detail"] == "The signature does not match"


def test_a_stale_timestamp_is_refused(standin, monkeypatch):
    server = standin("akamai", **OPTIONS)
    # The client then signs with a clock an hour slow.
    monkeypatch.setattr(edgegrid, "eg_timestamp", lambda: "20000101T00:00:00+0000")
    response = session().get(server.origin + ZONE)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "https://problems.luna.akamaiapis.net/-/pep-authn/request-error"
    assert body["detail"] == "Invalid timestamp"


def test_a_replayed_nonce_and_unknown_tokens_are_refused(standin):
    server = standin("akamai", **OPTIONS)
    api = session()
    prepared = api.prepare_request(requests.Request("GET", server.origin + ZONE))
    assert api.send(prepared).status_code == 200
    replay = api.send(prepared)  # the same Authorization, nonce and all
    assert replay.status_code == 401
    assert replay.json()["type"].endswith("/-/pep-authn/deny")

    other = requests.Session()
    other.auth = EdgeGridAuth(client_token="akab-someone-else", client_secret=CLIENT_SECRET,
                              access_token=ACCESS_TOKEN)
    assert other.get(server.origin + ZONE).status_code == 401
    assert requests.get(server.origin + ZONE).status_code == 401


def test_an_unknown_zone_and_the_rate_limit(standin):
    server = standin("akamai", **OPTIONS)
    api = session()
    missing = api.get(server.origin + "/config-dns/v2/zones/no-such-zone.test")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not Found"

    urllib.request.urlopen(urllib.request.Request(
        server.origin + "/__standin__/fault", data=b'{"status":429,"retry_after":7}',
        method="POST", headers={"Content-Type": "application/json"}))
    limited = api.get(server.origin + ZONE)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"


def test_the_official_client_signs_the_vectors():
    """The vectors of the SDK's unit tests (`auth::edgegrid`): the JSON POST of Akamai's
    testdata.json (`jsontest_hash`), and an Edge DNS record set written with POST and PUT
    (`signs_record_set_writes_as_the_official_client_does`), computed by the official client."""
    ct, at = "akab-client-token-xxx-xxxxxxxxxxxxxxxx", "akab-access-token-xxx-xxxxxxxxxxxxxxxx"
    cs = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="
    base = "https://akaa-baseurl-xxxxxxxxxxx-xxxxxxxxxxxxx.luna.akamaiapis.net"
    ts, nonce = "20140321T19:34:21+0000", "nonce-xx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
    prefix = (f"EG1-HMAC-SHA256 client_token={ct};access_token={at};timestamp={ts};"
              f"nonce={nonce};signature=")

    # Through `requests` itself, as the client signs a request it prepares.
    prepared = requests.Request("POST", base + "/testapi/v1/t3", params={"extended": "true"},
                                json={"key": "value"}).prepare()
    auth = EdgeGridAuth(client_token=ct, client_secret=cs, access_token=at)
    assert auth.ah.make_auth_header(prepared, ts, nonce) == (
        prefix + "nONuDe50qGrPius4Rg4D2jfi/2zDZWAYRUG6RudJLNM=")

    url = base + "/config-dns/v2/zones/example.com/names/_acme-challenge.example.com/types/TXT"
    body = b'{"name":"_acme-challenge.example.com","type":"TXT","ttl":60,"rdata":["\\"abc\\""]}'
    headers = {"content-type": "application/json"}
    for method, signature in [("POST", "t5Ip1Yc0vg54/2RtO53PUpDTJ5KyOXXekb00sC5Z0eA="),
                              ("PUT", "ATNs5XvxKQ7NclvNNbn0TlmYm55nROTYPwb9Bpfhk8A=")]:
        got = official_authorization(url, method, headers, body, ct, cs, at, ts, nonce)
        assert got == prefix + signature, method


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_requests_without_a_body_are_verified(standin, label, method):
    server = standin("akamai", **OPTIONS)
    url = f"{server.origin}{ZONE}/names/_acme-challenge.{label}.example.test/types/TXT"
    assert session().request(method, url).status_code == 404
    assert session(secret="wrong").request(method, url).status_code == 401
