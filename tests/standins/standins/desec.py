"""deSEC DNS API v1, domains and RRsets: the calls DNS-01 needs.

Written from deSEC's published API reference:
https://desec.readthedocs.io/en/latest/dns/domains.html (Retrieving a Specific Domain, the
``minimum_ttl`` field), https://desec.readthedocs.io/en/latest/dns/rrsets.html (Retrieving a
Specific RRset, Accessing the Zone Apex, Modifying an RRset, Deleting an RRset, Bulk
Operations) and https://desec.readthedocs.io/en/latest/rate-limits.html.

* ``GET /api/v1/domains/{name}/``: the domain object (``name``, ``minimum_ttl``, ...), 404 for a
  domain the account does not own;
* ``GET|PATCH|PUT|DELETE /api/v1/domains/{name}/rrsets/{subname}/{type}/`` (``@`` or an empty
  name before ``...`` for the apex): one RRset ``{"created", "domain", "subname", "name",
  "type", "records", "ttl", "touched"}``; 404 when there is none; a write with ``records: []``
  (and ``DELETE``) deletes it with 204;
* ``POST /api/v1/domains/{name}/rrsets/`` (one object or a list): creates, 400 when it exists;
* ``PUT|PATCH /api/v1/domains/{name}/rrsets/`` with a list: creates or replaces each RRset
  given (``records: []`` deletes), atomically; 200 with the RRsets (``null`` for deleted ones).

``records`` are in presentation format; TXT values are quoted (``"\\"value\\""``) and returned
in canonical, quoted form. ``ttl`` must be at least the domain's ``minimum_ttl`` (3600) and at
most 86400, else 400.

Authentication: ``Authorization: Token <token>``. Errors are Django REST framework bodies:
401 ``{"detail": "Invalid token."}``, 404 ``{"detail": "Not found."}``, 429 ``{"detail":
"Request was throttled. Expected available in N seconds."}`` with ``Retry-After: N``, 500
``{"detail": "Internal Server Error. We're on it!"}``; validation errors are 400 with field
errors (a list of them, one per RRset, for bulk requests).
"""

from __future__ import annotations

import re
import time

from standins.core import Request, Response, Vendor, bare, json_response

BASE = "/api/v1"
MINIMUM_TTL = 3600
MAX_TTL = 86400


def unquote(content: str) -> str:
    """The text of TXT presentation content: its quoted strings joined, escapes undone; a bare
    word is its own text."""
    content = content.strip()
    if not content.startswith('"'):
        return content
    out, inside, i = [], False, 0
    while i < len(content):
        c = content[i]
        if c == '"':
            inside = not inside
        elif c == "\\" and inside and i + 1 < len(content):
            i += 1
            out.append(content[i])
        elif inside:
            out.append(c)
        i += 1
    return "".join(out)


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


