"""DNSimple API v2, identity, accounts, zones and zone records: the calls DNS-01 needs.

Written from DNSimple's published API reference:
https://developer.dnsimple.com/v2/ (authentication, errors, pagination, rate limiting),
https://developer.dnsimple.com/v2/identity/, https://developer.dnsimple.com/v2/accounts/,
https://developer.dnsimple.com/v2/zones/ and https://developer.dnsimple.com/v2/zones/records/
(response shapes as in the fixtures DNSimple publishes with its clients).

* ``GET /v2/whoami``: ``{"data": {"user": null, "account": {...}}}`` for an account token,
  ``{"data": {"user": {...}, "account": null}}`` for a user token.
* ``GET /v2/accounts``: ``{"data": [{"id", "email", ...}]}``.
* ``GET /v2/{account}/zones/{zone}``: ``{"data": {"id", "account_id", "name", ...}}``.
* ``GET /v2/{account}/zones/{zone}/records?name=&name_like=&type=&page=&per_page=``:
  ``{"data": [...], "pagination": {"current_page", "per_page", "total_entries",
  "total_pages"}}``; ``name`` is relative to the zone, ``""`` for the apex, and matched exactly.
* ``POST /v2/{account}/zones/{zone}/records`` ``{"name", "type", "content", "ttl"}``: 201
  ``{"data": {...}}``; an identical record is refused with 400.
* ``GET`` and ``DELETE /v2/{account}/zones/{zone}/records/{id}``: 200 ``{"data": {...}}``, 204.

Authentication: ``Authorization: Bearer <token>``. Every answer carries ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset``. Errors are ``{"message": ...}``: 401 "Authentication failed",
404 "Zone `x` not found" / "Record `n` not found", 400 "Validation failed" with ``errors``,
429 "quota exceeded" (with ``X-RateLimit-Remaining: 0``; DNSimple documents no
``Retry-After``, which the stand-in adds when a test asks for one), 500.

Options: ``token`` (accepted), ``account`` (its id, default 1010), ``kind`` (``account``, the
default, or ``user``: whoami names no account and ``/accounts`` lists it).
"""

from __future__ import annotations

import re
import time

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/v2"
RATE_LIMIT = 2400
STAMP = "2016-01-07T17:45:13Z"
MESSAGES = {
    401: "Authentication failed",
    404: "Not Found",
    429: "quota exceeded",
    500: "Internal Server Error",
}


