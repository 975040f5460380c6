"""Tencent Cloud DNSPod, API 3.0 version 2021-03-23: the calls DNS-01 needs.

Written from Tencent Cloud's published API reference: DNSPod API 2021-03-23
(https://cloud.tencent.com/document/api/1427; in English
https://www.tencentcloud.com/document/api/1157): DescribeDomainList (.../1427/56172),
DescribeRecordList (.../1427/56166), CreateRecord (.../1427/56180), DeleteRecord
(.../1427/56176), their error codes, and the pages of its "calling the API" section (common
parameters, "Signature v3", responses and common error codes; the signature page is the same
for every product, e.g. https://www.tencentcloud.com/document/api/213/33224); and the official
Python SDK (https://github.com/TencentCloud/tencentcloud-sdk-python,
``tencentcloud-sdk-python-common`` and ``-dnspod`` 3.1.130).

Every call is ``POST /`` with a JSON body (or ``GET /?<params>``), the action in ``X-TC-Action``,
``X-TC-Version: 2021-03-23``, ``X-TC-Timestamp``, optionally ``X-TC-Region`` (DNSPod ignores it)
and ``X-TC-Token`` (temporary credentials), and ``Authorization: TC3-HMAC-SHA256
Credential=<SecretId>/<date>/dnspod/tc3_request, SignedHeaders=content-type;host,
Signature=<hex>``. Answers are HTTP 200 with ``{"Response": {..., "RequestId"}}``; errors too,
as ``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.

* ``DescribeDomainList`` ``{Type, Offset, Limit (default 3000), Keyword}``:
  ``{"DomainCountInfo": {"DomainTotal", "AllTotal", ...}, "DomainList": [{"DomainId", "Name",
  "Punycode", "Status", ...}]}``; ``ResourceNotFound.NoDataOfDomain`` when the list is empty.
* ``DescribeDomain`` ``{Domain | DomainId}``: ``{"DomainInfo": {"DomainId", "Domain", ...}}``.
* ``DescribeRecordList`` ``{Domain | DomainId, Subdomain | SubDomain, RecordType, RecordLine,
  Keyword, Offset, Limit (default 100, at most 3000), ErrorOnEmpty}``: ``{"RecordCountInfo":
  {"SubdomainCount", "ListCount", "TotalCount"}, "RecordList": [{"RecordId", "Name", "Type",
  "Value", "Line", "LineId", "TTL", "Status", ...}]}``; ``ResourceNotFound.NoDataOfRecord`` when
  nothing matches (unless ``ErrorOnEmpty`` is ``no``). ``Name`` is relative to the domain,
  ``@`` for the apex; a TXT ``Value`` is the bare text.
* ``CreateRecord`` ``{Domain | DomainId, SubDomain (default @), RecordType, RecordLine
  (默认 or default), Value, TTL}``: ``{"RecordId"}``. Each value is a record of its own.
* ``DeleteRecord`` ``{Domain | DomainId, RecordId}``: ``{}``.

Authentication: the stand-in recomputes every request's signature with the official SDK's own
signing code (``AbstractClient._get_tc3_signature`` and ``Sign.sign_tc3`` of
``tencentcloud-sdk-python-common``, pinned in requirements/tencentcloud.txt) over the request as
received (method, path, query, ``Content-Type``, ``Host``, body), never with code of ours, and
refuses with Tencent Cloud's common error codes:

* ``AuthFailure.InvalidAuthorization``: no or a malformed ``Authorization``, or a credential
  scope other than ``<UTC date of X-TC-Timestamp>/dnspod/tc3_request``;
* ``AuthFailure.SecretIdNotFound``: a SecretId the stand-in does not know;
* ``AuthFailure.SignatureExpire``: ``X-TC-Timestamp`` more than ``skew`` seconds (default 300,
  Tencent's documented five minutes) from the stand-in's clock;
* ``AuthFailure.TokenFailure``: the ``session_token`` option is set and ``X-TC-Token`` differs;
* ``AuthFailure.SignatureFailure``: any other mismatch.

Injected faults answer HTTP 200 in the same shape: 401 ``AuthFailure.SecretIdNotFound``, 403
``AuthFailure.UnauthorizedOperation``, 404 ``ResourceNotFound``, 429 ``RequestLimitExceeded``
and 500 ``InternalError``. Tencent Cloud documents no ``Retry-After``; the stand-in adds one to
the rate-limit answer when the fault names a wait, so the wait reaches the provider.

Other errors: ``InvalidParameterValue.DomainNotExists`` (a domain the account does not have),
``InvalidParameter.RecordIdInvalid`` (an unknown record), ``InvalidParameter.RecordLineInvalid``,
``InvalidParameter.RecordTypeInvalid``, ``LimitExceeded.RecordTtlLimit`` (a TTL under the
plan's minimum, option ``min_ttl``, default 600 as on the free plan), ``MissingParameter``,
``InvalidAction``, ``NoSuchVersion``.

Not emulated: CAM policies (every key may do everything), record lines other than the default,
record groups, weights, the short indexing delay after CreateRecord that Tencent's SDK warns of,
``X-TC-Content-SHA256: UNSIGNED-PAYLOAD`` beyond what the SDK's code checks, multipart bodies,
the HmacSHA1/HmacSHA256 (v1) signatures, and record types other than TXT.

Options: ``secret_id``, ``secret_key``, ``session_token``, ``skew``, ``min_ttl``.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import datetime, timezone

from tencentcloud.common import credential
from tencentcloud.common.abstract_client import AbstractClient
from tencentcloud.common.http.request import RequestInternal

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

SERVICE = "dnspod"
VERSION = "2021-03-23"
#: How far X-TC-Timestamp may be from the server's clock, in seconds ("five minutes").
DEFAULT_SKEW = 300
#: The smallest TTL of DNSPod's free plan.
DEFAULT_MIN_TTL = 600
DEFAULT_LINES = ("默认", "default")

#: Messages of Tencent Cloud's common error codes and of DNSPod's own, as documented.
MESSAGES = {
    "AuthFailure.InvalidAuthorization": "Authorization in the request header is invalid.",
    "AuthFailure.SecretIdNotFound": "Key does not exist. Check if the key has been deleted or "
                                    "disabled in the console, and if not, check if the key is "
                                    "correctly entered. Note that whitespaces should not exist "
                                    "before or after the key.",
    "AuthFailure.SignatureExpire": "Signature expired. Timestamp and server time cannot differ "
                                   "by more than five minutes. Please ensure your current local "
                                   "time matches the standard time.",
    "AuthFailure.SignatureFailure": "The provided credentials could not be validated. Please "
                                    "check your signature is correct.",
    "AuthFailure.TokenFailure": "Token error.",
    "AuthFailure.UnauthorizedOperation": "The request is not authorized. Authentication is "
                                         "performed by CAM.",
    "InternalError": "Internal error.",
    "InvalidAction": "The API does not exist.",
    "InvalidParameter": "Incorrect parameter.",
    "InvalidParameter.RecordIdInvalid": "记录编号错误。",
    "InvalidParameter.RecordLineInvalid": "记录线路不正确。",
    "InvalidParameter.RecordTypeInvalid": "记录类型不正确。",
    "InvalidParameter.RecordValueInvalid": "记录的值不正确。",
    "InvalidParameterValue.DomainNotExists": "当前域名有误，请返回重新操作。",
    "LimitExceeded.RecordTtlLimit": "记录的TTL值超出了限制。",
    "MissingParameter": "Missing parameter.",
    "NoSuchVersion": "The API version does not exist.",
    "RequestLimitExceeded": "The number of requests exceeds the frequency limit.",
    "ResourceNotFound": "The resource does not exist.",
    "ResourceNotFound.NoDataOfDomain": "域名列表为空。",
    "ResourceNotFound.NoDataOfRecord": "记录列表为空。",
}
FAULTS = {
    401: "AuthFailure.SecretIdNotFound",
    403: "AuthFailure.UnauthorizedOperation",
    404: "ResourceNotFound",
    429: "RequestLimitExceeded",
    500: "InternalError",
}
AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=([^/,\s]+)/(\d{4}-\d{2}-\d{2})/([a-z0-9-]+)/tc3_request,\s*"
    r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})"
)
STAMP = "2026-01-01 00:00:00"


def api_error(code: str, message: str | None = None,
              headers: dict[str, str] | None = None) -> Response:
    """Tencent Cloud's error answer: HTTP 200, the code and message under ``Response.Error``."""
    body = {"Response": {"Error": {"Code": code, "Message": message or MESSAGES.get(code, code)},
                         "RequestId": str(uuid.uuid4())}}
    return json_response(200, body, headers)


