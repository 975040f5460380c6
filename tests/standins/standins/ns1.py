"""NS1 (IBM NS1 Connect) API v1, zones and records: the calls DNS-01 needs.

Written from NS1's published API reference, https://ns1.com/api (#zones-zone-get,
#record-get, #record-put, #record-post, #record-delete), and its rate-limiting guide,
https://www.ibm.com/docs/en/ns1-connect?topic=api-rate-limiting.

* ``GET /v1/zones/{zone}[?records=false]``: the zone (``zone``, ``id``, ``ttl``,
  ``dns_servers``, ... and ``records``, a summary of each record, unless ``records=false``).
* ``GET /v1/zones/{zone}/{domain}/{type}``: the record: ``zone``, ``domain`` (fully qualified,
  no trailing dot), ``type``, ``ttl``, ``id`` and ``answers``, each ``{"id", "answer": [rdata
  ...], "meta"}``. One record per domain and type holds every value there.
* ``PUT`` the same path ``{"zone", "domain", "type", "answers", "ttl"}``: creates the record;
  400 "record already exists" when there is one.
* ``POST`` the same path with the fields to change (``answers`` replaces them all, ``ttl``):
  the updated record; 404 "record not found".
* ``DELETE`` the same path: 200 ``{}``; 404 "record not found".

Authentication: ``X-NSONE-Key: <key>``. Errors are ``{"message": ...}``: 401 "Unauthorized",
404 "zone not found" / "record not found", 400, 429 "rate limit exceeded", 500. Every answer
carries ``X-RateLimit-By``, ``-Limit``, ``-Remaining`` and ``-Period``; NS1 documents no
``Retry-After``, which the stand-in adds when a test asks for one.

The stand-in keeps each answer of a TXT record as one stored value (written through to
PowerDNS) and the record-level id and TTL beside them. Options: ``key`` (accepted),
``latency_ms`` (a pause before each record read answers, which widens the window in which
two read-modify-write rounds on one record could interleave).
"""

from __future__ import annotations

import re
import threading
import time

from standins.core import Request, Response, Vendor, bare, json_response, within

BASE = "/v1"
LIMIT, PERIOD = 900, 300
DNS_SERVERS = ["dns1.p01.nsone.net", "dns2.p01.nsone.net", "dns3.p01.nsone.net",
               "dns4.p01.nsone.net"]
MESSAGES = {
    400: "invalid request",
    401: "Unauthorized",
    404: "not found",
    429: "rate limit exceeded",
    500: "internal server error",
}


