"""DNS Made Easy REST API v2.0, managed DNS records: the calls DNS-01 needs.

Written from DNS Made Easy's published API reference, "API V2.0 Documentation" (the PDF linked
from https://api-docs.dnsmadeeasy.com/; sections Authentication, Rate Limiting, Managed DNS,
Records), and from the API's answers recorded against DNS Made Easy's sandbox by dns-lexicon's
tests (github.com/AnalogJ/lexicon, tests/fixtures/cassettes/dnsmadeeasy/): the record shape,
TXT values stored quoted, 201 on create, an empty 200 on delete, the duplicate error.

* ``GET /V2.0/dns/managed/``: every managed domain, ``{"totalPages", "totalRecords", "data",
  "page"}``.
* ``GET /V2.0/dns/managed/name?domainname=<name>``: the domain, ``{"id", "name",
  "nameServers", ...}``; 404 when the account has no such domain.
* ``GET /V2.0/dns/managed/{id}/records?recordName=&type=``: its records, paged as above;
  ``recordName`` is relative to the domain (empty for the apex; an empty filter filters
  nothing).
* ``POST /V2.0/dns/managed/{id}/records`` ``{"name", "type", "value", "ttl", "gtdLocation"}``:
  201 with the record and ``Location``. A TXT value sent bare is stored quoted; the same type,
  name and value twice is 400 "Record with this type (TXT), name (...), and value (...) already
  exists."
* ``POST /V2.0/dns/managed/{id}/records/createMulti`` ``[record, ...]``: 201 with the records.
* ``DELETE /V2.0/dns/managed/{id}/records/{recordId}``: 200, empty; 404 for an unknown id.
* ``DELETE /V2.0/dns/managed/{id}/records?ids=1&ids=2``: 200, empty.

Authentication: every request carries ``x-dnsme-apiKey``, ``x-dnsme-requestDate`` (an HTTP
date) and ``x-dnsme-hmac``, the hex HMAC-SHA1 of the date under the secret key. DNS Made Easy
publishes no Python library of its own; the stand-in recomputes the HMAC with the code of
octodns-dnsmadeeasy (``DnsMadeEasyClient._hmac_hash``, github.com/octodns/octodns-dnsmadeeasy,
pinned in requirements/dnsmadeeasy.txt), never with code of ours. Refusals are 403 with DNS Made
Easy's error shape ``{"error": ["..."]}``:

* "Missing API key or HMAC" (a header missing; the message as seen in
  github.com/acmesh-official/acme.sh/issues/681);
* "Unable to verify HMAC" (a wrong HMAC; github.com/rmbolger/Posh-ACME/issues/576);
* "Request sent with date header too far out of sync.  Difference in times is <ms>, header
  value is <ms>" (github.com/webprofusion/certify/issues/542, where 48 s off was refused), for a
  date more than ``skew`` seconds (default 30) from the stand-in's clock, or one that does not
  parse;
* "API key not found" for an API key the stand-in does not know (this message is ours).

The 403 status of the last three is not published either; 403 is what clients see for refused
credentials (github.com/AnalogJ/lexicon/issues/152, github.com/win-acme/win-acme/issues/2528).

Rate limiting: 150 requests per rolling 5 minutes ("Rate Limiting"); every answer carries
``x-dnsme-requestLimit`` and ``x-dnsme-requestsRemaining``, and a request past the limit gets
400 ``{"error": ["Rate limit exceeded"]}`` with no ``Retry-After``, as DNS Made Easy answers
(github.com/acmesh-official/acme.sh/issues/3830, github.com/AnalogJ/lexicon/issues/437). An
injected 429 is HTTP 429 with ``Retry-After`` and the same body. Other injected faults: 403
"Unable to verify HMAC", 404 and 500 in the same shape. An unknown domain is 404 with an error
body of ours (the sandbox was recorded answering an HTML error page).

Not emulated: record types other than TXT reaching DNS, paging (every listing is one page),
folders, templates, vanity name servers, the secondary DNS API, and the request id header's
meaning.

Options: ``api_key``, ``api_secret``, ``skew`` (seconds), ``request_limit`` (per 5 minutes).
"""

from __future__ import annotations

import collections
import email.utils
import hmac
import re
import threading
import time
import uuid

from octodns_dnsmadeeasy import DnsMadeEasyClient

