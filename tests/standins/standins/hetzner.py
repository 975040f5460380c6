"""Hetzner Cloud API, DNS zones and RRSets: the calls DNS-01 needs.

Written from Hetzner's published API reference:
https://docs.hetzner.cloud/reference/cloud#zones,
https://docs.hetzner.cloud/reference/cloud#zone-rrsets,
https://docs.hetzner.cloud/reference/cloud#zone-rrset-actions-add-records-to-an-rrset,
https://docs.hetzner.cloud/reference/cloud#zone-rrset-actions-remove-records-from-an-rrset,
https://docs.hetzner.cloud/reference/cloud#zone-actions-get-an-action, and its introduction's
"Errors" and "Rate Limiting" sections.

Served under ``/v1``:

* ``GET /zones?name=&page=&per_page=``: ``{"zones": [...], "meta": {"pagination": {...}}}``;
  ``GET /zones/{id_or_name}``: ``{"zone": {...}}``.
* ``GET /zones/{id_or_name}/rrsets?name=&type=`` (list, paginated) and
  ``GET /zones/{id_or_name}/rrsets/{rr_name}/{rr_type}``: ``{"rrset": {"id": "name/TYPE",
  "name", "type", "ttl", "labels", "protection", "records": [{"value", "comment"}], "zone"}}``.
  ``rr_name`` is relative to the zone, lower case, ``@`` for the apex.
* ``POST .../rrsets/{rr_name}/{rr_type}/actions/add_records`` ``{"records": [{"value",
  "comment"}], "ttl"}``: creates the RRSet when there is none, else appends; a ``ttl`` must match
  the TTL the RRSet has. ``POST .../actions/remove_records`` ``{"records": [{"value"}]}``:
  removes them, deleting an RRSet left empty; 404 when there is no RRSet. Both answer 201
  ``{"action": {"id", "command", "status": "running", ...}}``; records must be non-empty and
  distinct; TXT values are quoted strings (``"text"``).
* ``GET /zones/actions/{id}`` (and ``GET /actions/{id}``): ``{"action": {...}}``, ``success``
  once asked after. The stand-in applies the change at once.

The reference does not say what ``add_records`` does with a value the RRSet already holds, nor
``remove_records`` with a value it does not: the stand-in keeps one copy of a value (an RRSet is
a set, RFC 2181 §5) and ignores a value that is not there.

Authentication: ``Authorization: Bearer <token>``. Errors are ``{"error": {"code", "message",
"details"}}``: 401 ``unauthorized``, 404 ``not_found``, 400 ``invalid_input`` (with
``details.fields``), 409 ``conflict``, 423 ``locked``, 429 ``rate_limit_exceeded`` (with
``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset``, and ``Retry-After`` when the
fault gives one), 500 ``server_error``.
"""

from __future__ import annotations

import itertools
import re
import threading
import time

from standins.core import Request, Response, Vendor, absolute_in, bare, json_response, quote_txt

BASE = "/v1"
TYPES = ("A", "AAAA", "CAA", "CNAME", "DS", "HINFO", "HTTPS", "MX", "NS", "PTR", "RP", "SOA",
         "SRV", "SVCB", "TLSA", "TXT")
MESSAGES = {
    400: ("invalid_input", "invalid input"),
    401: ("unauthorized", "unable to authenticate"),
    403: ("forbidden", "insufficient permissions for this request"),
    404: ("not_found", "resource not found"),
    409: ("conflict", "the resource has changed during the request, please retry"),
    423: ("locked", "the item you are trying to access is locked (there is already an action "
                    "running)"),
    429: ("rate_limit_exceeded", "limit of 3600 requests per hour reached"),
    500: ("server_error", "error within the API backend"),
}
ZONE_TTL = 3600
CREATED = "2025-10-07T10:00:00+00:00"


def unquote_txt(value: str) -> str | None:
    """The text of TXT content made of quoted strings, ``None`` when it is not."""
    parts = re.fullmatch(r'\s*("(?:[^"\\]|\\.)*"\s*)+', value)
    if not parts:
        return None
    strings = re.findall(r'"((?:[^"\\]|\\.)*)"', value)
    return "".join(re.sub(r"\\(.)", r"\1", s) for s in strings)


