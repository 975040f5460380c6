"""The NS1 stand-in, checked with NS1's official Python client, ns1-python."""

import pytest
from ns1 import NS1, Config
from ns1.rest.errors import AuthException, ResourceException

KEY = "ns1_standin_key_0123456789abcdef"


class StandinConfig(Config):
    """ns1-python always builds ``https://`` URLs; the stand-in serves plain HTTP on loopback."""

    def __init__(self, origin: str, key: str) -> None:
        super().__init__()
        self.origin = origin
        self.createFromAPIKey(key)

    def getEndpoint(self) -> str:
        return self.origin


def test_ns1_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("ns1", key=KEY)
    api = NS1(config=StandinConfig(server.origin, KEY))
    zones, records = api.zones(), api.records()
    assert zones.retrieve("example.test", params={"records": "false"})["zone"] == "example.test"

    domain = f"_acme-challenge.{label}.example.test"
    created = records.create("example.test", domain, "TXT", answers=["value-one"], ttl=60)
    assert (created["domain"], created["type"], created["ttl"]) == (domain, "TXT", 60)

    updated = records.update("example.test", domain, "TXT", answers=["value-one", "value-two"])
    assert [a["answer"] for a in updated["answers"]] == [["value-one"], ["value-two"]]

    listed = records.retrieve("example.test", domain, "TXT")
    assert [a["answer"] for a in listed["answers"]] == [["value-one"], ["value-two"]]
    summary = zones.retrieve("example.test")["records"]
    assert {"domain": domain, "type": "TXT"}.items() <= next(
        r for r in summary if r["domain"] == domain
    ).items()

    with pytest.raises(ResourceException) as e:
        records.create("example.test", domain, "TXT", answers=["value-three"])
    assert e.value.message == "server error: record already exists"

    assert records.delete("example.test", domain, "TXT") == {}
    with pytest.raises(ResourceException) as e:
        records.retrieve("example.test", domain, "TXT")
    assert e.value.response.status_code == 404
    assert e.value.message == "server error: record not found"


def test_ns1_sees_the_documented_errors(standin):
    server = standin("ns1", key=KEY)
    wrong = NS1(config=StandinConfig(server.origin, "ns1_wrong_key"))
    with pytest.raises(AuthException) as e:
        wrong.zones().retrieve("example.test")
    assert e.value.response.status_code == 401

    api = NS1(config=StandinConfig(server.origin, KEY))
    with pytest.raises(ResourceException) as e:
        api.zones().retrieve("no-such-zone.test")
    assert e.value.response.status_code == 404
    assert e.value.message == "server error: zone not found"
