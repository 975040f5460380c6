"""Vultr API v2, DNS domains and records: the calls DNS-01 needs.

Written from Vultr's published API reference, https://www.vultr.com/api/ (sections
"Introduction" for authentication, response codes, rate limit and cursor pagination, and "DNS":
https://www.vultr.com/api/#tag/dns/operation/get-dns-domain,
https://www.vultr.com/api/#tag/dns/operation/list-dns-domain-records,
https://www.vultr.com/api/#tag/dns/operation/create-dns-domain-record,
https://www.vultr.com/api/#tag/dns/operation/delete-dns-domain-record).

* ``GET /v2/domains/{dns-domain}``: ``{"domain": {"domain", "date_created", "dns_sec"}}``.
* ``GET /v2/domains/{dns-domain}/records?per_page=&cursor=``: ``{"records": [{"id", "type",
  "name", "data", "priority", "ttl"}], "meta": {"total": N, "links": {"next": cursor or "",
  "prev": cursor or ""}}}``. ``per_page`` is 1 to 500 (default 100); ``name`` is relative to
  the domain, empty for the apex; TXT ``data`` is served quoted.
* ``POST /v2/domains/{dns-domain}/records`` ``{"name", "type", "data", "ttl", "priority"}``:
  201 ``{"record": {...}}``. TXT data is stored quoted (quotes are added when missing).
* ``DELETE /v2/domains/{dns-domain}/records/{record-id}``: 204, no body.

Authentication: ``Authorization: Bearer <API key>``. Errors are ``{"error": "<message>",
"status": <code>}``: 400 on invalid input, 401 "Invalid API token.", 404 for an unknown domain
or record, 429 past 30 requests a second with a ``Retry-After`` header, 500. The reference
documents the shape and the codes; the messages other than 401's are this stand-in's wording.
"""

from __future__ import annotations

import json
import re
import uuid

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/v2"
CREATED = "2020-10-10T01:56:20+00:00"
MESSAGES = {
    400: "Bad request.",
    401: "Invalid API token.",
    404: "Not found.",
    429: "Rate limit reached - please try your request again later.",
    500: "Internal server error.",
}


def fail(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"error": message, "status": status}, headers)


class Vultr(Vendor):
    name = "vultr"

    def __init__(self, store, options) -> None:
        super().__init__(store, options)
        # Vultr's record ids are UUIDs; the store's are small integers.
        self.uuids: dict[str, str] = {}

    def error(self, status: int, retry_after: int | None) -> Response:
        headers = {}
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return fail(status, MESSAGES.get(status, MESSAGES[500]), headers)

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {self.options.get('token')}":
            return self.error(401, None)
        m = re.fullmatch(BASE + r"/domains/([^/]+)(/records(?:/([^/]+))?)?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return fail(404, "Invalid domain.")
        if m.group(2) is None:
            if req.method != "GET":
                return None
            return json_response(200, {"domain": {"domain": zone["name"], "date_created": CREATED,
                                                  "dns_sec": "disabled"}})
        record_id = m.group(3)
        if record_id is None and req.method == "GET":
            return self.list(req, zone["name"])
        if record_id is None and req.method == "POST":
            return self.create(req, zone["name"])
        record = self.by_uuid(record_id) if record_id is not None else None
        if record is None or record.zone != zone["name"]:
            return fail(404, "Invalid record.")
        if req.method == "GET":
            return json_response(200, {"record": self.shape(record)})
        if req.method == "DELETE":
            self.store.delete(record.id)
            return Response(204, b"", "text/plain")
        return None

    def list(self, req: Request, zone: str) -> Response:
        try:
            per_page = int(req.arg("per_page", "100"))
            start = int(req.arg("cursor") or "0")
        except ValueError:
            return fail(400, "Invalid cursor or per_page.")
        if not 1 <= per_page <= 500 or start < 0:
            return fail(400, "Invalid cursor or per_page.")
        records = self.store.find(zone=zone)
        chunk = records[start:start + per_page]
        after = start + per_page
        return json_response(200, {
            "records": [self.shape(r) for r in chunk],
            "meta": {
                "total": len(records),
                "links": {
                    "next": str(after) if after < len(records) else "",
                    "prev": str(max(0, start - per_page)) if start > 0 else "",
                },
            },
        })

    def create(self, req: Request, zone: str) -> Response:
        try:
            body = req.json() or {}
        except json.JSONDecodeError:
            return fail(400, "Invalid JSON.")
        kind = str(body.get("type", "")).upper()
        if kind not in ("A", "AAAA", "CNAME", "NS", "MX", "SRV", "TXT", "CAA", "SSHFP"):
            return fail(400, "Invalid record type.")
        data = body.get("data")
        name = body.get("name")
        if not isinstance(data, str) or not data or not isinstance(name, str):
            return fail(400, "Record name, type and data are required.")
        try:
            ttl = int(body.get("ttl") or 300)
        except (TypeError, ValueError):
            return fail(400, "Invalid TTL.")
        if kind == "TXT":
            data = unquote(data)
        record = self.store.add(zone, absolute_in(name, zone), kind, data, ttl,
                                priority=int(body.get("priority") or 0))
        return json_response(201, {"record": self.shape(record)})

    def uuid_of(self, record) -> str:
        return self.uuids.setdefault(record.id, str(uuid.uuid4()))

    def by_uuid(self, record_id: str):
        for store_id, rid in self.uuids.items():
            if rid == record_id:
                return self.store.get(store_id)
        return None

    def shape(self, record) -> dict:
        name = relative(record.name, record.zone)
        data = record.content
        if record.type == "TXT":
            data = '"' + data.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return {
            "id": self.uuid_of(record),
            "type": record.type,
            "name": "" if name == "@" else name,
            "data": data,
            "priority": record.extra.get("priority", 0),
            "ttl": record.ttl,
        }


def unquote(data: str) -> str:
    """TXT data as one string: surrounding quotes and escapes removed, when quoted."""
    data = data.strip()
    if len(data) >= 2 and data.startswith('"') and data.endswith('"'):
        return re.sub(r'\\(.)', r"\1", data[1:-1])
    return data


VENDOR = Vultr