class Dnsimple(Vendor):
    name = "dnsimple"

    @property
    def account(self) -> str:
        return str(self.options.get("account", "1010"))

    def limit_headers(self, remaining: int = RATE_LIMIT - 1, reset_in: int = 3600) -> dict:
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(int(time.time()) + reset_in),
        }

    def answer(self, status: int, value) -> Response:
        return json_response(status, value, self.limit_headers())

    def error(self, status: int, retry_after: int | None, message: str | None = None) -> Response:
        headers = self.limit_headers()
        if status == 429:
            headers = self.limit_headers(0, retry_after if retry_after is not None else 3600)
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        body = {"message": message or MESSAGES.get(status, MESSAGES[500])}
        return json_response(status, body, headers)

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {self.options.get('token')}":
            return self.error(401, None)
        if req.path == BASE + "/whoami" and req.method == "GET":
            return self.whoami()
        if req.path == BASE + "/accounts" and req.method == "GET":
            return self.answer(200, {"data": [self.account_shape()]})
        m = re.fullmatch(BASE + r"/([^/]+)/zones/([^/]+)(/records(?:/(\d+))?)?/?", req.path)
        if not m:
            return None
        if m.group(1) != self.account:
            return self.error(404, None)
        zone = self.store.zone(m.group(2))
        if zone is None:
            return self.error(404, None, f"Zone `{m.group(2)}` not found")
        if m.group(3) is None:
            if req.method != "GET":
                return None
            return self.answer(200, {"data": self.zone_shape(zone)})
        record_id = m.group(4)
        if record_id is None and req.method == "GET":
            return self.list(req, zone["name"])
        if record_id is None and req.method == "POST":
            return self.create(req, zone["name"])
        if record_id is None:
            return None
        record = self.store.get(record_id)
        if record is None or record.zone != zone["name"]:
            return self.error(404, None, f"Record `{record_id}` not found")
        if req.method == "GET":
            return self.answer(200, {"data": self.shape(record)})
        if req.method == "DELETE":
            self.store.delete(record_id)
            return Response(204, headers=self.limit_headers())
        return None

    def whoami(self) -> Response:
        if self.options.get("kind", "account") == "user":
            user = {"id": 1, "email": "example-user@example.com", "created_at": STAMP,
                    "updated_at": STAMP}
            return self.answer(200, {"data": {"user": user, "account": None}})
        return self.answer(200, {"data": {"user": None, "account": self.account_shape()}})

    def account_shape(self) -> dict:
        return {"id": int(self.account), "email": "example-account@example.com",
                "plan_identifier": "teams-v1-monthly", "created_at": STAMP, "updated_at": STAMP}

    def zone_shape(self, zone: dict) -> dict:
        return {"id": int(zone["id"]), "account_id": int(self.account), "name": zone["name"],
                "reverse": False, "secondary": False, "last_transferred_at": None,
                "active": True, "created_at": STAMP, "updated_at": STAMP}

    def list(self, req: Request, zone: str) -> Response:
        name = req.arg("name")
        name_like = req.arg("name_like")
        kind = req.arg("type")
        records = [
            r for r in self.store.find(zone=zone, type=kind)
            if (name is None or self.relative_name(r) == name.lower())
            and (name_like is None or name_like.lower() in self.relative_name(r))
        ]
        page = max(int(req.arg("page", "1")), 1)
        per_page = min(max(int(req.arg("per_page", "30")), 1), 100)
        chunk = records[(page - 1) * per_page: page * per_page]
        return self.answer(200, {
            "data": [self.shape(r) for r in chunk],
            "pagination": {
                "current_page": page,
                "per_page": per_page,
                "total_entries": len(records),
                "total_pages": max((len(records) + per_page - 1) // per_page, 1),
            },
        })

    def create(self, req: Request, zone: str) -> Response:
        body = req.json() or {}
        kind = str(body.get("type", "")).upper()
        name = body.get("name")
        content = body.get("content")
        errors = {}
        if name is None:
            errors["name"] = ["can't be blank"]
        if not content:
            errors["content"] = ["can't be blank"]
        if kind not in ("TXT", "A", "AAAA", "CNAME", "MX"):
            errors["record_type"] = ["unsupported"]
        ttl = body.get("ttl", 3600)
        if not isinstance(ttl, int) or ttl < 0:
            errors["ttl"] = ["is not a number"]
        if errors:
            return self.answer(400, {"message": "Validation failed", "errors": errors})
        content = str(content)
        if kind == "TXT" and len(content) >= 2 and content[0] == content[-1] == '"':
            content = content[1:-1]
        fqdn = absolute_in(str(name), zone)
        if self.store.find(zone=zone, name=fqdn, type=kind, content=content):
            return self.answer(400, {"message": "Validation failed", "errors": {
                "base": ["Matching record already exists for this zone"]}})
        record = self.store.add(zone, fqdn, kind, content, ttl)
        return self.answer(201, {"data": self.shape(record)})

    @staticmethod
    def relative_name(record) -> str:
        name = relative(record.name, record.zone)
        return "" if name == "@" else name

    def shape(self, record) -> dict:
        return {
            "id": int(record.id),
            "zone_id": record.zone,
            "parent_id": None,
            "name": self.relative_name(record),
            "content": record.content,
            "ttl": record.ttl,
            "priority": None,
            "type": record.type,
            "regions": ["global"],
            "system_record": False,
            "created_at": STAMP,
            "updated_at": STAMP,
        }


VENDOR = Dnsimple
