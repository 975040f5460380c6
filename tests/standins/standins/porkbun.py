"""Porkbun API v3, DNS records: the calls DNS-01 needs.

Written from Porkbun's published API reference:
https://porkbun.com/api/json/v3/documentation (sections Authentication, DNS Create Record,
DNS Delete Record by Domain and ID, DNS Retrieve Records by Domain, Subdomain and Type) and its
current per-topic page https://porkbun.com/llms/dns (OpenAPI: https://porkbun.com/api/json/v3/spec).

Every call is ``POST /api/json/v3/...`` with a JSON body carrying ``apikey`` and
``secretapikey`` (the ``X-API-Key`` / ``X-Secret-API-Key`` headers are accepted too):

* ``dns/retrieveByNameType/{domain}/{type}[/{subdomain}]``: ``{"status": "SUCCESS",
  "records": [{"id", "name", "type", "content", "ttl", "prio", "notes"}]}``, every field a
  string, ``name`` fully qualified without the trailing dot;
* ``dns/create/{domain}`` ``{"name", "type", "content", "ttl", "prio", "notes"}`` (``name``
  relative to the domain, blank for the apex; ``ttl`` at least 600, the default):
  ``{"status": "SUCCESS", "id": 106926652}``;
* ``dns/delete/{domain}/{id}``: ``{"status": "SUCCESS"}``.

Errors are ``{"status": "ERROR", "code": ..., "message": ...}``. The reference documents the
body, not one HTTP status per error; this stand-in answers as the API is observed to:
400 ``INVALID_API_KEYS_002`` "Invalid API key. (002)" for a wrong key pair, 400
``INVALID_DOMAIN`` "Invalid domain." for a domain that is not in the account (or is a
subdomain), 429 ``RATE_LIMIT_EXCEEDED`` with ``Retry-After`` and ``ttlRemaining``, and 500.
"""

from __future__ import annotations

import re

from standins.core import Request, Response, Vendor, absolute_in, json_response

BASE = "/api/json/v3"
MIN_TTL = 600
ERRORS = {
    400: ("INVALID_DOMAIN", "Invalid domain."),
    401: ("INVALID_API_KEYS_002", "Invalid API key. (002)"),
    404: ("INVALID_ENDPOINT", "Invalid endpoint."),
    429: ("RATE_LIMIT_EXCEEDED", "Rate limit exceeded. Please wait and try again."),
    500: ("INTERNAL_ERROR", "An internal error occurred."),
}


class Porkbun(Vendor):
    name = "porkbun"

    def error(self, status: int, retry_after: int | None) -> Response:
        code, message = ERRORS.get(status, ERRORS[500])
        body: dict = {"status": "ERROR", "code": code, "message": message}
        headers = {}
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = str(retry_after)
            body["ttlRemaining"] = retry_after
        # Porkbun answers a wrong key pair and an unknown domain with 400.
        http_status = 400 if status in (400, 401) else status
        return json_response(http_status, body, headers)

    def route(self, req: Request) -> Response | None:
        if req.method not in ("POST", "GET") or not req.path.startswith(BASE + "/"):
            return None
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            body = {}
        apikey = body.get("apikey", req.header("x-api-key"))
        secret = body.get("secretapikey", req.header("x-secret-api-key"))
        if apikey != self.options.get("apikey") or secret != self.options.get("secretapikey"):
            return self.error(401, None)
        path = req.path[len(BASE) + 1:]
        m = re.fullmatch(r"dns/retrieveByNameType/([^/]+)/([^/]+)(?:/([^/]*))?/?", path)
        if m:
            zone = self.zone(m.group(1))
            if zone is None:
                return self.error(400, None)
            name = absolute_in(m.group(3) or "", zone)
            records = self.store.find(zone=zone, name=name, type=m.group(2))
            return json_response(200, {"status": "SUCCESS", "records": [shape(r) for r in records]})
        if req.method != "POST":
            return None
        m = re.fullmatch(r"dns/create/([^/]+)/?", path)
        if m:
            zone = self.zone(m.group(1))
            if zone is None:
                return self.error(400, None)
            return self.create(zone, body)
        m = re.fullmatch(r"dns/delete/([^/]+)/([^/]+)/?", path)
        if m:
            zone = self.zone(m.group(1))
            if zone is None:
                return self.error(400, None)
            record = self.store.get(m.group(2))
            if record is None or record.zone != zone:
                return json_response(400, {"status": "ERROR",
                                           "message": "Delete error: We were unable to delete the DNS record."})
            self.store.delete(record.id)
            return json_response(200, {"status": "SUCCESS"})
        return None

    def zone(self, domain: str) -> str | None:
        """The account's domain called exactly ``domain``: the DNS endpoints take only the
        registered domain, never a name below it."""
        zone = self.store.zone(domain)
        return zone["name"] if zone else None

    def create(self, zone: str, body: dict) -> Response:
        kind = str(body.get("type", "")).upper()
        content = body.get("content")
        if kind not in ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "CAA") or not content:
            return json_response(400, {"status": "ERROR",
                                       "message": "Create error: We were unable to create the DNS record."})
        try:
            ttl = max(int(body.get("ttl") or MIN_TTL), MIN_TTL)
        except ValueError:
            ttl = MIN_TTL
        name = absolute_in(str(body.get("name") or ""), zone)
        record = self.store.add(zone, name, kind, str(content), ttl,
                                prio=str(body.get("prio") or "0"), notes=body.get("notes") or "")
        return json_response(200, {"status": "SUCCESS", "id": int(record.id)})


def shape(record) -> dict:
    return {
        "id": record.id,
        "name": record.name,
        "type": record.type,
        "content": record.content,
        "ttl": str(record.ttl),
        "prio": record.extra.get("prio", "0"),
        "notes": record.extra.get("notes", ""),
    }


VENDOR = Porkbun
