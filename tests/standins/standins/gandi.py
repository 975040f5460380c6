"""Gandi LiveDNS (the LiveDNS API of Gandi's v5 API), domain rrsets: the calls DNS-01 needs.

Written from Gandi's published API reference:
https://api.gandi.net/docs/livedns/ (domains, records), https://api.gandi.net/docs/authentication/
and https://api.gandi.net/docs/reference/ (rate limit, error objects).

* ``GET /v5/livedns/domains/{fqdn}``: ``{"fqdn", "domain_href", "domain_records_href",
  "automatic_snapshots"}``; 404 when LiveDNS does not hold the domain.
* ``GET /v5/livedns/domains/{fqdn}/records/{rrset_name}/{rrset_type}``: ``{"rrset_name",
  "rrset_type", "rrset_ttl", "rrset_values", "rrset_href"}``; 404 when there is no such rrset.
  ``rrset_name`` is relative to the domain, ``@`` for the apex. TXT values come back quoted
  (``"\\"text\\""``); a value written without quotes is quoted.
* ``PUT`` the same path ``{"rrset_values": [...], "rrset_ttl": N}``: replaces the whole rrset,
  201 ``{"message": "DNS Record Created"}``. ``rrset_ttl`` is 300 to 2592000 (default 10800).
* ``DELETE`` the same path: 204, no body.

Authentication: ``Authorization: Bearer <personal access token>`` or, deprecated,
``Authorization: Apikey <api key>``. A wrong API key is 401; a bearer token that does not
exist, has expired or lacks permission is 403. Errors are ``{"code", "message", "object",
"cause"}``, validation errors add ``errors: [{"location", "name", "description"}]``. The API is
rate limited (1000 requests a minute per IP): 429, with ``Retry-After`` when the fault says so.

LiveDNS has no conditional write (no ETag, no version): a ``PUT`` based on a stale read
silently wins. Option ``read_delay=<seconds>`` holds each rrset read that long after taking
its snapshot, so a read-modify-write race between two writers is certain to drop a value
unless the writers are serialised.

Options: ``token=`` (the personal access token accepted), ``api_key=`` (the API key accepted),
``read_delay=``.
"""

from __future__ import annotations

import re
import time

from standins.core import Request, Response, Vendor, absolute_in, json_response, quote_txt, relative

BASE = "/v5/livedns"
MIN_TTL, MAX_TTL, DEFAULT_TTL = 300, 2592000, 10800
ERRORS = {
    400: ("HTTPBadRequest", "Bad Request",
          "The server could not comply with the request since it is either malformed or "
          "otherwise incorrect."),
    401: ("HTTPUnauthorized", "Unauthorized",
          "The server could not verify that you authorized to access the document you "
          "requested. Either you supplied the wrong credentials (e.g., bad api key), or your "
          "access token has expired"),
    403: ("HTTPForbidden", "Forbidden", "Access was denied to this resource."),
    404: ("HTTPNotFound", "Not Found", "The resource could not be found."),
    429: ("HTTPTooManyRequests", "Too Many Requests", "Too many requests, retry later."),
    500: ("HTTPInternalServerError", "Internal Server Error",
          "The server has either erred or is incapable of performing the requested operation."),
}


def unquote_txt(value: str) -> str:
    """The text of TXT content: its quoted strings joined, escapes undone; unquoted content as
    it is."""
    value = value.strip()
    if not value.startswith('"'):
        return value
    out, in_string, escaped = [], False, False
    for c in value:
        if escaped:
            out.append(c)
            escaped = False
        elif c == "\\" and in_string:
            escaped = True
        elif c == '"':
            in_string = not in_string
        elif in_string:
            out.append(c)
    return "".join(out)


class Gandi(Vendor):
    name = "gandi"

    def error(self, status: int, retry_after: int | None, errors: list | None = None) -> Response:
        obj, cause, message = ERRORS.get(status, ERRORS[500])
        body = {"code": status, "message": message, "object": obj, "cause": cause}
        if errors:
            body["errors"] = errors
        headers = {}
        if status == 429 and retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return json_response(status, body, headers)

    def authorized(self, req: Request) -> Response | None:
        """``None`` when the request carries a credential the stand-in accepts, else the
        documented refusal."""
        scheme, _, credential = (req.header("authorization") or "").partition(" ")
        if scheme == "Bearer":
            token = self.options.get("token")
            return None if token and credential == token else self.error(403, None)
        if scheme == "Apikey":
            key = self.options.get("api_key")
            return None if key and credential == key else self.error(401, None)
        return self.error(401, None)

    def route(self, req: Request) -> Response | None:
        refused = self.authorized(req)
        if refused is not None:
            return refused
        m = re.fullmatch(BASE + r"/domains/([^/]+)(?:/records/([^/]+)/([^/]+))?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None)
        domain = zone["name"]
        if m.group(2) is None:
            if req.method != "GET":
                return None
            href = f"https://api.gandi.net{BASE}/domains/{domain}"
            return json_response(200, {
                "fqdn": domain,
                "domain_href": href,
                "domain_keys_href": f"{href}/keys",
                "domain_records_href": f"{href}/records",
                "automatic_snapshots": True,
            })
        name, kind = absolute_in(m.group(2), domain), m.group(3).upper()
        if req.method == "GET":
            return self.get_rrset(domain, name, kind)
        if req.method == "PUT":
            return self.put_rrset(req, domain, name, kind)
        if req.method == "DELETE":
            if not self.store.find(zone=domain, name=name, type=kind):
                return self.error(404, None)
            self.store.replace_set(domain, name, kind, [], DEFAULT_TTL)
            return Response(204)
        return None

    def get_rrset(self, domain: str, name: str, kind: str) -> Response:
        records = self.store.find(zone=domain, name=name, type=kind)
        delay = float(self.options.get("read_delay", "0"))
        if delay:
            time.sleep(delay)  # the snapshot above is what the client gets: stale by then
        if not records:
            return self.error(404, None)
        values = [quote_txt(r.content) if kind == "TXT" else r.content for r in records]
        short = relative(name, domain)
        return json_response(200, {
            "rrset_name": short,
            "rrset_type": kind,
            "rrset_ttl": records[0].ttl,
            "rrset_values": values,
            "rrset_href": f"https://api.gandi.net{BASE}/domains/{domain}/records/{short}/{kind}",
        })

    def put_rrset(self, req: Request, domain: str, name: str, kind: str) -> Response:
        body = req.json() or {}
        values = body.get("rrset_values")
        ttl = body.get("rrset_ttl", DEFAULT_TTL)
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            return self.error(400, None, [{"location": "body", "name": "rrset_values",
                                           "description": "must be a non-empty list of strings"}])
        if not isinstance(ttl, int) or not MIN_TTL <= ttl <= MAX_TTL:
            return self.error(400, None, [{"location": "body", "name": "rrset_ttl",
                                           "description": f"must be between {MIN_TTL} and {MAX_TTL}"}])
        contents = [unquote_txt(v) if kind == "TXT" else v for v in values]
        self.store.replace_set(domain, name, kind, list(dict.fromkeys(contents)), ttl)
        return json_response(201, {"message": "DNS Record Created"})


VENDOR = Gandi