def ok(value: dict) -> Response:
    return json_response(200, {"Response": {**value, "RequestId": str(uuid.uuid4())}})


def official_signature(secret_key: str, method: str, path: str, query: str, content_type: str,
                       host: str, body: bytes, timestamp: str,
                       unsigned_payload: bool = False) -> str:
    """The signature Tencent Cloud's official SDK computes for this request, with its own code
    (``AbstractClient._get_tc3_signature``, which builds the canonical request and string to
    sign and calls ``Sign.sign_tc3``)."""
    header = {"Content-Type": content_type, "Host": host, "X-TC-Timestamp": timestamp}
    if unsigned_payload:
        header["X-TC-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    data = query if method == "GET" else body
    req = RequestInternal(host, method, path, header=header, data=data)
    date = datetime.fromtimestamp(int(timestamp), timezone.utc).strftime("%Y-%m-%d")
    client = AbstractClient(credential.Credential("-", secret_key), "")
    return client._get_tc3_signature(None, req, date, SERVICE, secret_key)


class TencentCloud(Vendor):
    name = "tencentcloud"

    def error(self, status: int, retry_after: int | None) -> Response:
        code = FAULTS.get(status, "InternalError")
        headers = {}
        if status == 429 and retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return api_error(code, headers=headers)

    def route(self, req: Request) -> Response | None:
        if req.path != "/" or req.method not in ("GET", "POST"):
            return None
        refused = self.check_signature(req)
        if refused is not None:
            return refused
        if req.header("x-tc-version") != VERSION:
            return api_error("NoSuchVersion")
        try:
            params = self.params(req)
        except ValueError:
            return api_error("InvalidParameter", "The request body is not a JSON object.")
        action = {
            "DescribeDomainList": self.describe_domain_list,
            "DescribeDomain": self.describe_domain,
            "DescribeRecordList": self.describe_record_list,
            "CreateRecord": self.create_record,
            "DeleteRecord": self.delete_record,
        }.get(req.header("x-tc-action") or "")
        if action is None:
            return api_error("InvalidAction")
        return action(params)

    @staticmethod
    def params(req: Request) -> dict:
        if req.method == "GET":
            return {k: v[0] for k, v in req.query.items()}
        value = req.json() if req.body else {}
        if not isinstance(value, dict):
            raise ValueError("not an object")
        return value

    def check_signature(self, req: Request) -> Response | None:
        """Refuses a request the real API would refuse for its credentials or signature."""
        m = AUTHORIZATION.fullmatch((req.header("authorization") or "").strip())
        if m is None:
            return api_error("AuthFailure.InvalidAuthorization")
        secret_id, date, service, signed_headers, signature = m.groups()
        if secret_id != self.options.get("secret_id", ""):
            return api_error("AuthFailure.SecretIdNotFound")
        stamp = req.header("x-tc-timestamp") or ""
        if not stamp.isdigit():
            return api_error("AuthFailure.InvalidAuthorization")
        if abs(int(stamp) - int(time.time())) > int(self.options.get("skew", DEFAULT_SKEW)):
            return api_error("AuthFailure.SignatureExpire")
        token = self.options.get("session_token")
        if token and req.header("x-tc-token") != token:
            return api_error("AuthFailure.TokenFailure")
        scope_date = datetime.fromtimestamp(int(stamp), timezone.utc).strftime("%Y-%m-%d")
        if (date, service) != (scope_date, SERVICE):
            return api_error("AuthFailure.InvalidAuthorization")
        if signed_headers != "content-type;host":
            # The official SDK signs these two only, and its code is what checks signatures here.
            return api_error("AuthFailure.SignatureFailure")
        query = req.raw_path.partition("?")[2]
        expected = official_signature(
            self.options.get("secret_key", ""), req.method, req.path, query,
            req.header("content-type") or "", req.header("host") or "", req.body, stamp,
            req.header("x-tc-content-sha256") == "UNSIGNED-PAYLOAD")
        if signature != expected:
            return api_error("AuthFailure.SignatureFailure")
        return None

    def domain(self, params: dict) -> dict | None:
        """The zone that ``DomainId`` (which wins) or ``Domain`` names."""
        if params.get("DomainId") not in (None, "", 0):
            return self.store.zone_by_id(str(params["DomainId"]))
        name = params.get("Domain")
        return self.store.zone(str(name)) if name else None

    def domain_item(self, zone: dict) -> dict:
        count = len(self.store.find(zone=zone["name"]))
        return {
            "DomainId": int(zone["id"]), "Name": zone["name"], "Punycode": zone["name"],
            "Status": "ENABLE", "TTL": DEFAULT_MIN_TTL, "CNAMESpeedup": "DISABLE", "DNSStatus": "",
            "Grade": "DP_FREE", "GradeLevel": 2, "GradeTitle": "免费版", "GroupId": 1,
            "SearchEnginePush": "NO", "Remark": "", "IsVip": "NO", "VipAutoRenew": "DEFAULT",
            "VipStartAt": "0000-00-00 00:00:00", "VipEndAt": "0000-00-00 00:00:00",
            "EffectiveDNS": ["f1g1ns1.dnspod.net", "f1g1ns2.dnspod.net"], "RecordCount": count,
            "CreatedOn": STAMP, "UpdatedOn": STAMP, "Owner": "standin@example.test", "TagList": [],
        }

    def describe_domain_list(self, params: dict) -> Response:
        zones = sorted(self.store.zones.values(), key=lambda z: int(z["id"]))
        keyword = str(params.get("Keyword") or "").lower()
        matching = [z for z in zones if keyword in z["name"]]
        offset, limit = int(params.get("Offset") or 0), int(params.get("Limit") or 3000)
        page = matching[offset:offset + limit]
        if not page:
            return api_error("ResourceNotFound.NoDataOfDomain")
        counts = {"DomainTotal": len(matching), "AllTotal": len(zones), "MineTotal": len(zones),
                  "ShareTotal": 0, "VipTotal": 0, "PauseTotal": 0, "ErrorTotal": 0,
                  "LockTotal": 0, "SpamTotal": 0, "VipExpire": 0, "ShareOutTotal": 0,
                  "GroupTotal": len(zones)}
        return ok({"DomainCountInfo": counts, "DomainList": [self.domain_item(z) for z in page]})

    def describe_domain(self, params: dict) -> Response:
        if not params.get("Domain") and not params.get("DomainId"):
            return api_error("MissingParameter", "The parameter `Domain` is missing.")
        zone = self.domain(params)
        if zone is None:
            return api_error("InvalidParameterValue.DomainNotExists")
        item = self.domain_item(zone)
        return ok({"DomainInfo": {"DomainId": item["DomainId"], "Domain": zone["name"],
                                  "Punycode": zone["name"], "Status": "ENABLE",
                                  "Grade": "DP_FREE", "TTL": DEFAULT_MIN_TTL,
                                  "RecordCount": item["RecordCount"], "IsSubDomain": False,
                                  "DnspodNsList": item["EffectiveDNS"],
                                  "CreatedOn": STAMP, "UpdatedOn": STAMP}})

    @staticmethod
    def record_item(record) -> dict:
        return {
            "RecordId": int(record.id), "Name": relative(record.name, record.zone),
            "Type": record.type, "Value": record.content,
            "Line": record.extra.get("line", DEFAULT_LINES[0]),
            "LineId": "0", "TTL": record.ttl, "Status": "ENABLE", "Weight": None, "MX": 0,
            "MonitorStatus": "", "Remark": "", "UpdatedOn": STAMP, "DefaultNS": False,
        }

    def describe_record_list(self, params: dict) -> Response:
        zone = self.domain(params)
        if zone is None:
            return api_error("InvalidParameterValue.DomainNotExists")
        sub = params.get("SubDomain") or params.get("Subdomain")
        name = None if not sub else absolute_in(str(sub), zone["name"])
        kind = params.get("RecordType") or None
        records = self.store.find(zone=zone["name"], name=name, type=kind)
        line = params.get("RecordLine")
        if line:
            records = [r for r in records if r.extra.get("line", "默认") in
                       (DEFAULT_LINES if line in DEFAULT_LINES else (line,))]
        keyword = str(params.get("Keyword") or "")
        if keyword:
            records = [r for r in records
                       if keyword in relative(r.name, r.zone) or keyword in r.content]
        offset, limit = int(params.get("Offset") or 0), min(int(params.get("Limit") or 100), 3000)
        page = records[offset:offset + limit]
        if not page and str(params.get("ErrorOnEmpty", "yes")).lower() != "no":
            return api_error("ResourceNotFound.NoDataOfRecord")
        counts = {"SubdomainCount": len({r.name for r in records}), "ListCount": len(page),
                  "TotalCount": len(records)}
        return ok({"RecordCountInfo": counts, "RecordList": [self.record_item(r) for r in page]})

    def create_record(self, params: dict) -> Response:
        for required in ("RecordType", "RecordLine", "Value"):
            if params.get(required) in (None, ""):
                return api_error("MissingParameter", f"The parameter `{required}` is missing.")
        zone = self.domain(params)
        if zone is None:
            return api_error("InvalidParameterValue.DomainNotExists")
        kind = str(params["RecordType"])
        if kind not in ("TXT", "A", "AAAA", "CNAME", "MX"):
            return api_error("InvalidParameter.RecordTypeInvalid")
        line = str(params["RecordLine"])
        if line not in DEFAULT_LINES:
            return api_error("InvalidParameter.RecordLineInvalid")
        ttl = int(params.get("TTL") or DEFAULT_MIN_TTL)
        if not int(self.options.get("min_ttl", DEFAULT_MIN_TTL)) <= ttl <= 604800:
            return api_error("LimitExceeded.RecordTtlLimit")
        value = str(params["Value"])
        if len(value) > 512:
            return api_error("InvalidParameter.RecordValueInvalid")
        name = absolute_in(str(params.get("SubDomain") or "@"), zone["name"])
        record = self.store.add(zone["name"], name, kind, value, ttl, line=line)
        return ok({"RecordId": int(record.id)})

    def delete_record(self, params: dict) -> Response:
        zone = self.domain(params)
        if zone is None:
            return api_error("InvalidParameterValue.DomainNotExists")
        if params.get("RecordId") in (None, ""):
            return api_error("MissingParameter", "The parameter `RecordId` is missing.")
        record = self.store.get(str(params["RecordId"]))
        if record is None or record.zone != zone["name"]:
            return api_error("InvalidParameter.RecordIdInvalid")
        self.store.delete(record.id)
        return ok({})


VENDOR = TencentCloud
