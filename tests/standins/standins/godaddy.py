"""GoDaddy Domains API (v1), DNS records of one type and name: the calls DNS-01 needs.

Written from GoDaddy's published API reference:
https://developer.godaddy.com/doc/endpoint/domains (operations ``recordGet``,
``recordReplaceTypeName``, ``recordDeleteTypeName``; models ``DNSRecord``, ``Error``,
``ErrorLimit``) and https://developer.godaddy.com/getstarted (the ``sso-key`` scheme).

* ``GET /v1/domains/{domain}/records/{type}/{name}``: 200 ``[{"data", "name", "ttl",
  "type"}, ...]``, ``[]`` when there are none; ``name`` is relative to the domain, ``@`` for
  the apex.
* ``PUT`` the same path ``[{"data", "ttl"}, ...]``: replaces every record of that type and
  name; 200, no body. ``ttl`` is at least 600.
* ``DELETE`` the same path: 204; 404 when there is no such record.

A domain the account has no zone file for is 404 ``UNKNOWN_DOMAIN`` on every one of them.

Authentication: ``Authorization: sso-key <key>:<secret>``. Errors are ``{"code", "message",
"fields"?}``: 401 ``UNABLE_TO_AUTHENTICATE``, 403 ``ACCESS_DENIED``, 404 ``UNKNOWN_DOMAIN``,
422 ``INVALID_BODY``, 429 ``TOO_MANY_REQUESTS`` (``ErrorLimit``: the wait is the body's
``retryAfterSec``, no header), 500 ``INTERNAL_SERVER_ERROR``.

The API has no conditional write (no ETag, no version): a ``PUT`` based on a stale read
silently wins. Option ``read_delay=<seconds>`` holds each records read that long after taking
its snapshot, so a read-modify-write race between two writers is certain to drop a value
unless the writers are serialised.

Options: ``key=`` and ``secret=`` (the API key accepted), ``read_delay=``.
"""

from __future__ import annotations

import re
import time

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/v1"
MIN_TTL = 600
TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT", "CAA")
ERRORS = {
    401: ("UNABLE_TO_AUTHENTICATE", "Unauthorized : Could not authenticate API key/secret"),
    403: ("ACCESS_DENIED", "Authenticated user is not allowed access"),
    404: ("UNKNOWN_DOMAIN", "The given domain is not registered, or does not have a zone file"),
    422: ("INVALID_BODY", "Request body doesn't fulfill schema, see details in `fields`"),
    429: ("TOO_MANY_REQUESTS", "Too many requests received within interval"),
    500: ("INTERNAL_SERVER_ERROR", "Internal server error"),
}


class GoDaddy(Vendor):
    name = "godaddy"

    def error(self, status: int, retry_after: int | None) -> Response:
        code, message = ERRORS.get(status, ERRORS[500])
        body = {"code": code, "message": message}
        if status == 429:
            body["retryAfterSec"] = retry_after if retry_after is not None else 30
        return json_response(status, body)

    def invalid(self, path: str, message: str) -> Response:
        code, text = ERRORS[422]
        return json_response(422, {"code": code, "message": text,
                                   "fields": [{"code": "UNEXPECTED_VALUE", "message": message,
                                               "path": path}]})

    def route(self, req: Request) -> Response | None:
        expected = f"sso-key {self.options.get('key')}:{self.options.get('secret')}"
        if req.header("authorization") != expected:
            return self.error(401, None)
        m = re.fullmatch(BASE + r"/domains/([^/]+)/records/([^/]+)/([^/]+)/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None)
        domain, kind = zone["name"], m.group(2).upper()
        if kind not in TYPES:
            return self.invalid("type", f"unknown record type {m.group(2)!r}")
        name = absolute_in(m.group(3), domain)
        if req.method == "GET":
            return self.get(domain, name, kind)
        if req.method == "PUT":
            return self.put(req, domain, name, kind)
        if req.method == "DELETE":
            if not self.store.find(zone=domain, name=name, type=kind):
                return json_response(404, {"code": "NOT_FOUND",
                                           "message": f"No {kind} record named {m.group(3)}"})
            self.store.replace_set(domain, name, kind, [], MIN_TTL)
            return Response(204)
        return None

    def get(self, domain: str, name: str, kind: str) -> Response:
        records = self.store.find(zone=domain, name=name, type=kind)
        delay = float(self.options.get("read_delay", "0"))
        if delay:
            time.sleep(delay)  # the snapshot above is what the client gets: stale by then
        return json_response(200, [
            {"data": r.content, "name": relative(r.name, domain), "ttl": r.ttl, "type": r.type}
            for r in records
        ])

    def put(self, req: Request, domain: str, name: str, kind: str) -> Response:
        body = req.json()
        if not isinstance(body, list):
            return self.invalid("records", "must be an array of records")
        contents, ttls = [], []
        for i, record in enumerate(body):
            if not isinstance(record, dict) or not isinstance(record.get("data"), str):
                return self.invalid(f"records[{i}].data", "is required")
            ttl = record.get("ttl", 3600)
            if not isinstance(ttl, int) or ttl < MIN_TTL:
                return self.invalid(f"records[{i}].ttl", f"must be at least {MIN_TTL}")
            if record["data"] not in contents:
                contents.append(record["data"])
                ttls.append(ttl)
        self.store.replace_set(domain, name, kind, contents, min(ttls, default=MIN_TTL))
        return Response(200)


VENDOR = GoDaddy
