"""The Alibaba Cloud DNS stand-in, checked with Alibaba Cloud's official Python SDK
(``aliyun-python-sdk-core`` and ``aliyun-python-sdk-alidns``)."""

import json
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

import pytest
from aliyunsdkalidns.request.v20150109.AddDomainRecordRequest import AddDomainRecordRequest
from aliyunsdkalidns.request.v20150109.DeleteDomainRecordRequest import DeleteDomainRecordRequest
from aliyunsdkalidns.request.v20150109.DescribeDomainRecordsRequest import (
    DescribeDomainRecordsRequest,
)
from aliyunsdkalidns.request.v20150109.DescribeDomainsRequest import DescribeDomainsRequest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.utils import parameter_helper

from standins.alidns import official_signature

AK = "LTAIstandinKeyId0001"
SECRET = "standin-access-key-secret-7c1e9a"
TOKEN = "CAIS+standin/sts-token=="
OPTIONS = {"access_key": AK, "secret_key": SECRET}


def client(server, key: str = AK, secret: str = SECRET, token: str | None = None) -> AcsClient:
    """An ``AcsClient`` for ``server``: plain HTTP on its port, no retries."""
    if token is not None:
        credential = StsTokenCredential(key, secret, token)
        return AcsClient(region_id="cn-hangzhou", port=server.port, auto_retry=False,
                         credential=credential)
    return AcsClient(key, secret, "cn-hangzhou", port=server.port, auto_retry=False)


def call(api: AcsClient, request) -> dict:
    request.set_endpoint("127.0.0.1")
    return json.loads(api.do_action_with_exception(request))


def raw(server, method: str, params: dict[str, str]) -> tuple[int, Message, dict]:
    """Sends ``params`` in the query string as they are (already signed)."""
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in params.items())
    request = urllib.request.Request(f"{server.origin}/?{query}", method=method)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def signed(params: dict[str, str], method: str = "GET") -> dict[str, str]:
    """``params`` with the common parameters, signed by the official SDK (``get_signed_url``)."""
    url, _ = rpc_signature_composer.get_signed_url(dict(params), AK, SECRET, "JSON", method, {})
    return {k: v[0] for k, v in urllib.parse.parse_qs(url[2:], keep_blank_values=True).items()}


def test_the_official_client_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("alidns", **OPTIONS)
    api = client(server)

    domains = DescribeDomainsRequest()
    domains.set_KeyWord("example.test")
    domains.set_SearchMode("EXACT")
    listed = call(api, domains)
    assert [d["DomainName"] for d in listed["Domains"]["Domain"]] == ["example.test"]

    rr = f"_acme-challenge.{label}"
    add = AddDomainRecordRequest()
    add.set_DomainName("example.test")
    add.set_RR(rr)
    add.set_Type("TXT")
    add.set_Value("value one")
    add.set_TTL(600)
    record_id = call(api, add)["RecordId"]

    again = AddDomainRecordRequest()
    for name, value in add.get_query_params().items():
        again.add_query_param(name, value)
    with pytest.raises(ServerException) as e:
        call(api, again)
    assert e.value.get_error_code() == "DomainRecordDuplicate"
    assert e.value.get_http_status() == 400

    records = DescribeDomainRecordsRequest()
    records.set_DomainName("example.test")
    records.set_RRKeyWord(rr)
    records.set_TypeKeyWord("TXT")
    found = call(api, records)["DomainRecords"]["Record"]
    assert [(r["RecordId"], r["RR"], r["Type"], r["Value"]) for r in found] == [
        (record_id, rr, "TXT", "value one")]

    delete = DeleteDomainRecordRequest()
    delete.set_RecordId(record_id)
    assert call(api, delete)["RecordId"] == record_id
    assert call(api, records)["DomainRecords"]["Record"] == []

    gone = DeleteDomainRecordRequest()
    gone.set_RecordId(record_id)
    with pytest.raises(ServerException) as e:
        call(api, gone)
    assert e.value.get_error_code() == "DomainRecordNotBelongToUser"


