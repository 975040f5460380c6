"""IONOS DNS API (the hosting API at api.hosting.ionos.com, not IONOS Cloud DNS): the calls
DNS-01 needs.

Written from IONOS's published API reference, https://developer.hosting.ionos.com/docs/dns,
whose OpenAPI document is https://developer.hosting.ionos.de/assets/kms-swagger-specs/dns.yaml
(DNS API 1.0.2, server ``https://api.hosting.ionos.com/dns``):

* ``GET /v1/zones``: ``[{"name", "id", "type": "NATIVE"}]``.
* ``GET /v1/zones/{zoneId}?suffix=&recordName=&recordType=``: the customer zone
  ``{"id", "name", "type", "records": [...]}`` with the records the filters let through
  (``recordName`` is a record's absolute name, ``recordType`` a comma-separated list).
* ``PATCH /v1/zones/{zoneId}`` ``[record, ...]``: replaces all records of the same name and type
  with the ones given; 200, no body.
* ``POST /v1/zones/{zoneId}/records`` ``[{"name", "type", "content", "ttl", "prio",
  "disabled"}]``: 201 with the created records. ``name`` is absolute (``_acme-challenge.a.example.com``).
* ``GET`` / ``DELETE /v1/zones/{zoneId}/records/{recordId}``: the record / 200, no body; 404
  ``RECORD_NOT_FOUND`` when there is none.

A record reads back as ``{"id", "name", "rootName", "type", "content", "changeDate", "ttl",
"prio", "disabled"}``; a TXT record's ``content`` reads back quoted (``"\\"value\\""``), as
IONOS serves it. Ids are UUIDs.

Authentication: ``X-API-Key: <public prefix>.<secret>``. Errors are lists of ``{"code",
"message"}``: 401 ``UNAUTHORIZED`` "The customer is not authorized to do this operation.", 400
``INVALID_RECORD``, 404 ``RECORD_NOT_FOUND`` "Record does not exist.", 500
``INTERNAL_SERVER_ERROR``. The reference documents 429 ("Rate limit excedeed.") without a body,
and no answer for a zone id the account does not have: the stand-in answers 404 in the
documented error shape (``ZONE_NOT_FOUND``) for it.
"""

from __future__ import annotations

import re
import time
import uuid

from standins.core import (
    Request,
    Response,
    Vendor,
    bare,
    json_response,
    within,
)

BASE = "/dns/v1"
ERRORS = {
    400: ("INVALID_RECORD", "Record is invalid."),
    401: ("UNAUTHORIZED", "The customer is not authorized to do this operation."),
    403: ("FORBIDDEN_REQUEST", "Request not allowed."),
    404: ("RECORD_NOT_FOUND", "Record does not exist."),
}
RECORD_TYPES = {"A", "AAAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT", "CAA", "TLSA", "SMIMEA",
                "SSHFP", "DS", "HTTPS", "SVCB", "CERT", "URI", "RP", "LOC", "OPENPGPKEY"}


def as_uuid(store_id: str) -> str:
    return str(uuid.UUID(int=int(store_id)))


def from_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text).int)
    except ValueError:
        return None


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(content: str) -> str:
    """TXT content as sent: IONOS takes it bare or quoted."""
    content = content.strip()
    if len(content) >= 2 and content[0] == '"' and content[-1] == '"':
        return re.sub(r'\\(.)', r'\1', content[1:-1])
    return content