class Hetzner(Vendor):
    name = "hetzner"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.actions: dict[int, dict] = {}
        self.action_ids = itertools.count(1)
        self.lock = threading.Lock()

    def error(self, status: int, retry_after: int | None, message: str | None = None,
              details: dict | None = None) -> Response:
        code, default = MESSAGES.get(status, MESSAGES[500])
        headers = {}
        if status == 429:
            wait = retry_after if retry_after is not None else 60
            headers = {"RateLimit-Limit": "3600", "RateLimit-Remaining": "0",
                       "RateLimit-Reset": str(int(time.time()) + wait)}
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        body = {"error": {"code": code, "message": message or default, "details": details or {}}}
        return json_response(status, body, headers)

    def invalid(self, field: str, message: str) -> Response:
        return self.error(400, None, f"invalid input in field '{field}'",
                          {"fields": [{"name": field, "messages": [message]}]})

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Bearer {self.options.get('token')}":
            return self.error(401, None)
        if not req.path.startswith(BASE + "/"):
            return None
        path = req.path[len(BASE):].rstrip("/")
        m = re.fullmatch(r"(?:/zones)?/actions/(\d+)", path)
        if m and req.method == "GET":
            return self.get_action(int(m.group(1)))
        if path == "/zones" and req.method == "GET":
            return self.list_zones(req)
        m = re.fullmatch(r"/zones/([^/]+)(/rrsets(?:/([^/]+)/([^/]+)(/actions/(\w+))?)?)?", path)
        if not m:
            return None
        zone = self.zone(m.group(1))
        if zone is None:
            return self.error(404, None, f"zone with ID or name {m.group(1)!r} not found")
        if m.group(2) is None:
            return json_response(200, {"zone": self.shape_zone(zone)}) if req.method == "GET" else None
        if m.group(3) is None:
            return self.list_rrsets(req, zone) if req.method == "GET" else None
        rr_name, rr_type, action = m.group(3), m.group(4), m.group(6)
        if rr_type not in TYPES:
            return self.invalid("rr_type", f"must be one of {', '.join(TYPES)}")
        if (rr_name != rr_name.lower() or rr_name.endswith(".") or bare(rr_name) == zone["name"]
                or rr_name.endswith("." + zone["name"])):
            return self.invalid("rr_name", "must be lower case, relative to the zone")
        if action is None and req.method == "GET":
            rrset = self.rrset(zone, rr_name, rr_type)
            if rrset is None:
                return self.error(404, None, "rrset not found")
            return json_response(200, {"rrset": rrset})
        if action == "add_records" and req.method == "POST":
            return self.add_records(req, zone, rr_name, rr_type)
        if action == "remove_records" and req.method == "POST":
            return self.remove_records(req, zone, rr_name, rr_type)
        return None

    def zone(self, id_or_name: str) -> dict | None:
        if id_or_name.isdigit():
            return self.store.zone_by_id(id_or_name)
        return self.store.zone(id_or_name)

    def list_zones(self, req: Request) -> Response:
        zones = list(self.store.zones.values())
        name = req.arg("name")
        if name is not None:
            zones = [z for z in zones if z["name"] == name]
        return self.page(req, "zones", [self.shape_zone(z) for z in zones])

    def list_rrsets(self, req: Request, zone: dict) -> Response:
        names = sorted({(r.name, r.type) for r in self.store.find(zone=zone["name"])})
        want_name = req.arg("name")
        want_types = req.query.get("type") or []
        rrsets = []
        for fqdn, rr_type in names:
            rr_name = self.relative(fqdn, zone)
            if (want_name is None or rr_name == want_name) and (
                    not want_types or rr_type in want_types):
                rrsets.append(self.rrset(zone, rr_name, rr_type))
        return self.page(req, "rrsets", rrsets)

    @staticmethod
    def page(req: Request, key: str, items: list) -> Response:
        page = int(req.arg("page", "1"))
        per_page = min(int(req.arg("per_page", "25")), 100)
        last = max(1, -(-len(items) // per_page))
        pagination = {
            "page": page,
            "per_page": per_page,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if page < last else None,
            "last_page": last,
            "total_entries": len(items),
        }
        chunk = items[(page - 1) * per_page: page * per_page]
        return json_response(200, {key: chunk, "meta": {"pagination": pagination}})

    def shape_zone(self, zone: dict) -> dict:
        return {
            "id": int(zone["id"]),
            "name": zone["name"],
            "created": CREATED,
            "mode": "primary",
            "ttl": ZONE_TTL,
            "labels": {},
            "protection": {"delete": False},
            "status": "ok",
            "record_count": len(self.store.find(zone=zone["name"])),
            "registrar": "other",
            "primary_nameservers": [],
            "authoritative_nameservers": {
                "assigned": ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.",
                             "helium.ns.hetzner.de."],
                "delegated": [],
                "delegation_last_check": None,
                "delegation_status": "unknown",
            },
        }

    @staticmethod
    def relative(fqdn: str, zone: dict) -> str:
        fqdn, apex = bare(fqdn), zone["name"]
        return "@" if fqdn == apex else fqdn[: -(len(apex) + 1)]

    def rrset(self, zone: dict, rr_name: str, rr_type: str) -> dict | None:
        records = self.store.find(zone=zone["name"], name=absolute_in(rr_name, zone["name"]),
                                  type=rr_type)
        if not records:
            return None
        return {
            "id": f"{rr_name}/{rr_type}",
            "name": rr_name,
            "type": rr_type,
            "ttl": records[0].ttl,
            "labels": {},
            "protection": {"change": False},
            "records": [{"value": self.stored(r.type, r.content),
                         "comment": r.extra.get("comment", "")} for r in records],
            "zone": int(zone["id"]),
        }

    @staticmethod
    def stored(rr_type: str, content: str) -> str:
        return quote_txt(content) if rr_type == "TXT" else content

    def records_of(self, req: Request, rr_type: str) -> tuple[list[tuple[str, str]], Response | None]:
        """The ``(content, comment)`` pairs of the body's records, or an error response."""
        body = req.json() or {}
        records = body.get("records")
        if not isinstance(records, list) or not records:
            return [], self.invalid("records", "must not be empty")
        values = [r.get("value") if isinstance(r, dict) else None for r in records]
        if any(not isinstance(v, str) or not v for v in values):
            return [], self.invalid("records", "every record needs a value")
        if len(set(values)) != len(values):
            return [], self.invalid("records", "must only contain distinct record values")
        pairs = []
        for record, value in zip(records, values):
            content = value
            if rr_type == "TXT":
                content = unquote_txt(value)
                if content is None:
                    return [], self.invalid("records", "TXT values must be quoted strings")
            pairs.append((content, str(record.get("comment") or "")))
        return pairs, None

    def add_records(self, req: Request, zone: dict, rr_name: str, rr_type: str) -> Response:
        pairs, refusal = self.records_of(req, rr_type)
        if refusal is not None:
            return refusal
        ttl = (req.json() or {}).get("ttl")
        if ttl is not None and (not isinstance(ttl, int) or ttl < 60):
            return self.invalid("ttl", "must be in between 60s and 2147483647s")
        name = absolute_in(rr_name, zone["name"])
        with self.store.lock:
            existing = self.store.find(zone=zone["name"], name=name, type=rr_type)
            if existing and ttl is not None and ttl != existing[0].ttl:
                return self.invalid("ttl", "must be the same as the TTL of the RRSet")
            set_ttl = existing[0].ttl if existing else (ttl or ZONE_TTL)
            held = {r.content for r in existing}
            for content, comment in pairs:
                if content not in held:
                    self.store.add(zone["name"], name, rr_type, content, set_ttl, comment=comment)
        return json_response(201, {"action": self.new_action("add_rrset_records", zone)})

    def remove_records(self, req: Request, zone: dict, rr_name: str, rr_type: str) -> Response:
        pairs, refusal = self.records_of(req, rr_type)
        if refusal is not None:
            return refusal
        name = absolute_in(rr_name, zone["name"])
        with self.store.lock:
            existing = self.store.find(zone=zone["name"], name=name, type=rr_type)
            if not existing:
                return self.error(404, None, "rrset not found")
            remove = {content for content, _ in pairs}
            for record in existing:
                if record.content in remove:
                    self.store.delete(record.id)
        return json_response(201, {"action": self.new_action("remove_rrset_records", zone)})

    def new_action(self, command: str, zone: dict) -> dict:
        with self.lock:
            action = {
                "id": next(self.action_ids),
                "command": command,
                "status": "running",
                "progress": 0,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                "finished": None,
                "resources": [{"id": int(zone["id"]), "type": "zone"}],
                "error": None,
            }
            self.actions[action["id"]] = action
            return dict(action)

    def get_action(self, action_id: int) -> Response:
        with self.lock:
            action = self.actions.get(action_id)
            if action is None:
                return self.error(404, None, f"action with ID {action_id} not found")
            if action["status"] == "running":
                action.update(status="success", progress=100, finished=time.strftime(
                    "%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()))
            return json_response(200, {"action": dict(action)})


VENDOR = Hetzner
