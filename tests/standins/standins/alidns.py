"""Alibaba Cloud DNS (Alidns) API, version 2015-01-09: the calls DNS-01 needs.

Written from Alibaba Cloud's published API reference:
https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-overview (the operations),
https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-describedomains,
https://www.alibabacloud.com/help/en/dns/api-describedomainrecords,
https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-adddomainrecord,
https://www.alibabacloud.com/help/en/dns/api-alidns-2015-01-09-deletedomainrecord,
the signature reference https://www.alibabacloud.com/help/en/alidns-intl/latest/signature
(the same as ECS's https://www.alibabacloud.com/help/en/ecs/developer-reference/request-signatures),
and the official Python SDK (``aliyun-python-sdk-core`` 2.16.1, ``aliyun-python-sdk-alidns``
3.0.7, https://github.com/aliyun/aliyun-openapi-python-sdk).

Every call is ``GET`` or ``POST /`` with its parameters in the query string or in an
``application/x-www-form-urlencoded`` body (the official SDK puts them in the query, acmebox in
the body); ``Action`` names the operation. Answers are JSON:

* ``DescribeDomains`` (``KeyWord``, ``SearchMode`` ``LIKE``/``EXACT``, ``PageNumber``,
  ``PageSize`` up to 100): ``{"TotalCount", "PageNumber", "PageSize", "RequestId",
  "Domains": {"Domain": [{"DomainId", "DomainName", "PunyCode", ...}]}}``.
* ``DescribeDomainRecords`` (``DomainName``, ``RRKeyWord`` and ``ValueKeyWord`` matched as
  ``%keyword%`` ignoring case, ``TypeKeyWord`` matched whole ignoring case, ``PageNumber``,
  ``PageSize`` up to 500; newest first): ``{"TotalCount", "PageNumber", "PageSize",
  "RequestId", "DomainRecords": {"Record": [{"DomainName", "RecordId", "RR", "Type", "Value",
  "TTL", "Line", "Status", "Locked", ...}]}}``. ``RR`` is relative to the zone, ``@`` at the
  apex; a TXT ``Value`` is the bare text.
* ``AddDomainRecord`` (``DomainName``, ``RR``, ``Type``, ``Value``, ``TTL`` default 600):
  ``{"RequestId", "RecordId"}``; a record equal to one held (same ``RR``, ``Type``, ``Value``)
  is refused with 400 ``DomainRecordDuplicate``.
* ``DeleteDomainRecord`` (``RecordId``): ``{"RequestId", "RecordId"}``; an unknown id is 400
  ``DomainRecordNotBelongToUser``.
* A ``DomainName`` the account does not hold is 400 ``IncorrectDomainUser``.

Authentication: RPC signature version 1.0 (``HMAC-SHA1``) over every parameter but
``Signature``. The stand-in recomputes the signature of each request with the official SDK's
own code (``aliyunsdkcore.auth.composer.rpc_signature_composer``, its string-to-sign composer,
and ``aliyunsdkcore.auth.algorithm.sha_hmac1``), never with code of ours, over the parameters
received and the request's method. Errors are ``{"RequestId", "HostId", "Code", "Message",
"Recommend"}``:

* 404 ``InvalidAccessKeyId.NotFound`` "Specified access key is not found.";
* 400 ``SignatureDoesNotMatch`` "Specified signature is not matched with our calculation.
  server string to sign is:<string to sign>" (the official client reads the string back and
  reports ``InvalidAccessKeySecret`` when it equals its own);
* 400 ``InvalidTimeStamp.Expired`` "Specified time stamp or date value is expired." (more than
  ``skew`` seconds, default 900: the API's 15 minutes) and ``InvalidTimeStamp.Format``;
* 400 ``SignatureNonceUsed`` "Specified signature nonce was used already.";
* 400 ``MissingSecurityToken`` / ``InvalidSecurityToken.Mismatch`` when the stand-in is given a
  ``security_token``;
* injected faults: 403 ``Forbidden.RAM``, 404 ``InvalidAction.NotFound``, 429
  ``Throttling.User`` with ``Retry-After``, 500 ``InternalError``, 503 ``ServiceUnavailable``.

Not emulated: XML answers (every answer is JSON, whatever ``Format`` says), RAM policies,
lines other than ``default``, record types' value checks, TTL minimums of the editions, the
SLB/weight and lock/pause operations, and the other signature methods (``HMAC-SHA256``, V3).

Options: ``access_key``, ``secret_key``, ``security_token``, ``skew``.
"""

from __future__ import annotations

import calendar
import threading
import time
import uuid

from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

VERSION = "2015-01-09"
#: How far a request's ``Timestamp`` may be from the server's clock, in seconds.
DEFAULT_SKEW = 900
TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA")

#: The official SDK's string-to-sign composer (module-private in the SDK, hence ``getattr``).
compose_string_to_sign = getattr(rpc_signature_composer, "__compose_string_to_sign")

