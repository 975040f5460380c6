"""The INWX stand-in, driven by INWX's official Python client, ``inwx-domrobot``, over
JSON-RPC: login (with and without two-factor authentication), a TXT record created, listed and
deleted, and the documented errors."""

from __future__ import annotations

import time

import pytest
from INWX.Domrobot import ApiClient, ApiType

from standins.inwx import totp

USER = "acmebox-catalog"
PASSWORD = "inwx-catalog-pass-7d2e"
# Base32, as in an authenticator QR code.
SHARED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def client(server) -> ApiClient:
    return ApiClient(api_url=server.origin, api_type=ApiType.JSON_RPC)


def test_a_txt_record_round_trip(standin, label):
    server = standin("inwx", user=USER, password=PASSWORD)
    api = client(server)
    login = api.login(USER, PASSWORD)
    assert login["code"] == 1000 and login["resData"]["tfa"] == "0"
    name = f"_acme-challenge.{label}.example.test"
    created = api.call_api("nameserver.createRecord", {
        "domain": "example.test", "type": "TXT", "name": name, "content": "value-one",
        "ttl": 300,
    })
    assert created["code"] == 1000, created
    record_id = created["resData"]["id"]

    again = api.call_api("nameserver.createRecord", {
        "domain": "example.test", "type": "TXT", "name": name, "content": "value-one",
        "ttl": 300,
    })
    assert again["code"] == 2302, again

    info = api.call_api("nameserver.info", {"domain": "example.test", "name": name,
                                            "type": "TXT"})
    assert info["code"] == 1000
    assert [(r["id"], r["name"], r["content"]) for r in info["resData"]["record"]] == [
        (record_id, name, "value-one")]

    deleted = api.call_api("nameserver.deleteRecord", {"id": record_id})
    assert deleted["code"] == 1000
    info = api.call_api("nameserver.info", {"domain": "example.test", "name": name,
                                            "type": "TXT"})
    assert info["resData"]["count"] == 0 and "record" not in info["resData"]
    assert api.call_api("nameserver.deleteRecord", {"id": record_id})["code"] == 2303
    assert api.logout()["code"] == 1500


def test_two_factor_login_with_the_shared_secret(standin, label):
    server = standin("inwx", user=USER, password=PASSWORD, shared_secret=SHARED_SECRET)
    api = client(server)
    login = api.login(USER, PASSWORD, shared_secret=SHARED_SECRET)
    assert login["code"] == 1000 and login["resData"]["tfa"] == "GOOGLE-AUTH"
    # The client computes the code itself; the stand-in's TOTP agrees with it.
    assert totp(SHARED_SECRET, time.time()) == str(ApiClient.get_secret_code(SHARED_SECRET)).zfill(6)
    info = api.call_api("nameserver.info", {"domain": "example.test", "type": "TXT"})
    assert info["code"] == 1000, info
    api.logout()


def test_two_factor_without_a_code_stays_locked(standin):
    server = standin("inwx", user=USER, password=PASSWORD, shared_secret=SHARED_SECRET)
    api = client(server)
    with pytest.raises(Exception, match="two factor challenge"):
        api.login(USER, PASSWORD)
    # Logged in but not unlocked: every other call is refused.
    info = api.call_api("nameserver.info", {"domain": "example.test"})
    assert info["code"] == 2200

    now = time.time()
    valid = {totp(SHARED_SECRET, now + drift) for drift in (-30, 0, 30, 60)}
    wrong_code = next(c for c in ("000000", "111111", "222222", "333333", "444444")
                      if c not in valid)
    unlock = client(server).login(USER, PASSWORD, tfa_token=wrong_code)
    assert unlock["code"] == 2200


def test_the_documented_errors(standin):
    server = standin("inwx", user=USER, password=PASSWORD)
    assert client(server).login(USER, "wrong")["code"] == 2200
    # Without a session cookie nothing but login works.
    assert client(server).call_api("nameserver.info", {"domain": "example.test"})["code"] == 2200

    api = client(server)
    api.login(USER, PASSWORD)
    missing = api.call_api("nameserver.info", {"domain": "no-such-zone.test"})
    assert missing["code"] == 2303 and missing["msg"] == "Object does not exist"
    low_ttl = api.call_api("nameserver.createRecord", {
        "domain": "example.test", "type": "TXT", "name": "x", "content": "v", "ttl": 60})
    assert low_ttl["code"] == 2005
