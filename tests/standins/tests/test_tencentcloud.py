"""The Tencent Cloud DNSPod stand-in, checked with Tencent Cloud's official Python SDK
(``tencentcloud-sdk-python-dnspod`` and ``-common``)."""

import json
import time
import types
import urllib.request

import pytest
from tencentcloud.common import abstract_client, credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.http.request import RequestInternal
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.dnspod.v20210323 import models
from tencentcloud.dnspod.v20210323.dnspod_client import DnspodClient

from standins.tencentcloud import official_signature

SECRET_ID = "AKIDstandinTencentCloud0001"
SECRET_KEY = "standin_tencentcloud_secret_key_7d3e9a"
OPTIONS = {"secret_id": SECRET_ID, "secret_key": SECRET_KEY}


def client(server, secret_id: str = SECRET_ID, secret_key: str = SECRET_KEY,
           token: str | None = None) -> DnspodClient:
    """The official client, over plain http to the stand-in's loopback port."""
    http = HttpProfile(protocol="http", endpoint=f"127.0.0.1:{server.port}", reqMethod="POST")
    return DnspodClient(credential.Credential(secret_id, secret_key, token), "",
                        ClientProfile(httpProfile=http))


def request(model, **fields):
    req = model()
    req.from_json_string(json.dumps(fields))
    return req


def refused(call) -> TencentCloudSDKException:
    # The SDK raises ServerNetworkError for any HTTP status but 200, so an error code here also
    # shows that the error came as HTTP 200 with {"Response": {"Error": {...}, "RequestId"}}.
    with pytest.raises(TencentCloudSDKException) as e:
        call()
    assert e.value.get_request_id(), "errors carry a RequestId"
    return e.value


def test_the_official_client_creates_lists_and_deletes_a_txt_record(standin, label):
    server = standin("tencentcloud", **OPTIONS)
    api = client(server)
    domains = api.DescribeDomainList(request(models.DescribeDomainListRequest))
    assert "example.test" in [d.Name for d in domains.DomainList]
    assert domains.DomainCountInfo.AllTotal == len(domains.DomainList)
    domain_id = next(d.DomainId for d in domains.DomainList if d.Name == "example.test")

    sub = f"_acme-challenge.{label}"
    created = api.CreateRecord(request(
        models.CreateRecordRequest, Domain="example.test", DomainId=domain_id, SubDomain=sub,
        RecordType="TXT", RecordLine="默认", Value="value-one", TTL=600))
    assert created.RecordId > 0

    listed = api.DescribeRecordList(request(
        models.DescribeRecordListRequest, Domain="example.test", Subdomain=sub, RecordType="TXT"))
    assert [(r.RecordId, r.Name, r.Type, r.Value, r.Line) for r in listed.RecordList] == [
        (created.RecordId, sub, "TXT", "value-one", "默认")]
    assert listed.RecordCountInfo.TotalCount == 1

    api.DeleteRecord(request(models.DeleteRecordRequest, Domain="example.test",
                             RecordId=created.RecordId))
    gone = refused(lambda: api.DescribeRecordList(request(
        models.DescribeRecordListRequest, Domain="example.test", Subdomain=sub, RecordType="TXT")))
    assert gone.get_code() == "ResourceNotFound.NoDataOfRecord"
    again = refused(lambda: api.DeleteRecord(request(
        models.DeleteRecordRequest, Domain="example.test", RecordId=created.RecordId)))
    assert again.get_code() == "InvalidParameter.RecordIdInvalid"


def test_a_wrong_secret_key_is_a_signature_failure(standin):
    server = standin("tencentcloud", **OPTIONS)
    api = client(server, secret_key="not_the_secret_key")
    e = refused(lambda: api.DescribeDomainList(request(models.DescribeDomainListRequest)))
    assert e.get_code() == "AuthFailure.SignatureFailure"


