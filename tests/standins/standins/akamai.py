"""Akamai Edge DNS Zone Management API (v2), zones and record sets: the calls DNS-01 needs.

Written from Akamai's published API reference and guides:
https://techdocs.akamai.com/edge-dns/reference/edge-dns-api (operations "Get a zone", "Get a
record set", "Create a record set", "Replace a record set", "Delete a record set"),
https://techdocs.akamai.com/developer/docs/authenticate-with-edgegrid (the EdgeGrid scheme),
and Akamai's Go client, whose DNS package names the paths and statuses
(github.com/akamai/AkamaiOPEN-edgegrid-golang, ``pkg/dns/record.go``, ``pkg/dns/errors.go``).

* ``GET /config-dns/v2/zones/{zone}``: 200 ``{"zone", "type": "PRIMARY", "contractId",
  "activationState", "signAndServe", "versionId", "lastModifiedDate", "lastModifiedBy"}``.
* ``GET /config-dns/v2/zones/{zone}/names/{name}/types/{type}``: 200 ``{"name", "type",
  "ttl", "rdata": [...]}``; ``name`` is absolute without the trailing dot, each TXT ``rdata``
  a quoted string.
* ``POST`` the same path with that body: 201 and the set; 409 when the set exists.
* ``PUT`` the same path with that body: 200 and the set, replacing it; 404 when it does not
  exist.
* ``DELETE`` the same path: 204, no body; 404 when it does not exist.

Every operation takes an optional ``accountSwitchKey`` query parameter, which the stand-in
ignores.

Authentication: ``Authorization: EG1-HMAC-SHA256 client_token=..;access_token=..;
timestamp=..;nonce=..;signature=..``. The stand-in recomputes the signature of the request it
received, with the received timestamp and nonce, through the code of Akamai's own Python
client, ``edgegrid-python`` (``akamai.edgegrid.EdgeGridAuth``, pinned in
requirements/akamai.txt), never with code of ours. Errors are problem details
(``application/problem+json``, ``{"type", "title", "status", "detail", "instance", "method",
"requestId", ...}``), as Akamai's clients' issue trackers record them:

* 401 ``https://problems.luna.akamaiapis.net/-/pep-authn/deny`` "Not authorized", "The
  signature does not match" (github.com/akamai/edgegrid-curl/issues/6 and /11);
* 400 ``.../-/pep-authn/request-error`` "Bad request", "Invalid timestamp": a timestamp more
  than ``skew`` seconds (default 30) from the server's clock
  (github.com/akamai/AkamaiOPEN-edgegrid-node/issues/234; the ±30 s window from
  github.com/akamai/terraform-provider-akamai/issues/758);
* 401 ``.../-/pep-authn/deny`` for an unknown client token or access token, a missing or
  malformed header, and a nonce already used within the timestamp window (the nonce "is used
  to detect replayed request messages", per the EdgeGrid guide). These details are ours:
  Akamai publishes only "Inactive client token"
  (https://techdocs.akamai.com/client-access-control/reference/401);
* 403 ``.../-/pep-authz/deny`` "Forbidden", "The client does not have the grant needed for the
  request" (github.com/akamai/cli-cps/issues/73);
* 404, 409, 400 from the API itself, and 429 with ``Retry-After`` and 500: the titles and
  details are ours; the 500 body is the one of the Go client's tests.

Not emulated: the API client's host (any ``Host`` is accepted), ``headers_to_sign`` (Edge DNS
asks for none), change lists, zone activation and the SOA serial, and record types' rdata
syntax.

Options: ``client_token``, ``client_secret``, ``access_token``, ``skew``.
"""

from __future__ import annotations

import calendar
import hmac
import json
import re
import threading
import time
import uuid
from types import SimpleNamespace

from akamai.edgegrid import EdgeGridAuth
from requests.structures import CaseInsensitiveDict

from standins.core import Request, Response, Vendor, bare, within

BASE = "/config-dns/v2/zones"
PROBLEMS = "https://problems.luna.akamaiapis.net"
#: How far a request's timestamp may be from the server's clock, in seconds.
DEFAULT_SKEW = 30
#: What EdgeGridAuth hashes of a POST body unless told otherwise (lego's edgedns uses it too).
MAX_BODY = 131072
TIMESTAMP_FORMAT = "%Y%m%dT%H:%M:%S+0000"