ERRORS = {
    "key": (404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."),
    "missing_key": (400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action."),
    "incomplete": (400, "IncompleteSignature",
                   "The request signature does not conform to Aliyun standards."),
    "signature": (400, "SignatureDoesNotMatch",
                  "Specified signature is not matched with our calculation. "
                  "server string to sign is:{}"),
    "time": (400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."),
    "time_format": (400, "InvalidTimeStamp.Format",
                    "Specified time stamp or date value is not well formatted."),
    "nonce": (400, "SignatureNonceUsed", "Specified signature nonce was used already."),
    "missing_token": (400, "MissingSecurityToken", "SecurityToken is mandatory for this action."),
    "token": (400, "InvalidSecurityToken.Mismatch",
              "Specified SecurityToken mismatch with the AccessKey."),
    "version": (400, "InvalidVersion", "Specified parameter Version is not valid."),
    "action": (404, "InvalidAction.NotFound",
               "Specified api is not found, please check your url and method."),
    "forbidden": (403, "Forbidden.RAM",
                  "User not authorized to operate on the specified resource, or this API "
                  "doesn't support RAM."),
    "throttled": (429, "Throttling.User", "Request was denied due to user flow control."),
    "internal": (500, "InternalError",
                 "The request processing has failed due to some unknown error, exception or "
                 "failure."),
    "unavailable": (503, "ServiceUnavailable",
                    "The request has failed due to a temporary failure of the server."),
    "domain": (400, "IncorrectDomainUser", "The domain name does not belong to you."),
    "duplicate": (400, "DomainRecordDuplicate", "The DNS record already exists."),
    "record": (400, "DomainRecordNotBelongToUser", "The DNS record does not belong to you."),
}


def error(kind: str, host: str = "alidns.aliyuncs.com", detail: str = "",
          headers: dict[str, str] | None = None) -> Response:
    status, code, message = ERRORS[kind]
    return json_response(status, {
        "RequestId": request_id(),
        "HostId": host,
        "Code": code,
        "Message": message.format(detail),
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Alidns",
    }, headers)


def missing(name: str, host: str) -> Response:
    return json_response(400, {"RequestId": request_id(), "HostId": host,
                               "Code": f"Missing{name}",
                               "Message": f"{name} is mandatory for this action."})


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def official_signature(method: str, params: dict[str, str], secret: str) -> tuple[str, str]:
    """The string to sign and the ``Signature`` the official SDK computes for a request sent
    with ``method`` carrying ``params`` (``Signature`` left out)."""
    unsigned = {k: v for k, v in params.items() if k != "Signature"}
    to_sign = compose_string_to_sign(method.upper(), unsigned)
    return to_sign, sha_hmac1.get_sign_string(to_sign, secret + "&")


class Alidns(Vendor):
    name = "alidns"

    def __init__(self, store, options) -> None:
        super().__init__(store, options)
        self.nonces: set[str] = set()
        self.nonce_lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        kind = {401: "forbidden", 403: "forbidden", 404: "action", 429: "throttled",
                503: "unavailable"}.get(status, "internal")
        headers = {}
        if status == 429 and retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return error(kind, headers=headers)

    def route(self, req: Request) -> Response | None:
        if req.path != "/" or req.method not in ("GET", "POST"):
            return None
        host = req.header("host") or "alidns.aliyuncs.com"
        params = {k: v[0] for k, v in req.query.items()}
        content_type = req.header("content-type") or ""
        if req.body and "application/x-www-form-urlencoded" in content_type:
            params.update(req.form())
        refused = self.authenticate(req.method, params, host)
        if refused is not None:
            return refused
        if params.get("Version") != VERSION:
            return error("version", host)
        handler = {
            "DescribeDomains": self.describe_domains,
            "DescribeDomainRecords": self.describe_records,
            "AddDomainRecord": self.add_record,
            "DeleteDomainRecord": self.delete_record,
        }.get(params.get("Action", ""))
        if handler is None:
            return error("action", host)
        return handler(params, host)

    def authenticate(self, method: str, params: dict[str, str], host: str) -> Response | None:
        """Refuses a request the real API would refuse for its credentials or signature."""
        key = params.get("AccessKeyId")
        if not key:
            return error("missing_key", host)
        if key != self.options.get("access_key", ""):
            return error("key", host)
        if not params.get("Signature") or not params.get("SignatureNonce") \
                or params.get("SignatureMethod") != "HMAC-SHA1" \
                or params.get("SignatureVersion") != "1.0":
            return error("incomplete", host)
        try:
            stamp = calendar.timegm(time.strptime(params.get("Timestamp", ""),
                                                  "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return error("time_format", host)
        if abs(stamp - time.time()) > int(self.options.get("skew", DEFAULT_SKEW)):
            return error("time", host)
        token = self.options.get("security_token")
        if token and not params.get("SecurityToken"):
            return error("missing_token", host)
        if token and params.get("SecurityToken") != token:
            return error("token", host)
        to_sign, expected = official_signature(method, params, self.options.get("secret_key", ""))
        if params["Signature"] != expected:
            return error("signature", host, to_sign)
        with self.nonce_lock:
            if params["SignatureNonce"] in self.nonces:
                return error("nonce", host)
            self.nonces.add(params["SignatureNonce"])
        return None

    @staticmethod
    def page(params: dict[str, str], default: int, largest: int) -> tuple[int, int]:
        try:
            number = max(int(params.get("PageNumber") or 1), 1)
            size = min(max(int(params.get("PageSize") or default), 1), largest)
        except ValueError:
            number, size = 1, default
        return number, size

    def describe_domains(self, params: dict[str, str], host: str) -> Response:
        keyword = (params.get("KeyWord") or "").lower()
        exact = (params.get("SearchMode") or "LIKE").upper() == "EXACT"
        zones = [z for z in self.store.zones.values()
                 if not keyword or (z["name"] == keyword if exact else keyword in z["name"])]
        number, size = self.page(params, 20, 100)
        shown = zones[(number - 1) * size: number * size]
        return json_response(200, {
            "RequestId": request_id(),
            "TotalCount": len(zones),
            "PageNumber": number,
            "PageSize": size,
            "Domains": {"Domain": [{
                "DomainId": f"00000000-0000-4000-8000-00000000{z['id']}",
                "DomainName": z["name"],
                "PunyCode": z["name"],
                "AliDomain": False,
                "RecordCount": len(self.store.find(zone=z["name"])),
                "VersionCode": "mianfei",
                "VersionName": "Alibaba Cloud DNS Free Edition",
                "DnsServers": {"DnsServer": ["dns1.hichina.com", "dns2.hichina.com"]},
                "Starmark": False,
                "Tags": {"Tag": []},
            } for z in shown]},
        })

    def describe_records(self, params: dict[str, str], host: str) -> Response:
        zone = self.store.zone(params.get("DomainName") or "")
        if not params.get("DomainName"):
            return missing("DomainName", host)
        if zone is None:
            return error("domain", host)
        rr_key = (params.get("RRKeyWord") or "").lower()
        type_key = (params.get("TypeKeyWord") or "").upper()
        value_key = (params.get("ValueKeyWord") or "").lower()
        records = [r for r in reversed(self.store.find(zone=zone["name"]))
                   if rr_key in relative(r.name, r.zone).lower()
                   and (not type_key or r.type == type_key)
                   and value_key in r.content.lower()]
        number, size = self.page(params, 20, 500)
        shown = records[(number - 1) * size: number * size]
        return json_response(200, {
            "RequestId": request_id(),
            "TotalCount": len(records),
            "PageNumber": number,
            "PageSize": size,
            "DomainRecords": {"Record": [self.shape(r) for r in shown]},
        })

    def add_record(self, params: dict[str, str], host: str) -> Response:
        for name in ("DomainName", "RR", "Type", "Value"):
            if not params.get(name):
                return missing(name, host)
        zone = self.store.zone(params["DomainName"])
        if zone is None:
            return error("domain", host)
        kind = params["Type"].upper()
        if kind not in TYPES:
            return json_response(400, {"RequestId": request_id(), "HostId": host,
                                       "Code": "InvalidType",
                                       "Message": "The specified record type is invalid."})
        try:
            ttl = int(params.get("TTL") or 600)
        except ValueError:
            ttl = -1
        if not 1 <= ttl <= 86400:
            return json_response(400, {"RequestId": request_id(), "HostId": host,
                                       "Code": "InvalidTTL",
                                       "Message": "The specified TTL is invalid."})
        value = params["Value"]
        name = absolute_in(params["RR"].lower(), zone["name"])
        with self.store.lock:
            if self.store.find(zone=zone["name"], name=name, type=kind, content=value):
                return error("duplicate", host)
            record = self.store.add(zone["name"], name, kind, value, ttl)
        return json_response(200, {"RequestId": request_id(), "RecordId": record.id})

    def delete_record(self, params: dict[str, str], host: str) -> Response:
        record_id = params.get("RecordId")
        if not record_id:
            return missing("RecordId", host)
        if self.store.delete(record_id) is None:
            return error("record", host)
        return json_response(200, {"RequestId": request_id(), "RecordId": record_id})

    @staticmethod
    def shape(record) -> dict:
        return {
            "DomainName": record.zone,
            "RecordId": record.id,
            "RR": relative(record.name, record.zone),
            "Type": record.type,
            "Value": record.content,
            "TTL": record.ttl,
            "Line": "default",
            "Status": "ENABLE",
            "Locked": False,
            "Weight": 1,
        }


VENDOR = Alidns
