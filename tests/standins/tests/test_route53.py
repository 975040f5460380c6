"""The Route 53 stand-in (moto behind a SigV4 check), driven by AWS's official Python SDK, boto3,
and by requests that botocore signs wrongly on purpose."""

import datetime
import urllib.error
import urllib.request

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

ACCESS_KEY = "AKIDSTANDINROUTE53"
SECRET = "standin/Route53+secret0123456789abcdef"


def client(server, secret=SECRET):
    return boto3.client(
        "route53",
        endpoint_url=server.origin,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=secret,
    )


def txt_change(action, name, values, ttl=60):
    return {
        "Action": action,
        "ResourceRecordSet": {
            "Name": name,
            "Type": "TXT",
            "TTL": ttl,
            "ResourceRecords": [{"Value": f'"{v}"'} for v in values],
        },
    }


def zone_id(r53, name="example.test"):
    zones = r53.list_hosted_zones_by_name(DNSName=name, MaxItems="1")["HostedZones"]
    assert zones and zones[0]["Name"] == f"{name}.", zones
    return zones[0]["Id"]


def txt_sets(r53, zone, name):
    sets = r53.list_resource_record_sets(
        HostedZoneId=zone, StartRecordName=name, StartRecordType="TXT", MaxItems="1"
    )["ResourceRecordSets"]
    return [s for s in sets if s["Name"] == f"{name}." and s["Type"] == "TXT"]


def test_boto3_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    r53 = client(server)
    zone = zone_id(r53)
    name = f"_acme-challenge.{label}.example.test"

    change = r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [txt_change("CREATE", name, ["one", "two"])]}
    )["ChangeInfo"]
    assert change["Status"] == "PENDING"
    assert r53.get_change(Id=change["Id"])["ChangeInfo"]["Status"] == "INSYNC"
    [found] = txt_sets(r53, zone, name)
    assert sorted(r["Value"] for r in found["ResourceRecords"]) == ['"one"', '"two"']
    assert sorted(r.content for r in server.store.find(name=name, type="TXT")) == ["one", "two"]

    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [txt_change("DELETE", name, ["one", "two"])]}
    )
    assert txt_sets(r53, zone, name) == []
    assert server.store.find(name=name, type="TXT") == []


def test_a_batch_that_does_not_match_the_set_is_refused(standin, label):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    r53 = client(server)
    zone = zone_id(r53)
    name = f"_acme-challenge.{label}.example.test"
    r53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [txt_change("CREATE", name, ["one"])]}
    )
    for changes in (
        [txt_change("CREATE", name, ["two"])],
        [txt_change("DELETE", name, ["stale"]), txt_change("CREATE", name, ["stale", "two"])],
    ):
        with pytest.raises(ClientError) as e:
            r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": changes})
        assert e.value.response["Error"]["Code"] == "InvalidChangeBatch"
    [found] = txt_sets(r53, zone, name)
    assert [r["Value"] for r in found["ResourceRecords"]] == ['"one"']


def test_unknown_zone_is_no_such_hosted_zone(standin):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    r53 = client(server)
    assert r53.list_hosted_zones_by_name(DNSName="no-such-zone.test")["HostedZones"] == []
    with pytest.raises(ClientError) as e:
        r53.list_resource_record_sets(HostedZoneId="Z0NOSUCHZONE")
    assert e.value.response["Error"]["Code"] == "NoSuchHostedZone"


def test_a_wrong_secret_is_refused(standin):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    with pytest.raises(ClientError) as e:
        client(server, secret="not-the-secret").list_hosted_zones_by_name(DNSName="example.test")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def signed_get(server, path, at=None, secret=SECRET):
    """A GET signed by botocore's SigV4Auth as if at ``at``; returns (status, body)."""
    request = AWSRequest(method="GET", url=f"{server.origin}{path}")
    signer = SigV4Auth(Credentials(ACCESS_KEY, secret), "route53", "us-east-1")
    if at is None:
        signer.add_auth(request)
    else:
        real = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: at
        try:
            signer.add_auth(request)
        finally:
            botocore.auth.get_current_datetime = real
    prepared = request.prepare()
    http = urllib.request.Request(prepared.url, headers=dict(prepared.headers), method="GET")
    try:
        with urllib.request.urlopen(http, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_a_stale_timestamp_is_refused(standin):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    path = "/2013-04-01/hostedzonesbyname?dnsname=example.test"
    status, body = signed_get(server, path)
    assert status == 200, body
    an_hour_ago = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(hours=1)
    status, body = signed_get(server, path, at=an_hour_ago)
    assert status == 403, body
    assert "<Code>SignatureDoesNotMatch</Code>" in body and "Signature expired" in body


def test_an_unknown_access_key_and_a_missing_signature_are_refused(standin):
    server = standin("route53", access_key_id=ACCESS_KEY, secret_access_key=SECRET)
    other = boto3.client("route53", endpoint_url=server.origin, region_name="us-east-1",
                         aws_access_key_id="AKIDSOMEONEELSE", aws_secret_access_key=SECRET)
    with pytest.raises(ClientError) as e:
        other.list_hosted_zones_by_name(DNSName="example.test")
    assert e.value.response["Error"]["Code"] == "InvalidClientTokenId"
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{server.origin}/2013-04-01/hostedzonesbyname", timeout=10)
    assert unsigned.value.code == 403
