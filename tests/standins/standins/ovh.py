"""OVHcloud API v1, DNS zone records: the calls DNS-01 needs.

Written from OVHcloud's published API reference and guides:
https://eu.api.ovh.com/console/?section=%2Fdomain&branch=v1 (the ``/domain/zone`` calls),
https://docs.ovh.com/gb/en/customer/first-steps-with-ovh-api/ ("First Steps with the API":
signing, ``/auth/time``; source in github.com/ovh/docs,
pages/account/customer/first_steps_api/guide.en-gb.md) and the official Python client
(https://github.com/ovh/python-ovh, ``ovh==1.2.0``).

* ``GET /1.0/auth/time``: the server's Unix time, a bare number; no authentication.
* ``GET /1.0/domain/zone/{zone}``: the zone (``name``, ``nameServers``, ...).
* ``GET /1.0/domain/zone/{zone}/record?fieldType=&subDomain=``: the ids of matching records,
  a JSON array of numbers.
* ``GET /1.0/domain/zone/{zone}/record/{id}``: ``{"id", "zone", "subDomain", "fieldType",
  "target", "ttl"}``.
* ``POST /1.0/domain/zone/{zone}/record`` ``{"fieldType", "subDomain", "target", "ttl"}``: the
  new record. ``subDomain`` is relative to the zone, empty for the apex.
* ``DELETE /1.0/domain/zone/{zone}/record/{id}``: ``null``.
* ``POST /1.0/domain/zone/{zone}/refresh``: ``null``; applies the changes to the zone.

Authentication: every call but ``/auth/time`` carries ``X-Ovh-Application``,
``X-Ovh-Consumer``, ``X-Ovh-Timestamp`` and ``X-Ovh-Signature``. The stand-in recomputes the
signature with the official client's own signing code (``ovh.Client.raw_call``, pinned in
requirements/ovh.txt), never with code of ours. Errors are ``{"errorCode", "httpCode",
"message"}``:

* 401 ``NOT_AUTHENTICATED`` "You must login first" (no consumer key);
* 403 ``INVALID_KEY`` (unknown application key; the message is ours);
* 403 ``NOT_CREDENTIAL`` "This credential does not exist" (unknown consumer key, as reported
  in github.com/toorop/ovh-cli/issues/10; the official client raises ``NotCredential``);
* 400 ``INVALID_SIGNATURE`` "Invalid signature" (github.com/ovh/php-ovh/issues/62);
* 400 ``QUERY_TIME_DELTA_TOO_HIGH`` (a timestamp more than ``skew`` seconds, default 180, from
  the server's clock; OVHcloud publishes neither the bound nor the message, which are ours).

Other errors are ``{"class", "message"}``: 404 ``Client::NotFound`` "This service does not
exist" (an unknown zone), 429 ``Client::TooManyRequests`` with ``Retry-After``, 500
``Server::InternalServerError``.

Not emulated: OAuth2 and access tokens, consumer-key access rules (every call is granted),
the zone's serial, and record types other than TXT. A JSON body the official client would not
have sent byte for byte (it sends compact JSON) is refused as an invalid signature, where the
real API signs whatever bytes came.

Options: ``application_key``, ``application_secret``, ``consumer_key``, ``skew``.
"""

from __future__ import annotations

import json
import re
import time

import ovh

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

BASE = "/1.0"
#: How far a request's timestamp may be from the server's clock, in seconds.
DEFAULT_SKEW = 180

AUTH_ERRORS = {
    401: ("NOT_AUTHENTICATED", "401 Unauthorized", "You must login first"),
    "key": ("INVALID_KEY", "403 Forbidden", "This application key is invalid"),
    "credential": ("NOT_CREDENTIAL", "403 Forbidden", "This credential does not exist"),
    "signature": ("INVALID_SIGNATURE", "400 Bad Request", "Invalid signature"),
    "time": ("QUERY_TIME_DELTA_TOO_HIGH", "400 Bad Request", "Query out of time"),
}
CLASSES = {
    400: ("Client::BadRequest", "Invalid parameters"),
    404: ("Client::NotFound", "This service does not exist"),
    409: ("Client::Conflict", "Conflict"),
    429: ("Client::TooManyRequests", "Too many requests"),
    500: ("Server::InternalServerError", "Internal server error"),
}


def auth_error(kind) -> Response:
    code, http_code, message = AUTH_ERRORS[kind]
    status = int(http_code.split()[0])
    return json_response(status, {"errorCode": code, "httpCode": http_code, "message": message})


class _Capture:
    """Stands in for the official client's ``requests`` session: keeps what it would send."""

    def request(self, method, url, headers=None, data=None, timeout=None):
        self.method, self.url, self.headers, self.data = method, url, headers or {}, data