def test_a_stale_timestamp_is_refused(standin, monkeypatch):
    server = standin("tencentcloud", **OPTIONS)
    api = client(server)
    # The SDK stamps X-TC-Timestamp with its module's clock: make that one an hour slow (only
    # that module's, not the stand-in's).
    slow = types.SimpleNamespace(time=lambda: time.time() - 3600)
    monkeypatch.setattr(abstract_client, "time", slow)
    e = refused(lambda: api.DescribeDomainList(request(models.DescribeDomainListRequest)))
    assert e.get_code() == "AuthFailure.SignatureExpire"


def test_an_unknown_secret_id_a_wrong_token_and_an_unknown_domain(standin):
    server = standin("tencentcloud", **OPTIONS, session_token="token-one")
    describe = request(models.DescribeDomainListRequest)
    e = refused(lambda: client(server, secret_id="AKIDsomeoneelse", token="token-one")
                .DescribeDomainList(describe))
    assert e.get_code() == "AuthFailure.SecretIdNotFound"
    e = refused(lambda: client(server, token="token-two").DescribeDomainList(describe))
    assert e.get_code() == "AuthFailure.TokenFailure"
    api = client(server, token="token-one")
    assert api.DescribeDomainList(describe).DomainList
    e = refused(lambda: api.DescribeRecordList(request(
        models.DescribeRecordListRequest, Domain="no-such-zone.test")))
    assert e.get_code() == "InvalidParameterValue.DomainNotExists"


def test_rate_limit_is_request_limit_exceeded_with_retry_after(standin):
    server = standin("tencentcloud", **OPTIONS)
    urllib.request.urlopen(urllib.request.Request(
        server.origin + "/__standin__/fault", data=b'{"status":429,"retry_after":7,"count":2}',
        method="POST", headers={"Content-Type": "application/json"}))
    describe = request(models.DescribeDomainListRequest)
    e = refused(lambda: client(server).DescribeDomainList(describe))
    assert e.get_code() == "RequestLimitExceeded"
    with urllib.request.urlopen(urllib.request.Request(
            server.origin + "/", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"})) as response:
        assert response.status == 200
        assert response.headers["Retry-After"] == "7"
        body = json.load(response)
    assert body["Response"]["Error"]["Code"] == "RequestLimitExceeded"
    assert body["Response"]["RequestId"]


def test_the_official_client_signs_the_vector(monkeypatch):
    """The vector of the SDK's unit test (`auth::tc3`, `official_sdk_vector`): a DNSPod
    CreateRecord signed by the official client at 2023-11-14T22:13:20Z; and the same signature
    recomputed by the stand-in's check from the request as it would arrive."""
    monkeypatch.setattr(abstract_client, "time", types.SimpleNamespace(time=lambda: 1700000000))
    api = DnspodClient(credential.Credential("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
                                             "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "a-session-token"),
                       "ap-guangzhou")
    params = {"Domain": "example.com", "SubDomain": "_acme-challenge", "RecordType": "TXT",
              "RecordLine": "默认", "Value": "abc", "TTL": 600}
    req = RequestInternal(api._get_endpoint(), "POST", "/", header={})
    api._build_req_with_tc3_signature("CreateRecord", params, req)
    signature = "625c7748c9e3f9789b3d3b38845c9101c2877b3fd3ed2d0c0e9d7a38bf1a7f21"
    assert req.data == ('{"Domain": "example.com", "SubDomain": "_acme-challenge", '
                        '"RecordType": "TXT", "RecordLine": "\\u9ed8\\u8ba4", "Value": "abc", '
                        '"TTL": 600}')
    assert req.header["Host"] == "dnspod.tencentcloudapi.com"
    assert req.header["X-TC-Token"] == "a-session-token"
    assert req.header["X-TC-Region"] == "ap-guangzhou"
    assert req.header["Authorization"] == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2023-11-14/dnspod/"
        f"tc3_request, SignedHeaders=content-type;host, Signature={signature}")
    assert official_signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "POST", "/", "",
                              "application/json", "dnspod.tencentcloudapi.com",
                              req.data.encode(), "1700000000") == signature