DENY = (401, "/-/pep-authn/deny", "Not authorized")
PEP = {
    "signature": (*DENY, "The signature does not match"),
    "timestamp": (400, "/-/pep-authn/request-error", "Bad request", "Invalid timestamp"),
    "header": (*DENY, "Missing or malformed authorization header"),
    "client_token": (*DENY, "Invalid authorization client_token"),
    "access_token": (*DENY, "Invalid authorization access_token"),
    "nonce": (*DENY, "Nonce already used"),
    "inactive": (*DENY, "Inactive client token"),
    "grant": (403, "/-/pep-authz/deny", "Forbidden",
              "The client does not have the grant needed for the request"),
}
API = {
    400: ("/config-dns/v2/bad-request", "Bad Request"),
    404: ("/config-dns/v2/not-found", "Not Found"),
    409: ("/config-dns/v2/conflict", "Conflict"),
    429: ("/config-dns/v2/too-many-requests", "Too Many Requests"),
}


def problem(status: int, kind: str, title: str, detail: str | None = None,
            req: Request | None = None, headers: dict[str, str] | None = None) -> Response:
    body: dict = {"type": PROBLEMS + kind if kind.startswith("/") else kind, "title": title,
                  "status": status}
    if detail is not None:
        body["detail"] = detail
    if req is not None:
        body["instance"] = f"http://{req.header('host', '')}{req.raw_path}"
        body["method"] = req.method
    body["requestId"] = uuid.uuid4().hex[:8]
    body["requestTime"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return Response(status, json.dumps(body).encode(), "application/problem+json", headers or {})


def pep(kind: str, req: Request | None = None) -> Response:
    status, path, title, detail = PEP[kind]
    return problem(status, path, title, detail, req)


def api_error(status: int, detail: str, req: Request | None = None) -> Response:
    path, title = API[status]
    return problem(status, path, title, detail, req)


def official_authorization(url: str, method: str, headers: dict[str, str], body: bytes,
                           client_token: str, client_secret: str, access_token: str,
                           timestamp: str, nonce: str) -> str:
    """The ``Authorization`` value Akamai's Python client (``EdgeGridAuth``) puts on a request
    with ``method`` to ``url`` carrying ``headers`` and ``body``, signed at ``timestamp`` with
    ``nonce``. The request is handed to the client's own header code as the prepared request
    ``requests`` would give it, unchanged, so what it signs is what was received."""
    auth = EdgeGridAuth(client_token=client_token, client_secret=client_secret,
                        access_token=access_token, max_body=MAX_BODY)
    prepared = SimpleNamespace(url=url, method=method, headers=CaseInsensitiveDict(headers),
                               body=body)
    return auth.ah.make_auth_header(prepared, timestamp, nonce)


def parse_authorization(value: str) -> dict[str, str] | None:
    """The fields of an ``EG1-HMAC-SHA256`` header, or ``None`` when it is not one."""
    moniker, _, rest = value.strip().partition(" ")
    if moniker != "EG1-HMAC-SHA256":
        return None
    fields = {}
    for part in rest.split(";"):
        name, sep, val = part.partition("=")
        if sep:
            fields[name.strip()] = val.strip()
    needed = ("client_token", "access_token", "timestamp", "nonce", "signature")
    return fields if all(fields.get(k) for k in needed) else None


def same(a: str, b: str) -> bool:
    """Whether two credentials or signatures are equal, compared in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def quoted(content: str) -> str:
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquoted(rdata: str) -> str:
    """A TXT rdata's text: its quoted strings joined, escapes undone; bare text as is."""
    rdata = rdata.strip()
    if not rdata.startswith('"'):
        return rdata
    text, inside, i = [], False, 0
    while i < len(rdata):
        c = rdata[i]
        if c == '"':
            inside = not inside
        elif c == "\\" and inside and i + 1 < len(rdata):
            i += 1
            text.append(rdata[i])
        elif inside:
            text.append(c)
        i += 1
    return "".join(text)


class Akamai(Vendor):
    name = "akamai"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.nonces: dict[str, float] = {}
        self.nonce_lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 401:
            return pep("inactive")
        if status == 403:
            return pep("grant")
        if status == 429:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            path, title = API[429]
            return problem(429, path, title, "The rate limit was exceeded", headers=headers)
        if status in API:
            return api_error(status, "Injected by the stand-in")
        return problem(500, "internal_error", "Internal Server Error", "Error fetching authorities")

    def route(self, req: Request) -> Response | None:
        if not req.path.startswith(BASE + "/"):
            return None
        refused = self.check_signature(req)
        if refused is not None:
            return refused
        m = re.fullmatch(BASE + r"/([^/]+)(?:/names/([^/]+)/types/([A-Za-z0-9]+))?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return api_error(404, f"Zone {bare(m.group(1))} does not exist", req)
        if m.group(2) is None:
            if req.method != "GET":
                return None
            return self.zone(zone["name"], zone["id"])
        name, kind = bare(m.group(2)), m.group(3).upper()
        if not within(name, zone["name"]):
            return api_error(400, f"Name {name} is not in zone {zone['name']}", req)
        held = self.store.find(zone=zone["name"], name=name, type=kind)
        if req.method == "GET":
            if not held:
                return api_error(404, f"Record set {name} {kind} does not exist", req)
            return self.shape(name, kind, held, 200)
        if req.method == "DELETE":
            if not held:
                return api_error(404, f"Record set {name} {kind} does not exist", req)
            self.store.replace_set(zone["name"], name, kind, [], 0)
            return Response(204)
        if req.method in ("POST", "PUT"):
            return self.write(req, zone["name"], name, kind, held)
        return None

    def write(self, req: Request, zone: str, name: str, kind: str, held: list) -> Response:
        if req.method == "POST" and held:
            return api_error(409, f"Record set {name} {kind} already exists", req)
        if req.method == "PUT" and not held:
            return api_error(404, f"Record set {name} {kind} does not exist", req)
        try:
            body = req.json() or {}
        except ValueError:
            return api_error(400, "The request body is not JSON", req)
        rdata = body.get("rdata")
        if (bare(str(body.get("name", ""))) != name or str(body.get("type", "")).upper() != kind
                or not isinstance(rdata, list) or not rdata
                or not isinstance(body.get("ttl"), int)):
            return api_error(400, "The body must repeat the path's name and type, with a ttl "
                                  "and at least one rdata", req)
        contents = [unquoted(str(r)) if kind == "TXT" else str(r) for r in rdata]
        records = self.store.replace_set(zone, name, kind, contents, body["ttl"])
        return self.shape(name, kind, records, 201 if req.method == "POST" else 200)

    def check_signature(self, req: Request) -> Response | None:
        """Refuses a request the real API's EdgeGrid front end would refuse."""
        fields = parse_authorization(req.header("authorization") or "")
        if fields is None:
            return pep("header", req)
        if not same(fields["client_token"], self.options.get("client_token", "")):
            return pep("client_token", req)
        if not same(fields["access_token"], self.options.get("access_token", "")):
            return pep("access_token", req)
        try:
            signed_at = calendar.timegm(time.strptime(fields["timestamp"], TIMESTAMP_FORMAT))
        except ValueError:
            return pep("timestamp", req)
        skew = int(self.options.get("skew", DEFAULT_SKEW))
        now = time.time()
        if abs(signed_at - now) > skew:
            return pep("timestamp", req)
        url = f"http://{req.header('host', '')}{req.raw_path}"
        expected = official_authorization(
            url, req.method, req.headers, req.body, fields["client_token"],
            self.options.get("client_secret", ""), fields["access_token"], fields["timestamp"],
            fields["nonce"])
        if not same(req.header("authorization", "").strip(), expected):
            return pep("signature", req)
        with self.nonce_lock:
            self.nonces = {n: t for n, t in self.nonces.items() if t > now - 2 * skew}
            if fields["nonce"] in self.nonces:
                return pep("nonce", req)
            self.nonces[fields["nonce"]] = now
        return None

    @staticmethod
    def zone(name: str, zone_id: str) -> Response:
        body = {
            "zone": name,
            "type": "PRIMARY",
            "contractId": "C-0N7RAC7",
            "activationState": "ACTIVE",
            "signAndServe": False,
            "versionId": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}/{zone_id}")),
            "lastModifiedDate": "2026-01-01T00:00:00Z",
            "lastModifiedBy": "standin",
        }
        return Response(200, json.dumps(body).encode(), "application/json")

    @staticmethod
    def shape(name: str, kind: str, records: list, status: int) -> Response:
        body = {
            "name": name,
            "type": kind,
            "ttl": records[0].ttl if records else 0,
            "rdata": [quoted(r.content) if kind == "TXT" else r.content for r in records],
        }
        return Response(status, json.dumps(body).encode(), "application/json")


VENDOR = Akamai
