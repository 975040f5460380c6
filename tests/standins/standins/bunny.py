"""bunny.net API, DNS zones and records: the calls DNS-01 needs.

Written from bunny.net's published API reference:
https://docs.bunny.net/api-reference/core/dns-zone/list-dns-zones,
https://docs.bunny.net/api-reference/core/dns-zone/get-dns-zone,
https://docs.bunny.net/api-reference/core/dns-zone/add-dns-record,
https://docs.bunny.net/api-reference/core/dns-zone/delete-dns-record (the OpenAPI document
behind them: https://core-api-public-docs.b-cdn.net/docs/v3/public.json), and
https://docs.bunny.net/api-reference/core/errors.

* ``GET /dnszone?page=&perPage=&search=``: ``{"Items": [zone, ...], "CurrentPage",
  "TotalItems", "HasMoreItems"}``; ``perPage`` 5 to 1000 (default 1000), ``search`` filters by
  domain.
* ``GET /dnszone/{id}``: the zone, ``{"Id", "Domain", "Records": [...], "Nameserver1", ...}``;
  404 when there is no such zone.
* ``PUT /dnszone/{zoneId}/records`` ``{"Type", "Name", "Value", "Ttl", ...}``: 201 with the
  record. ``Name`` is relative to the zone, empty for the apex; ``Type`` is the record type's
  number (0 A, 1 AAAA, 2 CNAME, 3 TXT, 4 MX, 5 Redirect, 6 Flatten, 7 PullZone, 8 SRV, 9 CAA,
  10 PTR, 11 Script, 12 NS); TXT values are stored as given, unquoted.
* ``DELETE /dnszone/{zoneId}/records/{id}``: 204; 404 when there is no such record.

Authentication: the ``AccessKey`` header (the account's API key). Errors are
``{"ErrorKey", "Field", "Message"}`` (``{"ErrorKey": "pullZone.not_found", "Field":
"PullZone", "Message": "The requested Pull Zone was not found"}`` in the reference): 400
validation, 401 authorization failed, 404 not found, 429 rate limit exceeded (with
``Retry-After`` when the fault gives one), 500. The reference names no keys for DNS zones; the
stand-in's follow the example's pattern.
"""

from __future__ import annotations

import re

from standins.core import Request, Response, Vendor, absolute_in, bare, json_response

TYPES = ["A", "AAAA", "CNAME", "TXT", "MX", "Redirect", "Flatten", "PullZone", "SRV", "CAA",
         "PTR", "Script", "NS"]
MESSAGES = {
    400: ("validation.failed", "The request did not pass validation."),
    401: ("authorization.failed", "Authorization for the request has failed."),
    404: ("entity.not_found", "The requested entity could not be found."),
    429: ("rate_limit.exceeded", "Too many requests; the rate limit has been exceeded."),
    500: ("server.error", "An internal server error occurred."),
}
DATE = "2025-01-01T00:00:00Z"


