"""Linode API v4, domains and domain records: the calls DNS-01 needs.

Written from Linode's published API reference:
https://techdocs.akamai.com/linode-api/reference/get-domains,
https://techdocs.akamai.com/linode-api/reference/get-domain-records,
https://techdocs.akamai.com/linode-api/reference/post-domain-record,
https://techdocs.akamai.com/linode-api/reference/delete-domain-record,
https://techdocs.akamai.com/linode-api/reference/pagination,
https://techdocs.akamai.com/linode-api/reference/filtering-and-sorting,
https://techdocs.akamai.com/linode-api/reference/errors and
https://techdocs.akamai.com/linode-api/reference/rate-limits

* ``GET /v4/domains?page=&page_size=``, optionally with an ``X-Filter`` header (a JSON object;
  ``{"domain": "example.com"}``): ``{"data": [Domain...], "page", "pages", "results"}``.
  ``page_size`` is 25 to 500 (default 100); a page past the last one is empty.
* ``GET /v4/domains/{domainId}``: the Domain.
* ``GET /v4/domains/{domainId}/records?page=&page_size=`` (``X-Filter`` on ``name``, ``type``):
  the same envelope of DomainRecords; ``name`` is relative to the domain, empty for the apex.
* ``POST /v4/domains/{domainId}/records`` ``{"type", "name", "target", "ttl_sec"}``: 200, the
  DomainRecord. ``ttl_sec`` is rounded up to the next of 0 (the domain's default), 30, 120,
  300, 3600, 7200, ... 2419200.
* ``GET`` / ``DELETE /v4/domains/{domainId}/records/{recordId}``: the record / 200 ``{}``.

Authentication: ``Authorization: Bearer <personal access token>``. Errors are ``{"errors":
[{"reason", "field"?}]}``: 400 on invalid input, 401 "Invalid Token", 404 "Not found", 429 "Too
Many Requests" (with ``Retry-After`` and ``X-RateLimit-*`` headers), 500.
"""

from __future__ import annotations

import json
import math
import re

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/v4"
CREATED = "2018-01-01T00:01:01"
VALID_TTLS = [0, 30, 120, 300, 3600, 7200, 14400, 28800, 57600, 86400, 172800, 345600, 604800,
              1209600, 2419200]
REASONS = {
    400: "Bad request",
    401: "Invalid Token",
    403: "Unauthorized",
    404: "Not found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def errors(status: int, reason: str, field: str | None = None,
           headers: dict[str, str] | None = None) -> Response:
    error = {"reason": reason}
    if field:
        error["field"] = field
    return json_response(status, {"errors": [error]}, headers)