class Ionos(Vendor):
    name = "ionos"

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return Response(429, b"", "text/plain", headers)
        if status >= 500:
            return json_response(status, [{"code": "INTERNAL_SERVER_ERROR"}])
        code, message = ERRORS.get(status, ("INVALID_DATA", "The request body is invalid or not supported by the endpoint."))
        return json_response(status, [{"code": code, "message": message}])

    def route(self, req: Request) -> Response | None:
        if req.header("x-api-key") != self.options.get("api_key"):
            return self.error(401, None)
        if req.path.rstrip("/") == BASE + "/zones":
            if req.method != "GET":
                return None
            return json_response(200, [
                {"name": z["name"], "id": as_uuid(z["id"]), "type": "NATIVE"}
                for z in self.store.zones.values()
            ])
        m = re.fullmatch(BASE + r"/zones/([^/]+)(/records(?:/([^/]+))?)?/?", req.path)
        if not m:
            return None
        store_id = from_uuid(m.group(1))
        zone = self.store.zone_by_id(store_id) if store_id else None
        if zone is None:
            return json_response(404, [{"code": "ZONE_NOT_FOUND", "message": "Zone does not exist."}])
        if m.group(2) is None:
            if req.method == "GET":
                return self.customer_zone(req, zone)
            if req.method == "PATCH":
                return self.patch(req, zone)
            return None
        record_id = m.group(3)
        if record_id is None:
            return self.create(req, zone) if req.method == "POST" else None
        record = self.store.get(from_uuid(record_id) or "")
        if record is None or record.zone != zone["name"]:
            return self.error(404, None)
        if req.method == "GET":
            return json_response(200, self.shape(record))
        if req.method == "DELETE":
            self.store.delete(record.id)
            return Response(200)
        return None

    def customer_zone(self, req: Request, zone: dict) -> Response:
        suffix = req.arg("suffix")
        name = req.arg("recordName")
        types = {t.strip().upper() for t in (req.arg("recordType") or "").split(",") if t.strip()}
        records = [
            r for r in self.store.find(zone=zone["name"])
            if (suffix is None or within(r.name, suffix))
            and (name is None or r.name == bare(name))
            and (not types or r.type in types)
        ]
        return json_response(200, {
            "id": as_uuid(zone["id"]),
            "name": zone["name"],
            "type": "NATIVE",
            "records": [self.shape(r) for r in records],
        })

    def create(self, req: Request, zone: dict) -> Response:
        body = req.json()
        if not isinstance(body, list) or not body:
            return self.error(400, None)
        checked = []
        for item in body:
            problem = self.invalid(item, zone)
            if problem is not None:
                return problem
            checked.append(item)
        created = [
            self.store.add(zone["name"], item["name"], item["type"], self.content(item),
                           int(item.get("ttl") or 3600), prio=int(item.get("prio") or 0),
                           disabled=bool(item.get("disabled", False)))
            for item in checked
        ]
        return json_response(201, [self.shape(r) for r in created])

    def patch(self, req: Request, zone: dict) -> Response:
        body = req.json()
        if not isinstance(body, list):
            return self.error(400, None)
        groups: dict[tuple[str, str], list[dict]] = {}
        for item in body:
            problem = self.invalid(item, zone)
            if problem is not None:
                return problem
            groups.setdefault((bare(item["name"]), str(item["type"]).upper()), []).append(item)
        for (name, kind), items in groups.items():
            ttl = min(int(i.get("ttl") or 3600) for i in items)
            self.store.replace_set(zone["name"], name, kind, [self.content(i) for i in items], ttl)
        return Response(200)

    def invalid(self, item: object, zone: dict) -> Response | None:
        """The documented 400 for a record the API would refuse, else ``None``."""
        if not isinstance(item, dict):
            return self.error(400, None)
        missing = [f for f in ("name", "type", "content") if item.get(f) in (None, "")]
        if missing:
            return json_response(400, [{"code": "INVALID_RECORD", "message": "Record is invalid.",
                                        "parameters": {"requiredFields": missing}}])
        if str(item["type"]).upper() not in RECORD_TYPES or not within(str(item["name"]), zone["name"]):
            return json_response(400, [{"code": "INVALID_RECORD", "message": "Record is invalid.",
                                        "parameters": {"errorRecord": item}}])
        return None

    @staticmethod
    def content(item: dict) -> str:
        content = str(item["content"])
        return unquote(content) if str(item["type"]).upper() == "TXT" else content

    @staticmethod
    def shape(record) -> dict:
        content = quote(record.content) if record.type == "TXT" else record.content
        return {
            "id": as_uuid(record.id),
            "name": record.name,
            "rootName": record.zone,
            "type": record.type,
            "content": content,
            "changeDate": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "ttl": record.ttl,
            "prio": record.extra.get("prio", 0),
            "disabled": record.extra.get("disabled", False),
        }


VENDOR = Ionos