def test_sts_credentials_carry_their_token(standin):
    server = standin("alidns", security_token=TOKEN, **OPTIONS)
    assert call(client(server, token=TOKEN), DescribeDomainsRequest())["TotalCount"] == 2
    with pytest.raises(ServerException) as e:
        call(client(server, token="CAIS+someone-elses"), DescribeDomainsRequest())
    assert e.value.get_error_code() == "InvalidSecurityToken.Mismatch"
    with pytest.raises(ServerException) as e:
        call(client(server), DescribeDomainsRequest())
    assert e.value.get_error_code() == "MissingSecurityToken"


def test_a_wrong_secret_is_a_signature_mismatch(standin):
    server = standin("alidns", **OPTIONS)
    with pytest.raises(ServerException) as e:
        call(client(server, secret="not-the-secret"), DescribeDomainsRequest())
    assert e.value.get_http_status() == 400
    # The client reads the server's string to sign back from the message; when it equals its
    # own, the secret is what differs, and it says so.
    assert e.value.get_error_code() == "InvalidAccessKeySecret"

    status, _, body = raw(server, "GET", {**signed({"Action": "DescribeDomains",
                                                     "Version": "2015-01-09"}),
                                          "Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    assert status == 400
    assert set(body) >= {"RequestId", "HostId", "Code", "Message"}
    assert body["Code"] == "SignatureDoesNotMatch"
    assert body["Message"].startswith("Specified signature is not matched with our calculation. "
                                      "server string to sign is:GET&%2F&AccessKeyId%3D")


def test_a_stale_timestamp_is_refused(standin, monkeypatch):
    server = standin("alidns", **OPTIONS)
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: "2016-02-23T12:46:24Z")
    with pytest.raises(ServerException) as e:
        call(client(server), DescribeDomainsRequest())
    assert e.value.get_error_code() == "InvalidTimeStamp.Expired"
    assert e.value.get_http_status() == 400


def test_a_replayed_nonce_and_an_unknown_key_are_refused(standin):
    server = standin("alidns", **OPTIONS)
    params = signed({"Action": "DescribeDomains", "Version": "2015-01-09"})
    assert raw(server, "GET", params)[0] == 200
    status, _, body = raw(server, "GET", params)
    assert (status, body["Code"]) == (400, "SignatureNonceUsed")

    with pytest.raises(ServerException) as e:
        call(client(server, key="LTAIsomeoneElse"), DescribeDomainsRequest())
    assert e.value.get_http_status() == 404
    assert e.value.get_error_code() == "InvalidAccessKeyId.NotFound"


def test_an_unknown_zone_and_rate_limits(standin):
    server = standin("alidns", **OPTIONS)
    records = DescribeDomainRecordsRequest()
    records.set_DomainName("no-such-zone.test")
    with pytest.raises(ServerException) as e:
        call(client(server), records)
    assert e.value.get_error_code() == "IncorrectDomainUser"

    urllib.request.urlopen(urllib.request.Request(
        server.origin + "/__standin__/fault", data=b'{"status":429,"retry_after":7}',
        method="POST", headers={"Content-Type": "application/json"}))
    status, headers, body = raw(server, "GET", signed({"Action": "DescribeDomains",
                                                       "Version": "2015-01-09"}))
    assert (status, body["Code"]) == (429, "Throttling.User")
    assert headers.get("Retry-After") == "7"


def test_the_official_sdk_signs_the_vectors():
    """The vectors of the SDK's unit tests (`auth::aliyun`): Alibaba's documented example and
    an Alidns `AddDomainRecord` POST with an STS token, computed by the official SDK."""
    documented = {
        "Timestamp": "2016-02-23T12:46:24Z", "Format": "XML", "AccessKeyId": "testid",
        "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert official_signature("GET", documented, "testsecret")[1] == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
    sts_post = {
        "AccessKeyId": "testid", "Action": "AddDomainRecord", "DomainName": "example.com",
        "Format": "JSON", "RR": "_acme-challenge.www", "SecurityToken": "CAIS+sts/token=",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0", "TTL": "600", "Timestamp": "2016-02-23T12:46:24Z",
        "Type": "TXT", "Value": "a b*c~d", "Version": "2015-01-09",
    }
    assert official_signature("POST", sts_post, "testsecret")[1] == "VCD5LhpFVld/yuUK7uhb2BuyPIA="
