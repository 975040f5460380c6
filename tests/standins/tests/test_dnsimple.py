"""The DNSimple stand-in, checked with DNSimple's official Python client, dnsimple."""

import pytest
from dnsimple import Client, DNSimpleException
from dnsimple.struct import ZoneRecordInput

TOKEN = "dnsimple_a_standin_token_0123456789"


def test_dnsimple_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("dnsimple", token=TOKEN, account="1010")
    client = Client(access_token=TOKEN, base_url=server.origin)
    account = client.identity.whoami().data.account.id
    assert account == 1010
    assert client.zones.get_zone(account, "example.test").data.name == "example.test"

    name = f"_acme-challenge.{label}"
    created = client.zones.create_record(
        account, "example.test", ZoneRecordInput(name=name, type="TXT", content="value-one", ttl=60)
    ).data
    assert (created.name, created.type, created.content) == (name, "TXT", "value-one")

    listed = client.zones.list_records(account, "example.test", filter={"name": name, "type": "TXT"})
    assert [r.content for r in listed.data] == ["value-one"]
    assert listed.pagination.total_entries == 1

    client.zones.delete_record(account, "example.test", created.id)
    listed = client.zones.list_records(account, "example.test", filter={"name": name, "type": "TXT"})
    assert listed.data == []


def test_dnsimple_finds_the_account_of_a_user_token(standin):
    server = standin("dnsimple", token=TOKEN, account="2020", kind="user")
    client = Client(access_token=TOKEN, base_url=server.origin)
    assert client.identity.whoami().data.account is None
    assert [a.id for a in client.accounts.list_accounts().data] == [2020]


def test_dnsimple_sees_the_documented_errors(standin):
    server = standin("dnsimple", token=TOKEN)
    wrong = Client(access_token="dnsimple_a_wrong", base_url=server.origin)
    with pytest.raises(DNSimpleException) as e:
        wrong.identity.whoami()
    assert (e.value.status, e.value.message) == (401, "Authentication failed")

    client = Client(access_token=TOKEN, base_url=server.origin)
    with pytest.raises(DNSimpleException) as e:
        client.zones.get_zone(1010, "no-such-zone.test")
    assert e.value.status == 404
    assert e.value.message == "Zone `no-such-zone.test` not found"