class Desec(Vendor):
    name = "desec"

    def error(self, status: int, retry_after: int | None) -> Response:
        headers = {}
        if status == 401:
            body = {"detail": "Invalid token."}
            headers["WWW-Authenticate"] = "Token"
        elif status == 404:
            body = {"detail": "Not found."}
        elif status == 429:
            wait = retry_after if retry_after is not None else 1
            body = {"detail": f"Request was throttled. Expected available in {wait} seconds."}
            headers["Retry-After"] = str(wait)
        else:
            status = 500
            body = {"detail": "Internal Server Error. We're on it!"}
        return json_response(status, body, headers)

    def route(self, req: Request) -> Response | None:
        if req.header("authorization") != f"Token {self.options.get('token')}":
            return self.error(401, None)
        m = re.fullmatch(BASE + r"/domains/([^/]+)/(rrsets/(?:([^/]*)/([^/]+)/)?)?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None)
        domain = zone["name"]
        if m.group(2) is None:
            if req.method != "GET":
                return None
            return json_response(200, {
                "created": "2018-09-18T16:36:16.510368Z", "keys": [], "minimum_ttl": MINIMUM_TTL,
                "name": domain, "published": now(), "touched": now(),
            })
        if m.group(4) is None:
            return self.rrsets(req, domain)
        subname = m.group(3)
        if subname.endswith("..."):
            subname = subname[:-3]
        elif subname == "@":
            subname = ""
        return self.rrset(req, domain, subname, m.group(4))

    def rrset(self, req: Request, domain: str, subname: str, kind: str) -> Response | None:
        existing = self.shape(domain, subname, kind)
        if req.method == "GET":
            return json_response(200, existing) if existing else self.error(404, None)
        if req.method == "DELETE":
            self.store.replace_set(domain, self.fqdn(domain, subname), kind, [], MINIMUM_TTL)
            return Response(204)
        if req.method not in ("PUT", "PATCH"):
            return None
        if existing is None:
            return self.error(404, None)
        body = req.json() or {}
        if req.method == "PUT":
            missing = [f for f in ("subname", "type", "ttl", "records") if f not in body]
            if missing:
                return json_response(400, {f: ["This field is required."] for f in missing})
        item = {"subname": subname, "type": kind, "ttl": existing["ttl"],
                "records": existing["records"], **body}
        errors = self.validate(item)
        if errors:
            return json_response(400, errors)
        result = self.apply(domain, item)
        return json_response(200, result) if result else Response(204)

    def rrsets(self, req: Request, domain: str) -> Response | None:
        body = req.json()
        if req.method == "POST":
            items = body if isinstance(body, list) else [body]
        elif req.method in ("PUT", "PATCH"):
            if not isinstance(body, list):
                return json_response(400, {"non_field_errors": ["Expected a list of items."]})
            items = body
        else:
            return None
        errors = []
        for item in items:
            item = item if isinstance(item, dict) else {}
            item.setdefault("subname", "")
            err = self.validate(item, require_ttl=req.method != "PATCH")
            if req.method != "PATCH" and "records" not in item:
                err["records"] = ["This field is required."]
            existing = self.shape(domain, item.get("subname", ""), str(item.get("type", "")))
            if not err and req.method == "POST" and existing:
                err = {"non_field_errors": [
                    "Another RRset with the same subdomain and type exists for this domain. "
                    "(Try modifying it.)"]}
            if not err and req.method == "PATCH" and existing is None and "ttl" not in item:
                err = {"ttl": ["This field is required for new RRsets."]}
            errors.append(err)
        if any(errors):
            return json_response(400, errors if isinstance(body, list) else errors[0])
        with self.store.lock:  # bulk requests are atomic
            results = []
            for item in items:
                existing = self.shape(domain, item["subname"], item["type"])
                merged = {"ttl": existing["ttl"] if existing else MINIMUM_TTL,
                          "records": existing["records"] if existing else [], **item}
                results.append(self.apply(domain, merged))
        if req.method == "POST":
            return json_response(201, results if isinstance(body, list) else results[0])
        return json_response(200, results)

    def validate(self, item: dict, require_ttl: bool = True) -> dict:
        errors = {}
        kind = item.get("type")
        if not isinstance(kind, str) or not kind:
            errors["type"] = ["This field is required."]
        elif kind != kind.upper() or not kind.isalnum():
            errors["type"] = [f"The {kind} RR set type is currently unsupported."]
        if "ttl" in item:
            ttl = item["ttl"]
            if not isinstance(ttl, int) or isinstance(ttl, bool):
                errors["ttl"] = ["A valid integer is required."]
            elif ttl < MINIMUM_TTL:
                errors["ttl"] = [f"Ensure this value is greater than or equal to {MINIMUM_TTL}."]
            elif ttl > MAX_TTL:
                errors["ttl"] = [f"Ensure this value is less than or equal to {MAX_TTL}."]
        elif require_ttl:
            errors["ttl"] = ["This field is required."]
        records = item.get("records")
        if "records" in item and (not isinstance(records, list)
                                  or not all(isinstance(r, str) for r in records)):
            errors["records"] = ["Expected a list of items."]
        subname = item.get("subname", "")
        if not isinstance(subname, str) or not re.fullmatch(r"(\*\.)?[a-z0-9_.-]*", subname):
            errors["subname"] = ["Subname can only use (lowercase) a-z, 0-9, ., -, and _."]
        return errors

    def apply(self, domain: str, item: dict) -> dict | None:
        """Makes the RRset hold ``item["records"]`` (none deletes it); returns it, or ``None``."""
        name = self.fqdn(domain, item["subname"])
        values = []
        for r in item.get("records") or []:
            text = unquote(r)
            if text not in values:
                values.append(text)
        self.store.replace_set(domain, name, item["type"], values, int(item["ttl"]))
        return self.shape(domain, item["subname"], item["type"])

    def shape(self, domain: str, subname: str, kind: str) -> dict | None:
        records = self.store.find(zone=domain, name=self.fqdn(domain, subname), type=kind)
        if not records:
            return None
        return {
            "created": "2019-09-18T16:32:16.510368Z",
            "domain": domain,
            "subname": subname,
            "name": self.fqdn(domain, subname) + ".",
            "type": kind.upper(),
            "records": [quote(r.content) for r in records],
            "ttl": records[0].ttl,
            "touched": now(),
        }

    @staticmethod
    def fqdn(domain: str, subname: str) -> str:
        return bare(f"{subname}.{domain}" if subname else domain)


VENDOR = Desec