class Bunny(Vendor):
    name = "bunny"

    def error(self, status: int, retry_after: int | None, message: str | None = None,
              field: str = "", key: str | None = None) -> Response:
        default_key, default = MESSAGES.get(status, MESSAGES[500])
        headers = {"Retry-After": str(retry_after)} if status == 429 and retry_after else {}
        return json_response(status, {"ErrorKey": key or default_key, "Field": field,
                                      "Message": message or default}, headers)

    def route(self, req: Request) -> Response | None:
        if req.header("accesskey") != self.options.get("key"):
            return self.error(401, None)
        path = req.path.rstrip("/")
        if path == "/dnszone" and req.method == "GET":
            return self.list_zones(req)
        m = re.fullmatch(r"/dnszone/(\d+)(/records(?:/(\d+))?)?", path)
        if not m:
            return None
        zone = self.store.zone_by_id(m.group(1))
        if zone is None:
            return self.error(404, None, "The requested DNS Zone was not found", "DnsZone",
                              "dnsZone.not_found")
        if m.group(2) is None:
            return json_response(200, self.shape_zone(zone)) if req.method == "GET" else None
        if m.group(3) is None:
            return self.add_record(req, zone) if req.method == "PUT" else None
        if req.method == "DELETE":
            record = self.store.get(m.group(3))
            if record is None or record.zone != zone["name"]:
                return self.error(404, None, "The requested DNS Record was not found",
                                  "DnsRecord", "dnsRecord.not_found")
            self.store.delete(record.id)
            return Response(204)
        return None

    def list_zones(self, req: Request) -> Response:
        search = (req.arg("search") or "").lower()
        zones = [z for z in self.store.zones.values() if search in z["name"]]
        page = max(1, int(req.arg("page", "1")))
        per_page = int(req.arg("perPage", "1000"))
        if not 5 <= per_page <= 1000:
            return self.error(400, None, "perPage must be between 5 and 1000", "perPage")
        chunk = zones[(page - 1) * per_page: page * per_page]
        return json_response(200, {
            "Items": [self.shape_zone(z) for z in chunk],
            "CurrentPage": page,
            "TotalItems": len(zones),
            "HasMoreItems": page * per_page < len(zones),
        })

    def add_record(self, req: Request, zone: dict) -> Response:
        body = req.json() or {}
        kind = body.get("Type")
        if isinstance(kind, str) and kind in TYPES:
            kind = TYPES.index(kind)
        if not isinstance(kind, int) or not 0 <= kind < len(TYPES):
            return self.error(400, None, "The record type is invalid.", "Type")
        value = body.get("Value")
        if not isinstance(value, str) or not value:
            return self.error(400, None, "The record value is required.", "Value")
        name = body.get("Name") or ""
        if not isinstance(name, str):
            return self.error(400, None, "The record name is invalid.", "Name")
        ttl = body.get("Ttl") or 300
        if not isinstance(ttl, int) or ttl < 1:
            return self.error(400, None, "The TTL is invalid.", "Ttl")
        record = self.store.add(zone["name"], absolute_in(name, zone["name"]), TYPES[kind],
                                value, ttl, comment=body.get("Comment"))
        return json_response(201, self.shape_record(record))

    def shape_zone(self, zone: dict) -> dict:
        return {
            "Id": int(zone["id"]),
            "Domain": zone["name"],
            "Records": [self.shape_record(r) for r in self.store.find(zone=zone["name"])],
            "DateModified": DATE,
            "DateCreated": DATE,
            "NameserversDetected": True,
            "CustomNameserversEnabled": False,
            "Nameserver1": "kiki.bunny.net",
            "Nameserver2": "coco.bunny.net",
            "SoaEmail": "hostmaster@bunny.net",
            "NameserversNextCheck": DATE,
            "LoggingEnabled": False,
            "LoggingIPAnonymizationEnabled": True,
            "LogAnonymizationType": 0,
            "DnsSecEnabled": False,
            "CertificateKeyType": 0,
        }

    @staticmethod
    def shape_record(record) -> dict:
        name = bare(record.name)
        return {
            "Id": int(record.id),
            "Type": TYPES.index(record.type) if record.type in TYPES else 0,
            "Ttl": record.ttl,
            "Value": record.content,
            "Name": "" if name == record.zone else name[: -(len(record.zone) + 1)],
            "Weight": 0,
            "Priority": 0,
            "Port": 0,
            "Flags": 0,
            "Tag": "",
            "Accelerated": False,
            "AcceleratedPullZoneId": 0,
            "LinkName": "",
            "IPGeoLocationInfo": None,
            "GeolocationInfo": None,
            "MonitorStatus": 0,
            "MonitorType": 0,
            "GeolocationLatitude": 0,
            "GeolocationLongitude": 0,
            "EnviromentalVariables": [],
            "LatencyZone": None,
            "SmartRoutingType": 0,
            "Disabled": False,
            "Comment": record.extra.get("comment"),
            "AutoSslIssuance": True,
            "AccelerationStatus": 0,
        }


VENDOR = Bunny