class Ns1(Vendor):
    name = "ns1"

    def __init__(self, store, options) -> None:
        super().__init__(store, options)
        self.lock = threading.Lock()
        # (domain, type) -> {"id", "ttl"}: what NS1 keeps per record beside its answers.
        self.meta: dict[tuple[str, str], dict] = {}
        self.next_id = 0

    def limit_headers(self, remaining: int = LIMIT - 1) -> dict:
        return {"X-RateLimit-By": "customer", "X-RateLimit-Limit": str(LIMIT),
                "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Period": str(PERIOD)}

    def answer(self, status: int, value) -> Response:
        return json_response(status, value, self.limit_headers())

    def error(self, status: int, retry_after: int | None, message: str | None = None) -> Response:
        headers = self.limit_headers(0 if status == 429 else LIMIT - 1)
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = {"message": message or MESSAGES.get(status, MESSAGES[500])}
        return json_response(status, body, headers)

    def route(self, req: Request) -> Response | None:
        if not self.options.get("key") or req.header("x-nsone-key") != self.options["key"]:
            return self.error(401, None)
        m = re.fullmatch(BASE + r"/zones/([^/]+)(?:/([^/]+)/([A-Za-z0-9]+))?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None, "zone not found")
        if m.group(2) is None:
            if req.method != "GET":
                return None
            return self.answer(200, self.zone_shape(zone["name"], req.arg("records") != "false"))
        domain, kind = bare(m.group(2)), m.group(3).upper()
        if not within(domain, zone["name"]):
            return self.error(400, None, f"domain {domain} is not in zone {zone['name']}")
        if req.method == "GET":
            time.sleep(int(self.options.get("latency_ms", "0")) / 1000)
        with self.lock:  # one change at a time, as NS1 applies them
            if req.method == "GET":
                return self.get(zone["name"], domain, kind)
            if req.method == "PUT":
                return self.create(req, zone["name"], domain, kind)
            if req.method == "POST":
                return self.update(req, zone["name"], domain, kind)
            if req.method == "DELETE":
                return self.delete(zone["name"], domain, kind)
        return None

    def zone_shape(self, zone: str, with_records: bool) -> dict:
        shape = {"zone": zone, "id": f"{int(self.store.zone(zone)['id']):024x}", "ttl": 3600,
                 "nx_ttl": 3600, "retry": 7200, "refresh": 43200, "expiry": 1209600,
                 "serial": 1473863358, "hostmaster": "hostmaster@nsone.net",
                 "dns_servers": DNS_SERVERS, "networks": [0], "meta": {}, "link": None,
                 "primary": {"enabled": False, "secondaries": []}}
        if with_records:
            keys = sorted({(r.name, r.type) for r in self.store.find(zone=zone)})
            shape["records"] = [self.summary(zone, d, t) for d, t in keys]
        return shape

    def summary(self, zone: str, domain: str, kind: str) -> dict:
        record = self.record(zone, domain, kind)
        return {"domain": domain, "type": kind, "id": record["id"], "ttl": record["ttl"],
                "tier": 1, "link": None,
                "short_answers": [" ".join(a["answer"]) for a in record["answers"]]}

    def record(self, zone: str, domain: str, kind: str) -> dict | None:
        stored = self.store.find(zone=zone, name=domain, type=kind)
        meta = self.meta.get((domain, kind))
        if not stored or meta is None:
            return None
        return {
            "id": meta["id"],
            "zone": zone,
            "domain": domain,
            "type": kind,
            "ttl": meta["ttl"],
            "answers": [{"id": f"{meta['id'][:16]}{int(r.id):08x}", "answer": [r.content],
                         "meta": {}} for r in stored],
            "filters": [],
            "meta": {},
            "regions": {},
            "link": None,
            "use_client_subnet": True,
            "tier": 1,
            "networks": [0],
        }

    def get(self, zone: str, domain: str, kind: str) -> Response:
        record = self.record(zone, domain, kind)
        if record is None:
            return self.error(404, None, "record not found")
        return self.answer(200, record)

    @staticmethod
    def values(body: dict) -> list[str] | None:
        """The rdata of each answer, one string per answer (TXT answers are one string)."""
        out = []
        for a in body.get("answers", []):
            rdata = a.get("answer") if isinstance(a, dict) else a
            if isinstance(rdata, str):
                rdata = [rdata]
            if not isinstance(rdata, list) or not rdata:
                return None
            out.append("".join(str(x) for x in rdata))
        return out

    def create(self, req: Request, zone: str, domain: str, kind: str) -> Response:
        body = req.json() or {}
        if self.record(zone, domain, kind) is not None:
            return self.error(400, None, "record already exists")
        values = self.values(body)
        if values is None:
            return self.error(400, None, "invalid answer format")
        if not values:
            return self.error(400, None, "record must have at least one answer")
        ttl = int(body.get("ttl") or 3600)
        self.next_id += 1
        self.meta[(domain, kind)] = {"id": f"5e{self.next_id:022x}", "ttl": ttl}
        self.store.replace_set(zone, domain, kind, list(dict.fromkeys(values)), ttl)
        return self.answer(200, self.record(zone, domain, kind))

    def update(self, req: Request, zone: str, domain: str, kind: str) -> Response:
        body = req.json() or {}
        if self.record(zone, domain, kind) is None:
            return self.error(404, None, "record not found")
        meta = self.meta[(domain, kind)]
        if "ttl" in body:
            meta["ttl"] = int(body["ttl"])
        if "answers" in body:
            values = self.values(body)
            if values is None:
                return self.error(400, None, "invalid answer format")
            if not values:
                return self.error(400, None, "record must have at least one answer")
        else:
            values = [r.content for r in self.store.find(zone=zone, name=domain, type=kind)]
        self.store.replace_set(zone, domain, kind, list(dict.fromkeys(values)), meta["ttl"])
        return self.answer(200, self.record(zone, domain, kind))

    def delete(self, zone: str, domain: str, kind: str) -> Response:
        if self.record(zone, domain, kind) is None:
            return self.error(404, None, "record not found")
        self.store.replace_set(zone, domain, kind, [], 0)
        self.meta.pop((domain, kind), None)
        return self.answer(200, {})


VENDOR = Ns1