def official_signature(origin: str, key: str, secret: str, consumer: str, method: str,
                       path_and_query: str, body: bytes, timestamp: int) -> tuple[str, bytes]:
    """The ``X-Ovh-Signature`` the official client (``ovh.Client.raw_call``) puts on this request,
    and the body it would send with it. ``path_and_query`` starts with ``/1.0``."""
    client = ovh.Client(endpoint="ovh-eu", application_key=key, application_secret=secret,
                        consumer_key=consumer)
    client._endpoint = origin + BASE
    data = json.loads(body) if body else None
    for _ in range(3):  # the client reads its clock itself: retry across a second boundary
        capture = _Capture()
        client._session = capture
        client._time_delta = timestamp - int(time.time())
        client.raw_call(method, path_and_query[len(BASE):], data=data)
        if capture.headers.get("X-Ovh-Timestamp") == str(timestamp):
            break
    sent = capture.data if isinstance(capture.data, bytes) else str(capture.data).encode()
    return capture.headers.get("X-Ovh-Signature", ""), sent


class Ovh(Vendor):
    name = "ovh"

    def error(self, status: int, retry_after: int | None) -> Response:
        if status in (401, 403):
            return auth_error(401 if status == 401 else "credential")
        klass, message = CLASSES.get(status, CLASSES[500])
        headers = {}
        if status == 429 and retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return json_response(status, {"class": klass, "message": message}, headers)

    def route(self, req: Request) -> Response | None:
        if not req.path.startswith(BASE + "/"):
            return None
        if req.path == BASE + "/auth/time" and req.method == "GET":
            return json_response(200, int(time.time()))
        refused = self.check_signature(req)
        if refused is not None:
            return refused
        m = re.fullmatch(BASE + r"/domain/zone/([^/]+)(?:/(record|refresh)(?:/(\d+))?)?/?", req.path)
        if not m:
            return None
        zone = self.store.zone(m.group(1))
        if zone is None:
            return self.error(404, None)
        name, what, record_id = zone["name"], m.group(2), m.group(3)
        if what is None and req.method == "GET":
            return json_response(200, {"name": name, "hasDnsAnycast": False, "dnssecSupported": True,
                                       "nameServers": [f"dns1.{name}", f"ns1.{name}"],
                                       "lastUpdate": "2026-01-01T00:00:00+01:00"})
        if what == "refresh" and record_id is None and req.method == "POST":
            return json_response(200, None)
        if what == "record" and record_id is None and req.method == "GET":
            return self.list(req, name)
        if what == "record" and record_id is None and req.method == "POST":
            return self.create(req, name)
        if what == "record" and record_id is not None and req.method in ("GET", "DELETE"):
            record = self.store.get(record_id)
            if record is None or record.zone != name:
                return self.error(404, None)
            if req.method == "DELETE":
                self.store.delete(record_id)
                return json_response(200, None)
            return json_response(200, self.shape(record))
        return None

    def check_signature(self, req: Request) -> Response | None:
        """Refuses a request the real API would refuse for its credentials or signature."""
        key = self.options.get("application_key", "")
        secret = self.options.get("application_secret", "")
        consumer = self.options.get("consumer_key", "")
        if req.header("x-ovh-application") != key:
            return auth_error("key")
        if not req.header("x-ovh-consumer"):
            return auth_error(401)
        if req.header("x-ovh-consumer") != consumer:
            return auth_error("credential")
        try:
            timestamp = int(req.header("x-ovh-timestamp") or "")
        except ValueError:
            return auth_error("time")
        if abs(timestamp - int(time.time())) > int(self.options.get("skew", DEFAULT_SKEW)):
            return auth_error("time")
        origin = "http://" + (req.header("host") or "")
        try:
            expected, body = official_signature(origin, key, secret, consumer, req.method,
                                                req.raw_path, req.body, timestamp)
        except ValueError:  # a body that is not JSON
            return auth_error("signature")
        if body != req.body or req.header("x-ovh-signature") != expected:
            return auth_error("signature")
        return None

    def list(self, req: Request, zone: str) -> Response:
        kind = req.arg("fieldType")
        sub = req.arg("subDomain")
        name = None if sub is None else absolute_in(sub, zone)
        records = self.store.find(zone=zone, name=name, type=kind)
        return json_response(200, [int(r.id) for r in records])

    def create(self, req: Request, zone: str) -> Response:
        body = req.json() or {}
        kind = str(body.get("fieldType", "")).upper()
        target = body.get("target")
        sub = str(body.get("subDomain") or "")
        if kind not in ("TXT", "A", "AAAA", "CNAME", "MX") or target is None:
            return json_response(400, {"class": "Client::BadRequest",
                                       "message": "Invalid fieldType or missing target"})
        content = str(target)
        if kind == "TXT" and len(content) >= 2 and content[0] == content[-1] == '"':
            content = content[1:-1]
        record = self.store.add(zone, absolute_in(sub, zone), kind, content, int(body.get("ttl") or 0))
        return json_response(200, self.shape(record))

    @staticmethod
    def shape(record) -> dict:
        sub = relative(record.name, record.zone)
        return {
            "id": int(record.id),
            "zone": record.zone,
            "subDomain": "" if sub == "@" else sub,
            "fieldType": record.type,
            "target": f'"{record.content}"' if record.type == "TXT" else record.content,
            "ttl": record.ttl,
        }


VENDOR = Ovh