from standins.core import Request, Response, Vendor, bare, json_response

BASE = "/V2.0/dns/managed"
#: How far a request's date may be from the stand-in's clock, in seconds.
DEFAULT_SKEW = 30
#: Requests allowed per rolling window, and the window in seconds.
DEFAULT_REQUEST_LIMIT = 150
WINDOW = 300
RECORD_TYPES = {"A", "AAAA", "ANAME", "CNAME", "HTTPRED", "MX", "NS", "PTR", "SRV", "TXT", "SPF",
                "CAA"}


def error(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": list(messages)}, headers)


def published_hmac(api_key: str, secret: str, request_date: str) -> str:
    """The ``x-dnsme-hmac`` octodns-dnsmadeeasy's client puts on a request dated
    ``request_date``."""
    return DnsMadeEasyClient(api_key, secret)._hmac_hash(request_date)


def unquote(value: str) -> str:
    """A TXT value as DNS Made Easy returns it (``"abc"``), without its quotes and escapes."""
    value = value.strip()
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return re.sub(r'\\(.)', r'\1', value[1:-1])


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DnsMadeEasy(Vendor):
    name = "dnsmadeeasy"

    def __init__(self, store, options) -> None:
        super().__init__(store, options)
        self.api_key = options.get("api_key", "")
        self.secret = options.get("api_secret", "")
        self.skew = int(options.get("skew", DEFAULT_SKEW))
        self.limit = int(options.get("request_limit", DEFAULT_REQUEST_LIMIT))
        self.sent: collections.deque[float] = collections.deque()
        self.sent_lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        if status in (401, 403):
            return error(403, "Unable to verify HMAC")
        if status == 429:
            headers = {"x-dnsme-requestsRemaining": "0"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
            return error(429, "Rate limit exceeded", headers=headers)
        if status == 404:
            return error(404, "Not found")
        return error(status, "Internal server error")

    def route(self, req: Request) -> Response | None:
        remaining = self.count_request()
        response = self.answer(req) if remaining >= 0 else error(400, "Rate limit exceeded")
        if response is not None:
            response.headers.setdefault("x-dnsme-requestId", str(uuid.uuid4()))
            response.headers.setdefault("x-dnsme-requestLimit", str(self.limit))
            response.headers.setdefault("x-dnsme-requestsRemaining", str(max(remaining, 0)))
        return response

    def count_request(self) -> int:
        """Counts this request in the rolling window; the requests left, -1 when over."""
        now = time.monotonic()
        with self.sent_lock:
            while self.sent and self.sent[0] <= now - WINDOW:
                self.sent.popleft()
            if len(self.sent) >= self.limit:
                return -1
            self.sent.append(now)
            return self.limit - len(self.sent)

    def answer(self, req: Request) -> Response | None:
        if not (req.path == BASE or req.path.startswith(BASE + "/")):
            return None
        refused = self.check_headers(req)
        if refused is not None:
            return refused
        rest = req.path[len(BASE):].strip("/")
        if rest == "" and req.method == "GET":
            return page([self.domain(z) for z in self.store.zones.values()])
        if rest == "name" and req.method == "GET":
            zone = self.store.zone(req.arg("domainname") or "")
            if zone is None:
                return error(404, "Domain not found")
            return json_response(200, self.domain(zone))
        m = re.fullmatch(r"(\d+)/records(?:/(createMulti|\d+))?", rest)
        if not m:
            return None
        zone = self.store.zone_by_id(m.group(1))
        if zone is None:
            return error(404, "Domain not found")
        what = m.group(2)
        if what is None and req.method == "GET":
            return self.list(req, zone)
        if what is None and req.method == "POST":
            created = self.create(zone, req.json() or {})
            if isinstance(created, Response):
                return created
            location = f"http://{req.header('host', '')}{BASE}/{zone['id']}/records/{created['id']}"
            return json_response(201, created, {"Location": location})
        if what is None and req.method == "DELETE":
            for record_id in req.query.get("ids", []):
                self.delete(zone, record_id)
            return Response(200)
        if what == "createMulti" and req.method == "POST":
            return self.create_multi(zone, req.json() or [])
        if what is not None and what.isdigit() and req.method == "DELETE":
            if not self.delete(zone, what):
                return error(404, "Record not found")
            return Response(200)
        return None

    def check_headers(self, req: Request) -> Response | None:
        """Refuses a request the real API would refuse for its authentication headers."""
        key = req.header("x-dnsme-apikey")
        date = req.header("x-dnsme-requestdate")
        mac = req.header("x-dnsme-hmac")
        if not key or not mac or not date:
            return error(403, "Missing API key or HMAC")
        if key != self.api_key:
            return error(403, "API key not found")
        try:
            sent = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            sent = 0.0
        now = time.time()
        if abs(now - sent) > self.skew:
            off, at = int(abs(now - sent) * 1000), int(sent * 1000)
            return error(403, "Request sent with date header too far out of sync.  Difference in "
                              f"times is {off}, header value is {at}")
        if not hmac.compare_digest(mac, published_hmac(key, self.secret, date)):
            return error(403, "Unable to verify HMAC")
        return None

    @staticmethod
    def domain(zone: dict) -> dict:
        name = zone["name"]
        return {
            "id": int(zone["id"]),
            "name": name,
            "folderId": 1,
            "gtdEnabled": False,
            "processMulti": False,
            "pendingActionId": 0,
            "activeThirdParties": [],
            "created": 1767225600000,
            "updated": 1767225600000,
            "nameServers": [{"fqdn": f"ns{i}.dnsmadeeasy.test"} for i in range(1, 3)],
        }

    def list(self, req: Request, zone: dict) -> Response:
        name = req.arg("recordName") or None
        kind = req.arg("type") or None
        records = [r for r in self.store.find(zone=zone["name"], type=kind)
                   if name is None or self.relative(r.name, zone) == name.lower()]
        return page([self.shape(r, zone) for r in records])

    def create(self, zone: dict, body: dict) -> dict | Response:
        kind = str(body.get("type", "")).upper()
        name = str(body.get("name") or "").strip().rstrip(".")
        value = body.get("value")
        if kind not in RECORD_TYPES:
            return error(400, f"Invalid record type: {kind or 'none'}")
        if value is None or str(value) == "":
            return error(400, "Record value may not be empty.")
        # Names are relative to the domain, the apex empty: `a.example.test` in `example.test`
        # is `a.example.test.example.test`, as in DNS Made Easy's console.
        fqdn = bare(f"{name}.{zone['name']}") if name else zone["name"]
        content = unquote(str(value)) if kind in ("TXT", "SPF") else str(value)
        ttl = int(body.get("ttl") or 86400)
        with self.store.lock:
            if self.store.find(zone=zone["name"], name=fqdn, type=kind, content=content):
                shown = quote(content) if kind in ("TXT", "SPF") else content
                return error(400, f"Record with this type ({kind}), name ({name}), and value "
                                  f"({shown}) already exists.")
            record = self.store.add(zone["name"], fqdn, kind, content, ttl,
                                    gtdLocation=str(body.get("gtdLocation") or "DEFAULT"))
        return self.shape(record, zone)

    def create_multi(self, zone: dict, bodies: list) -> Response:
        created = []
        for body in bodies:
            record = self.create(zone, body if isinstance(body, dict) else {})
            if isinstance(record, Response):
                return record
            created.append(record)
        return json_response(201, created)

    def delete(self, zone: dict, record_id: str) -> bool:
        record = self.store.get(record_id)
        if record is None or record.zone != zone["name"]:
            return False
        return self.store.delete(record_id) is not None

    @staticmethod
    def relative(name: str, zone: dict) -> str:
        return "" if bare(name) == zone["name"] else bare(name)[: -(len(zone["name"]) + 1)]

    def shape(self, record, zone: dict) -> dict:
        txt = record.type in ("TXT", "SPF")
        return {
            "id": int(record.id),
            "name": self.relative(record.name, zone),
            "type": record.type,
            "value": quote(record.content) if txt else record.content,
            "ttl": record.ttl,
            "gtdLocation": record.extra.get("gtdLocation", "DEFAULT"),
            "sourceId": int(zone["id"]),
            "source": 1,
            "failover": False,
            "monitor": False,
            "dynamicDns": False,
            "failed": False,
            "hardLink": False,
        }


def page(data: list) -> Response:
    return json_response(200, {"totalPages": 1, "totalRecords": len(data), "data": data, "page": 0})


VENDOR = DnsMadeEasy
