"""The OVHcloud stand-in, checked with OVHcloud's official Python client, ``ovh``."""

import urllib.request

import ovh
import pytest
from ovh.exceptions import APIError, BadParametersError, NotCredential, ResourceNotFoundError

from standins.ovh import official_signature

AK = "standinAppKey001"
AS = "standin_application_secret_9f2c4e71"
CK = "standin_consumer_key_51d0a8c3e6b7"
OPTIONS = {"application_key": AK, "application_secret": AS, "consumer_key": CK}


@pytest.fixture
def endpoint(monkeypatch):
    """``endpoint(server)``: an endpoint name for ``ovh.Client`` that points at ``server``. The
    client takes only names from its ``ENDPOINTS`` table, so the test adds one."""

    def add(server) -> str:
        monkeypatch.setitem(ovh.client.ENDPOINTS, "standin", server.origin + "/1.0")
        return "standin"

    return add


def client(name: str, secret: str = AS, consumer: str = CK) -> ovh.Client:
    return ovh.Client(endpoint=name, application_key=AK, application_secret=secret,
                      consumer_key=consumer)


def test_the_official_client_creates_lists_and_deletes_a_txt_record(standin, endpoint, label):
    server = standin("ovh", **OPTIONS)
    api = client(endpoint(server))
    assert api.get("/domain/zone/example.test")["name"] == "example.test"

    sub = f"_acme-challenge.{label}"
    created = api.post("/domain/zone/example.test/record", fieldType="TXT", subDomain=sub,
                       target="value-one", ttl=60)
    assert created["subDomain"] == sub
    api.post("/domain/zone/example.test/refresh")

    ids = api.get("/domain/zone/example.test/record", fieldType="TXT", subDomain=sub)
    assert ids == [created["id"]]
    record = api.get(f"/domain/zone/example.test/record/{created['id']}")
    assert record["target"].strip('"') == "value-one"
    assert record["fieldType"] == "TXT"

    assert api.delete(f"/domain/zone/example.test/record/{created['id']}") is None
    assert api.get("/domain/zone/example.test/record", fieldType="TXT", subDomain=sub) == []


def test_a_wrong_application_secret_is_an_invalid_signature(standin, endpoint):
    server = standin("ovh", **OPTIONS)
    with pytest.raises(BadParametersError) as e:
        client(endpoint(server), secret="not_the_secret").get("/domain/zone/example.test")
    assert e.value.response.status_code == 400
    assert e.value.response.json() == {"errorCode": "INVALID_SIGNATURE",
                                       "httpCode": "400 Bad Request",
                                       "message": "Invalid signature"}


def test_a_stale_timestamp_is_refused(standin, endpoint):
    server = standin("ovh", **OPTIONS)
    api = client(endpoint(server))
    api._time_delta = -3600  # the client then signs with a clock an hour slow
    with pytest.raises(BadParametersError) as e:
        api.get("/domain/zone/example.test")
    assert e.value.response.json()["errorCode"] == "QUERY_TIME_DELTA_TOO_HIGH"


def test_an_unknown_consumer_key_and_an_unknown_zone(standin, endpoint):
    server = standin("ovh", **OPTIONS)
    with pytest.raises(NotCredential) as e:
        client(endpoint(server), consumer="someone_elses_key").get("/domain/zone/example.test")
    assert e.value.response.status_code == 403
    assert e.value.response.json()["message"] == "This credential does not exist"

    with pytest.raises(ResourceNotFoundError):
        client(endpoint(server)).get("/domain/zone/no-such-zone.test")


def test_rate_limit_carries_retry_after(standin, endpoint):
    server = standin("ovh", **OPTIONS)
    api = client(endpoint(server))
    assert isinstance(api.time_delta, int)  # /auth/time is read before the fault
    urllib.request.urlopen(urllib.request.Request(
        server.origin + "/__standin__/fault", data=b'{"status":429,"retry_after":7}', method="POST",
        headers={"Content-Type": "application/json"}))
    with pytest.raises(APIError) as e:
        api.get("/domain/zone/example.test")
    assert e.value.response.status_code == 429
    assert e.value.response.headers["Retry-After"] == "7"


def test_the_official_client_signs_the_vector():
    """The vector of the SDK's unit test (`auth::ovh`, `body_is_signed_as_sent`), and the
    example of OVHcloud's "First Steps with the API" guide, computed by the official client."""
    secret, consumer = "EXEgWIz07P0HYwtQDs7cNIqCiQaWSuHF", "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1"
    body = b'{"fieldType":"TXT","subDomain":"_acme-challenge","target":"abc","ttl":60}'
    signature, sent = official_signature("https://eu.api.ovh.com", "7kbG7Bk7S9Nt7ZSV", secret,
                                         consumer, "POST", "/1.0/domain/zone/example.com/record",
                                         body, 1366560945)
    assert sent == body
    assert signature == "$1$e49e04adb971acba46bc0a90f75f7c379bf5a52b"
    signature, _ = official_signature("https://eu.api.ovh.com", "7kbG7Bk7S9Nt7ZSV", secret,
                                      consumer, "GET", "/1.0/domain/", b"", 1366560945)
    assert signature == "$1$6a77f43f2871db97a029f1d1d81c4dcd3c6f7265"
