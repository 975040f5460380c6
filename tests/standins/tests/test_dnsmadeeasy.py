"""The DNS Made Easy stand-in, checked with octodns-dnsmadeeasy's client (DNS Made Easy publishes
no Python client of its own)."""

import time
import urllib.request

import pytest
import requests
from octodns_dnsmadeeasy import (
    DnsMadeEasyClient,
    DnsMadeEasyClientBadRequest,
    DnsMadeEasyClientNotFound,
    DnsMadeEasyClientUnauthorized,
)

from standins.dnsmadeeasy import published_hmac

API_KEY = "5e1d7a0c-standin-4b2f-9c3e-apikey000001"
SECRET = "a4c1f0e2-standin-4d7b-8e9f-secret000001"
OPTIONS = {"api_key": API_KEY, "api_secret": SECRET}
ZONE = "example.test."


def client(server, secret: str = SECRET) -> DnsMadeEasyClient:
    api = DnsMadeEasyClient(API_KEY, secret)
    api._base = server.origin + "/V2.0/dns/managed"
    return api


def test_the_published_client_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("dnsmadeeasy", **OPTIONS)
    api = client(server)
    zone_id = api.domains[ZONE]
    domain = api._request("GET", "/name", params={"domainname": "example.test"}).json()
    assert domain["id"] == zone_id and domain["name"] == "example.test"

    sub = f"_acme-challenge.{label}"
    created = api._request("POST", f"/{zone_id}/records", data={
        "name": sub, "type": "TXT", "value": '"value-one"', "gtdLocation": "DEFAULT", "ttl": 60})
    assert created.status_code == 201
    assert created.json()["value"] == '"value-one"'
    api.record_multi_create(ZONE, [{"name": sub, "type": "TXT", "value": "value-two", "ttl": 60}])

    mine = [r for r in api.records(ZONE) if r["name"] == sub]
    assert sorted(r["value"] for r in mine) == ['"value-one"', '"value-two"']
    assert {r["sourceId"] for r in mine} == {zone_id}
    listed = api._request("GET", f"/{zone_id}/records",
                          params={"recordName": sub, "type": "TXT"}).json()
    assert listed["totalRecords"] == 2

    with pytest.raises(DnsMadeEasyClientBadRequest, match="already exists"):
        api._request("POST", f"/{zone_id}/records",
                     data={"name": sub, "type": "TXT", "value": "value-one", "ttl": 60})

    api._request("DELETE", f"/{zone_id}/records/{created.json()['id']}")
    api.record_multi_delete(ZONE, [r["id"] for r in mine if r["value"] == '"value-two"'])
    assert [r for r in api.records(ZONE) if r["name"] == sub] == []
    with pytest.raises(DnsMadeEasyClientNotFound):
        api._request("DELETE", f"/{zone_id}/records/{created.json()['id']}")


def test_an_unknown_domain_is_not_found(standin):
    server = standin("dnsmadeeasy", **OPTIONS)
    with pytest.raises(DnsMadeEasyClientNotFound):
        client(server)._request("GET", "/name", params={"domainname": "no-such-zone.test"})


def signed_get(server, date: str, mac: str) -> requests.Response:
    return requests.get(server.origin + "/V2.0/dns/managed/", timeout=10, headers={
        "x-dnsme-apiKey": API_KEY, "x-dnsme-requestDate": date, "x-dnsme-hmac": mac})


def test_a_wrong_secret_is_refused(standin):
    server = standin("dnsmadeeasy", **OPTIONS)
    with pytest.raises(DnsMadeEasyClientUnauthorized):
        client(server, secret="not-the-secret").domains
    now = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
    refused = signed_get(server, now, published_hmac(API_KEY, "not-the-secret", now))
    assert refused.status_code == 403
    assert refused.json() == {"error": ["Unable to verify HMAC"]}
    accepted = signed_get(server, now, published_hmac(API_KEY, SECRET, now))
    assert accepted.status_code == 200


def test_a_stale_request_date_is_refused(standin, monkeypatch):
    server = standin("dnsmadeeasy", **OPTIONS)
    api = client(server)
    hour_ago = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(time.time() - 3600))
    monkeypatch.setattr(api, "_current_time", lambda: hour_ago)
    with pytest.raises(DnsMadeEasyClientUnauthorized):
        api.domains
    refused = signed_get(server, hour_ago, published_hmac(API_KEY, SECRET, hour_ago))
    assert refused.status_code == 403
    [message] = refused.json()["error"]
    assert message.startswith("Request sent with date header too far out of sync.")


def test_rate_limits(standin):
    server = standin("dnsmadeeasy", request_limit="2", **OPTIONS)
    api = client(server)
    first = api._request("GET", "/")
    assert first.headers["x-dnsme-requestLimit"] == "2"
    assert first.headers["x-dnsme-requestsRemaining"] == "1"
    api._request("GET", "/")
    with pytest.raises(DnsMadeEasyClientBadRequest, match="Rate limit exceeded"):
        api._request("GET", "/")

    server = standin("dnsmadeeasy", **OPTIONS)
    urllib.request.urlopen(urllib.request.Request(
        server.origin + "/__standin__/fault", data=b'{"status":429,"retry_after":7}', method="POST",
        headers={"Content-Type": "application/json"}))
    with pytest.raises(requests.HTTPError) as e:
        client(server)._request("GET", "/")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"
    assert e.value.response.json() == {"error": ["Rate limit exceeded"]}


def test_the_published_client_signs_the_vectors():
    """The vectors of the SDK's unit tests (`auth::dnsmadeeasy`): the example of DNS Made Easy's
    API documentation and `octodns_vector`, computed by octodns-dnsmadeeasy's own code."""
    documented = published_hmac("1c1a3c91-4770-4ce7-96f4-54c0eb0e457a",
                                "c9b5625f-9834-4ff8-baba-4ed5f32cae55",
                                "Sat, 12 Feb 2011 20:59:04 GMT")
    assert documented == "b3502e6116a324f3cf4a8ed693d78bcee8d8fe3c"
    computed = published_hmac(API_KEY, "dme-vector-secret-7c1f", "Sun, 01 Mar 2026 12:00:00 GMT")
    assert computed == "aa53905fef403a66849c778b95db76e2ae24c148"
