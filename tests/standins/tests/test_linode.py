"""The Linode stand-in, checked with Linode's official Python client, linode_api4."""

import pytest
from linode_api4 import ApiError, Domain, DomainRecord, LinodeClient

TOKEN = "linode-standin-token-0123456789abcdef"


def client(server, token=TOKEN):
    return LinodeClient(token, base_url=f"{server.origin}/v4", retry=False)


def test_linode_api4_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("linode", token=TOKEN)
    linode = client(server)
    domains = linode.domains(Domain.domain == "example.test")
    assert [d.domain for d in domains] == ["example.test"]
    domain = domains[0]

    created = domain.record_create("TXT", name=f"_acme-challenge.{label}", target="value-one",
                                   ttl_sec=45)
    assert created.name == f"_acme-challenge.{label}"
    assert created.ttl_sec == 120, "a TTL is rounded up to the next one Linode accepts"

    mine = [r for r in Domain(linode, domain.id).records if r.name == f"_acme-challenge.{label}"]
    assert [(r.type, r.target) for r in mine] == [("TXT", "value-one")]
    assert server.store.find(name=f"_acme-challenge.{label}.example.test", type="TXT")

    DomainRecord(linode, created.id, domain.id).delete()
    left = [r for r in Domain(linode, domain.id).records if r.name == f"_acme-challenge.{label}"]
    assert left == []


def test_linode_api4_pages_through_domains_and_filters_by_name(standin):
    server = standin("linode", token=TOKEN)
    linode = client(server)
    linode.page_size = 25
    assert sorted(d.domain for d in linode.domains()) == ["delegated.test", "example.test"]
    assert len(linode.domains(Domain.domain == "no-such-zone.test")) == 0


def test_linode_api4_sees_the_documented_errors(standin):
    server = standin("linode", token=TOKEN)
    with pytest.raises(ApiError) as e:
        list(client(server, token="wrong-token").domains())
    assert e.value.status == 401
    assert e.value.errors == ["Invalid Token"]

    with pytest.raises(ApiError) as e:
        Domain(client(server), 999999).records[0]
    assert e.value.status == 404
    assert e.value.errors == ["Not found"]