class Linode(Vendor):
    name = "linode"

    def error(self, status: int, retry_after: int | None) -> Response:
        headers = {}
        if status == 429:
            headers = {"X-RateLimit-Limit": "800", "X-RateLimit-Remaining": "0",
                       "X-RateLimit-Reset": "1700000000"}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        return errors(status, REASONS.get(status, REASONS[500]), headers=headers)

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {self.options.get('token')}":
            return self.error(401, None)
        try:
            wanted = self.filters(req)
        except ValueError as e:
            return errors(400, str(e))
        if req.path.rstrip("/") == BASE + "/domains" and req.method == "GET":
            domains = [self.domain(z) for z in self.store.zones.values()]
            return self.page(req, [d for d in domains if matches(d, wanted)])
        m = re.fullmatch(BASE + r"/domains/(\d+)(/records(?:/(\d+))?)?/?", req.path)
        if not m:
            return None
        zone = self.store.zone_by_id(m.group(1))
        if zone is None:
            return self.error(404, None)
        if m.group(2) is None:
            return json_response(200, self.domain(zone)) if req.method == "GET" else None
        record_id = m.group(3)
        if record_id is None and req.method == "GET":
            records = [self.shape(r) for r in self.store.find(zone=zone["name"])]
            return self.page(req, [r for r in records if matches(r, wanted)])
        if record_id is None and req.method == "POST":
            return self.create(req, zone["name"])
        record = self.store.get(record_id) if record_id is not None else None
        if record is None or record.zone != zone["name"]:
            return self.error(404, None)
        if req.method == "GET":
            return json_response(200, self.shape(record))
        if req.method == "DELETE":
            self.store.delete(record.id)
            return json_response(200, {})
        return None

    @staticmethod
    def filters(req: Request) -> dict:
        """The ``X-Filter`` header as flat ``{field: value}`` equality: a plain object, or
        ``{"+and": [objects]}``. The API's other operators are not served."""
        raw = req.header("x-filter")
        if not raw:
            return {}
        try:
            spec = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError("Filter is not valid JSON") from None
        if not isinstance(spec, dict):
            raise ValueError("Filter must be an object")
        flat = {}
        for part in spec.get("+and", [spec]):
            for key, value in part.items():
                if key == "+and":
                    continue
                if key.startswith("+") or isinstance(value, (dict, list)):
                    raise ValueError(f"Filter operator not supported by the stand-in: {key}")
                flat[key] = value
        return flat

    @staticmethod
    def page(req: Request, items: list[dict]) -> Response:
        try:
            page = int(req.arg("page", "1"))
            size = int(req.arg("page_size", "100"))
        except ValueError:
            return errors(400, "Must be an integer", "page")
        if page < 1:
            return errors(400, "Must be greater than 0", "page")
        if not 25 <= size <= 500:
            return errors(400, "Must be between 25 and 500", "page_size")
        pages = max(1, math.ceil(len(items) / size))
        return json_response(200, {
            "data": items[(page - 1) * size: page * size],
            "page": page,
            "pages": pages,
            "results": len(items),
        })

    def create(self, req: Request, zone: str) -> Response:
        try:
            body = req.json() or {}
        except json.JSONDecodeError:
            return errors(400, "Invalid JSON")
        kind = str(body.get("type", "")).upper()
        if kind not in ("A", "AAAA", "NS", "MX", "CNAME", "TXT", "SRV", "PTR", "CAA"):
            return errors(400, "type is required and must be a valid record type", "type")
        target = body.get("target")
        if kind == "TXT" and not target:
            return errors(400, "target is required", "target")
        name = str(body.get("name") or "")
        if len(name) > 100:
            return errors(400, "Length must be 1-100 characters", "name")
        try:
            ttl = round_ttl(int(body.get("ttl_sec") or 0))
        except (TypeError, ValueError):
            return errors(400, "Must be an integer", "ttl_sec")
        record = self.store.add(zone, absolute_in(name, zone), kind, str(target), ttl,
                                priority=body.get("priority", 0), weight=body.get("weight", 0),
                                port=body.get("port", 0))
        return json_response(200, self.shape(record))

    @staticmethod
    def domain(zone: dict) -> dict:
        return {
            "id": int(zone["id"]),
            "domain": zone["name"],
            "type": "master",
            "status": "active",
            "soa_email": f"admin@{zone['name']}",
            "description": "",
            "group": "",
            "tags": [],
            "master_ips": [],
            "axfr_ips": [],
            "ttl_sec": 300,
            "refresh_sec": 0,
            "retry_sec": 0,
            "expire_sec": 0,
            "created": CREATED,
            "updated": CREATED,
        }

    @staticmethod
    def shape(record) -> dict:
        name = relative(record.name, record.zone)
        return {
            "id": int(record.id),
            "type": record.type,
            "name": "" if name == "@" else name,
            "target": record.content,
            "priority": record.extra.get("priority", 0),
            "weight": record.extra.get("weight", 0),
            "port": record.extra.get("port", 0),
            "service": None,
            "protocol": None,
            "ttl_sec": record.ttl,
            "tag": None,
            "created": CREATED,
            "updated": CREATED,
        }


def round_ttl(ttl: int) -> int:
    """Linode rounds a TTL up to the next value it accepts."""
    return next((v for v in VALID_TTLS if v >= ttl), VALID_TTLS[-1])


def matches(item: dict, wanted: dict) -> bool:
    return all(str(item.get(k, "")).lower() == str(v).lower() for k, v in wanted.items())


VENDOR = Linode
