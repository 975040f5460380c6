"""The Hetzner stand-in, checked with Hetzner's official Python client, hcloud."""

import pytest
from hcloud import APIException, Client
from hcloud.zones import ZoneRecord, ZoneRRSet

TOKEN = "hcloud-standin-token-0123456789abcdef"


def client_for(server, token=TOKEN) -> Client:
    return Client(token=token, api_endpoint=f"{server.origin}/v1", poll_interval=0.05)


def test_hcloud_adds_lists_and_removes_a_txt_record(standin, label):
    server = standin("hetzner", token=TOKEN)
    client = client_for(server)
    zone = client.zones.get("example.test")
    assert (zone.name, zone.mode) == ("example.test", "primary")

    name = f"_acme-challenge.{label}"
    rrset = ZoneRRSet(zone=zone, name=name, type="TXT")
    client.zones.add_rrset_records(
        rrset, records=[ZoneRecord(value='"value-one"', comment="first")], ttl=60
    ).wait_until_finished()
    client.zones.add_rrset_records(
        rrset, records=[ZoneRecord(value='"value-two"')]
    ).wait_until_finished()

    listed = client.zones.get_rrset_all(zone, name=name, type=["TXT"])
    assert len(listed) == 1
    assert sorted(r.value for r in listed[0].records) == ['"value-one"', '"value-two"']
    assert listed[0].ttl == 60
    fetched = client.zones.get_rrset(zone, name, "TXT")
    assert fetched.id == f"{name}/TXT"

    client.zones.remove_rrset_records(
        rrset, records=[ZoneRecord(value='"value-one"')]
    ).wait_until_finished()
    assert [r.value for r in client.zones.get_rrset(zone, name, "TXT").records] == ['"value-two"']
    client.zones.remove_rrset_records(
        rrset, records=[ZoneRecord(value='"value-two"')]
    ).wait_until_finished()
    # An RRSet left empty is deleted.
    assert client.zones.get_rrset_all(zone, name=name) == []


def test_hcloud_sees_the_documented_errors(standin, label):
    server = standin("hetzner", token=TOKEN)
    with pytest.raises(APIException) as e:
        client_for(server, token="wrong-token").zones.get("example.test")
    assert e.value.code == "unauthorized"

    client = client_for(server)
    with pytest.raises(APIException) as e:
        client.zones.get("no-such-zone.test")
    assert e.value.code == "not_found"

    zone = client.zones.get("example.test")
    rrset = ZoneRRSet(zone=zone, name=f"_acme-challenge.{label}", type="TXT")
    with pytest.raises(APIException) as e:
        client.zones.add_rrset_records(rrset, records=[ZoneRecord(value="unquoted")])
    assert e.value.code == "invalid_input"
