"""The Azure DNS stand-in, checked with Microsoft's own Python libraries: MSAL and
azure-identity get tokens from its identity-platform endpoint, azure-mgmt-dns drives its
Resource Manager record-set API.

MSAL and azure-identity take only https authorities, and azure-core sends bearer tokens only
over https, while the stand-in serves plain http on loopback. The libraries are therefore given
https URLs on the stand-in's address and a transport (MSAL's ``http_client``, azure-core's
``RequestsTransport``) that sends the same request over http, telling the stand-in with
``X-Forwarded-Proto: https`` so its OpenID discovery document names https endpoints.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import jwt
import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceModifiedError
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ClientSecretCredential
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns.models import RecordSet, TxtRecord

TENANT = "72f988bf-0000-4000-8000-00000000standin"
CLIENT = "0c1e4a6d-5b7f-4e2a-9d3c-8b6a5f4e3d2c"
SECRET = "Azx8Q~standin.client.secret.value"
SUBSCRIPTION = "2d3b7c1a-9e8f-4a6b-8c5d-1e2f3a4b5c6d"
GROUP = "dns-rg"
SCOPE = "https://management.azure.com/.default"
OPTIONS = dict(tenant=TENANT, client_id=CLIENT, client_secret=SECRET,
               subscription=SUBSCRIPTION, resource_group=GROUP)


class ToPlainHttp(requests.Session):
    """Sends requests for ``https://<stand-in address>`` to the stand-in over http."""

    def __init__(self, origin: str) -> None:
        super().__init__()
        self.origin = origin
        self.https = origin.replace("http://", "https://", 1)

    def request(self, method, url, *args, **kwargs):
        if url.startswith(self.https):
            url = self.origin + url[len(self.https):]
            headers = dict(kwargs.pop("headers", None) or {})
            headers["X-Forwarded-Proto"] = "https"
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def msal_app(server, secret: str = SECRET) -> msal.ConfidentialClientApplication:
    https = server.origin.replace("http://", "https://", 1)
    return msal.ConfidentialClientApplication(
        CLIENT,
        client_credential=secret,
        authority=f"{https}/{TENANT}",
        instance_discovery=False,
        http_client=ToPlainHttp(server.origin),
    )


def arm(server, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{server.origin}/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}"
        f"/providers/Microsoft.Network/dnsZones{path}?api-version=2018-05-01",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_msal_gets_a_token_the_api_accepts(standin):
    server = standin("azure", **OPTIONS)
    result = msal_app(server).acquire_token_for_client(scopes=[SCOPE])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    status, body = arm(server, "", result["access_token"])
    assert status == 200, body
    assert sorted(z["name"] for z in body["value"]) == ["delegated.test", "example.test"]


def test_msal_sees_the_documented_invalid_client_error(standin):
    server = standin("azure", **OPTIONS)
    result = msal_app(server, secret="wrong-secret").acquire_token_for_client(scopes=[SCOPE])
    assert result.get("error") == "invalid_client", result
    assert result.get("error_codes") == [7000215], result
    assert result["error_description"].startswith("AADSTS7000215: Invalid client secret")


def test_the_api_refuses_bad_wrong_key_and_expired_tokens(standin):
    server = standin("azure", token_lifetime="1", **OPTIONS)
    status, body = arm(server, "", "not-a-jwt")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")

    forged = jwt.encode({"aud": "https://management.azure.com",
                         "iss": f"https://sts.windows.net/{TENANT}/", "tid": TENANT,
                         "appid": CLIENT, "iat": int(time.time()), "nbf": int(time.time()),
                         "exp": int(time.time()) + 3600}, "a key that is not the stand-in's",
                        algorithm="HS256")
    status, body = arm(server, "", forged)
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")

    token = msal_app(server).acquire_token_for_client(scopes=[SCOPE])["access_token"]
    time.sleep(2.1)
    status, body = arm(server, "", token)
    assert (status, body["error"]["code"]) == (401, "ExpiredAuthenticationToken"), body


def credential(server, secret: str = SECRET) -> ClientSecretCredential:
    return ClientSecretCredential(
        TENANT, CLIENT, secret,
        authority=server.origin.replace("http://", "https://", 1),
        disable_instance_discovery=True,
        transport=RequestsTransport(session=ToPlainHttp(server.origin), session_owner=False),
    )


def dns_client(server, secret: str = SECRET) -> DnsManagementClient:
    return DnsManagementClient(
        credential(server, secret), SUBSCRIPTION,
        base_url=server.origin.replace("http://", "https://", 1),
        transport=RequestsTransport(session=ToPlainHttp(server.origin), session_owner=False),
    )


def test_azure_mgmt_dns_creates_lists_and_deletes_a_txt_record_set(standin, label):
    server = standin("azure", **OPTIONS)
    client = dns_client(server)
    zones = [z.name for z in client.zones.list_by_resource_group(GROUP)]
    assert sorted(zones) == ["delegated.test", "example.test"]

    name = f"_acme-challenge.{label}"
    created = client.record_sets.create_or_update(
        GROUP, "example.test", name, "TXT",
        RecordSet(ttl=60, txt_records=[TxtRecord(value=["value-one"])]),
        if_none_match="*",
    )
    assert created.fqdn == f"{name}.example.test."
    assert [r.value for r in created.txt_records] == [["value-one"]]

    updated = client.record_sets.create_or_update(
        GROUP, "example.test", name, "TXT",
        RecordSet(ttl=60, txt_records=[TxtRecord(value=["value-one"]), TxtRecord(value=["value-two"])]),
        if_match=created.etag,
    )
    assert updated.etag != created.etag
    with pytest.raises((ResourceModifiedError, HttpResponseError)) as stale:
        client.record_sets.create_or_update(
            GROUP, "example.test", name, "TXT",
            RecordSet(ttl=60, txt_records=[TxtRecord(value=["lost"])]),
            if_match=created.etag,
        )
    assert stale.value.status_code == 412

    listed = {r.name: r for r in client.record_sets.list_by_type(GROUP, "example.test", "TXT")}
    assert sorted(v for r in listed[name].txt_records for v in r.value) == ["value-one", "value-two"]
    assert server.store.find(name=f"{name}.example.test", type="TXT")

    client.record_sets.delete(GROUP, "example.test", name, "TXT", if_match=updated.etag)
    listed = [r.name for r in client.record_sets.list_by_type(GROUP, "example.test", "TXT")]
    assert name not in listed


def test_azure_libraries_see_the_documented_errors(standin, label):
    server = standin("azure", **OPTIONS)
    with pytest.raises(ClientAuthenticationError) as refused:
        credential(server, secret="wrong-secret").get_token(SCOPE)
    assert "AADSTS7000215" in str(refused.value)

    client = dns_client(server)
    with pytest.raises(HttpResponseError) as missing:
        client.record_sets.get(GROUP, "no-such-zone.test", f"_acme-challenge.{label}", "TXT")
    assert missing.value.status_code == 404
    assert missing.value.error.code == "ParentResourceNotFound"

    with pytest.raises(HttpResponseError) as no_group:
        list(dns_client(server).zones.list_by_resource_group("no-such-group"))
    assert no_group.value.error.code == "ResourceGroupNotFound"
