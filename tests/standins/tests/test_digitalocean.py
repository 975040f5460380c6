"""The DigitalOcean stand-in, checked with DigitalOcean's official Python client, pydo."""

import pydo
import pytest
from azure.core.exceptions import HttpResponseError

TOKEN = "dop_v1_standin_token_0123456789"
# The stand-in serves plain HTTP on loopback; azure-core (under pydo) refuses bearer tokens
# over http unless told per call.
PLAIN = {"enforce_https": False}


def test_pydo_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("digitalocean", token=TOKEN)
    client = pydo.Client(token=TOKEN, endpoint=server.origin)
    assert client.domains.get(**PLAIN, domain_name="example.test")["domain"]["name"] == "example.test"

    created = client.domains.create_record(**PLAIN, 
        domain_name="example.test",
        body={"type": "TXT", "name": f"_acme-challenge.{label}", "data": "value-one", "ttl": 30},
    )["domain_record"]
    assert created["name"] == f"_acme-challenge.{label}"

    listed = client.domains.list_records(**PLAIN, 
        domain_name="example.test", type="TXT", name=f"_acme-challenge.{label}.example.test"
    )
    assert [r["data"] for r in listed["domain_records"]] == ["value-one"]
    assert listed["meta"]["total"] == 1

    client.domains.delete_record(**PLAIN, domain_name="example.test", domain_record_id=created["id"])
    listed = client.domains.list_records(**PLAIN, 
        domain_name="example.test", type="TXT", name=f"_acme-challenge.{label}.example.test"
    )
    assert listed["domain_records"] == []


def test_pydo_sees_the_documented_errors(standin):
    server = standin("digitalocean", token=TOKEN)
    wrong = pydo.Client(token="dop_v1_wrong", endpoint=server.origin)
    with pytest.raises(HttpResponseError) as e:
        wrong.domains.list_records(**PLAIN, domain_name="example.test")
    assert e.value.status_code == 401

    # pydo hands back the documented error body of a 404 instead of raising.
    client = pydo.Client(token=TOKEN, endpoint=server.origin)
    missing = client.domains.get(**PLAIN, domain_name="no-such-zone.test")
    assert missing["id"] == "not_found", missing
