"""DigitalOcean API v2, domain records: the calls DNS-01 needs.

Written from DigitalOcean's published API reference:
https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domains and
https://docs.digitalocean.com/reference/api/digitalocean/#tag/Domain-Records

* ``GET /v2/domains/{domain}``: ``{"domain": {"name", "ttl", "zone_file"}}``.
* ``GET /v2/domains/{domain}/records?type=&name=&page=&per_page=``: ``{"domain_records": [...],
  "links": {"pages": {...}}, "meta": {"total": N}}``; ``name`` is the fully qualified name.
* ``POST /v2/domains/{domain}/records`` ``{"type", "name", "data", "ttl"}`` (``name`` relative
  to the domain, ``@`` for the apex): 201 ``{"domain_record": {...}}``.
* ``DELETE /v2/domains/{domain}/records/{id}``: 204, no body.

Authentication: ``Authorization: Bearer <token>``. Errors are ``{"id", "message"}``: 401
``unauthorized`` "Unable to authenticate you", 404 ``not_found`` "The resource you were
accessing could not be found.", 422 ``unprocessable_entity``, 429 ``too_many_requests`` "API
Rate limit exceeded." (with ``ratelimit-*`` headers), 500 ``server_error``.
"""

from __future__ import annotations

import re

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/v2"
MESSAGES = {
    401: ("unauthorized", "Unable to authenticate you"),
    404: ("not_found", "The resource you were accessing could not be found."),
    422: ("unprocessable_entity", "Name can only contain alphanumeric characters, dashes, and periods."),
    429: ("too_many_requests", "API Rate limit exceeded."),
    500: ("server_error", "Unexpected server-side error"),
}


class DigitalOcean(Vendor):
    name = "digitalocean"

    def error(self, status: int, retry_after: int | None) -> Response:
        ident, message = MESSAGES.get(status, ("server_error", "Unexpected server-side error"))
        headers = {}
        if status == 429:
            headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                       "ratelimit-reset": "1700000000"}
            if retry_after is not None:
                headers["retry-after"] = str(retry_after)
        return json_response(status, {"id": ident, "message": message}, headers)

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {self.options.get('token')}":
            return self.error(401, None)
        m = re.fullmatch(BASE + r"/domains/([^/]+)(/records(?:/(\d+))?)?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None)
        if m.group(2) is None:
            if req.method != "GET":
                return None
            return json_response(200, {"domain": {"name": zone["name"], "ttl": 1800, "zone_file": ""}})
        record_id = m.group(3)
        if record_id is None and req.method == "GET":
            return self.list(req, zone["name"])
        if record_id is None and req.method == "POST":
            return self.create(req, zone["name"])
        if record_id is not None and req.method == "GET":
            record = self.store.get(record_id)
            if record is None or record.zone != zone["name"]:
                return self.error(404, None)
            return json_response(200, {"domain_record": self.shape(record)})
        if record_id is not None and req.method == "DELETE":
            record = self.store.get(record_id)
            if record is None or record.zone != zone["name"]:
                return self.error(404, None)
            self.store.delete(record_id)
            return Response(204)
        return None

    def list(self, req: Request, zone: str) -> Response:
        name = req.arg("name")
        kind = req.arg("type")
        records = self.store.find(zone=zone, name=name, type=kind)
        page = int(req.arg("page", "1"))
        per_page = min(int(req.arg("per_page", "20")), 200)
        chunk = records[(page - 1) * per_page: page * per_page]
        pages = {}
        if page * per_page < len(records):
            pages["next"] = f"http://api/v2/domains/{zone}/records?page={page + 1}&per_page={per_page}"
        return json_response(200, {
            "domain_records": [self.shape(r) for r in chunk],
            "links": {"pages": pages},
            "meta": {"total": len(records)},
        })

    def create(self, req: Request, zone: str) -> Response:
        body = req.json() or {}
        kind = str(body.get("type", "")).upper()
        name = str(body.get("name", ""))
        data = body.get("data")
        ttl = int(body.get("ttl") or 1800)
        if kind not in ("TXT", "A", "AAAA", "CNAME", "MX") or not name or data is None:
            return json_response(422, {"id": "unprocessable_entity",
                                       "message": "Type, name and data are required."})
        if ttl < 30:
            return json_response(422, {"id": "unprocessable_entity",
                                       "message": "TTL must be at least 30 seconds."})
        record = self.store.add(zone, absolute_in(name, zone), kind, str(data), ttl)
        return json_response(201, {"domain_record": self.shape(record)})

    @staticmethod
    def shape(record) -> dict:
        return {
            "id": int(record.id),
            "type": record.type,
            "name": relative(record.name, record.zone),
            "data": record.content,
            "priority": None,
            "port": None,
            "ttl": record.ttl,
            "weight": None,
            "flags": None,
            "tag": None,
        }


VENDOR = DigitalOcean
