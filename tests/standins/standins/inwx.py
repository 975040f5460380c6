"""INWX DomRobot JSON-RPC API: the calls DNS-01 needs.

Written from INWX's published API documentation, https://www.inwx.de/en/help/apidoc (methods:
https://www.inwx.de/en/help/apidoc/f/ch02.html, sections "account" and "nameserver"; the
result codes are EPP's, RFC 5730 section 3, which the documentation lists), and the request
format of INWX's own client, ``inwx-domrobot`` (https://github.com/inwx/python-client).

Every call is ``POST /jsonrpc/`` with ``{"method", "params"}``; every answer is JSON with
``code`` (1000 success, 1500 success and session ended, 2xxx errors), ``msg``, optionally
``reason``, and ``resData``. Errors come with HTTP 200.

* ``account.login`` ``{user, pass, lang}``: sets the ``domrobot`` session cookie;
  ``resData.tfa`` is ``"0"``, or ``"GOOGLE-AUTH"`` when the account has two-factor
  authentication, which the session must then pass with ``account.unlock``.
* ``account.unlock`` ``{tan}``: the account's current TOTP code (RFC 6238: HMAC-SHA1, 30 s
  steps, 6 digits, from the base32 secret of the authenticator QR code).
* ``account.logout``: 1500 "Command completed successfully; ending session".
* ``nameserver.info`` ``{domain, name?, type?, content?}``: ``{roId, domain, type, count,
  record: [{id, name, type, content, ttl, prio}]}``, record names in full.
* ``nameserver.createRecord`` ``{domain, type, name, content, ttl, prio?}``: ``{id}``; the same
  record twice is 2302 "Object exists".
* ``nameserver.deleteRecord`` ``{id}``.

Errors: 2200 "Authentication error" (wrong user or password, a refused TOTP code, a call
without a logged-in and unlocked session), 2303 "Object does not exist" (an unknown domain or
record id), 2005 "Parameter value syntax error", 2400 "Command failed". A rate limit is not
described; the stand-in's injected 429 is HTTP 429 with ``Retry-After`` and 2502 "Session
limit exceeded; server closing connection".

Options: ``user=``, ``password=`` (the credentials); ``shared_secret=`` (base32) turns on
two-factor authentication, checking each ``account.unlock`` code against the current 30 s step
and its neighbours.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import threading
import time

from standins.core import Request, Response, Vendor, absolute_in, bare, json_response

PATH = "/jsonrpc/"
MIN_TTL = 300
MESSAGES = {
    1000: "Command completed successfully",
    1500: "Command completed successfully; ending session",
    2005: "Parameter value syntax error",
    2200: "Authentication error",
    2302: "Object exists",
    2303: "Object does not exist",
    2400: "Command failed",
    2502: "Session limit exceeded; server closing connection",
}


def totp(secret: str, at: float, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP with HMAC-SHA1."""
    key = base64.b32decode(secret.replace(" ", "").upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at) // step), hashlib.sha1).digest()
    offset = digest[19] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10 ** digits).zfill(digits)


def reply(code: int, data=None, reason: str | None = None, status: int = 200,
          headers: dict[str, str] | None = None) -> Response:
    body = {"code": code, "msg": MESSAGES.get(code, "Command failed"), "runtime": 0.01}
    if reason:
        body["reason"] = reason
    if data is not None:
        body["resData"] = data
    return json_response(status, body, headers)


class Inwx(Vendor):
    name = "inwx"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.sessions: dict[str, bool] = {}  # session id -> unlocked
        self.lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 429:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return reply(2502, status=429, headers=headers)
        if status == 401:
            return reply(2200)
        if status == 404:
            return reply(2303)
        return reply(2400, status=status)

    def route(self, req: Request) -> Response | None:
        if req.path.rstrip("/") + "/" != PATH or req.method != "POST":
            return None
        body = req.json() or {}
        method = str(body.get("method", ""))
        params = body.get("params") or {}
        if method == "account.login":
            return self.login(params)
        session = self.session_of(req)
        if session is None:
            return reply(2200)
        if method == "account.unlock":
            return self.unlock(session, params)
        if method == "account.logout":
            with self.lock:
                self.sessions.pop(session, None)
            return reply(1500)
        with self.lock:
            unlocked = self.sessions.get(session, False)
        if not unlocked:
            return reply(2200, reason="Two-factor authentication required: account.unlock")
        handler = {
            "nameserver.info": self.info,
            "nameserver.createRecord": self.create,
            "nameserver.deleteRecord": self.delete,
        }.get(method)
        if handler is None:
            return reply(2400, reason=f"Unknown method {method}")
        return handler(params)

    def session_of(self, req: Request) -> str | None:
        for part in (req.header("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == "domrobot":
                with self.lock:
                    if value in self.sessions:
                        return value
        return None

    def login(self, params: dict) -> Response:
        if params.get("user") != self.options.get("user") \
                or params.get("pass") != self.options.get("password"):
            return reply(2200)
        session = secrets.token_hex(16)
        two_factor = bool(self.options.get("shared_secret"))
        with self.lock:
            self.sessions[session] = not two_factor
        data = {"customerId": 1000001, "accountId": 1000001,
                "tfa": "GOOGLE-AUTH" if two_factor else "0",
                "builddate": "2024-04-04", "version": "stand-in"}
        return reply(1000, data, headers={"Set-Cookie": f"domrobot={session}; path=/; HttpOnly"})

    def unlock(self, session: str, params: dict) -> Response:
        secret = self.options.get("shared_secret")
        if not secret:
            return reply(2400, reason="Two-factor authentication is not enabled")
        # inwx-domrobot sends the code as a number, losing its leading zeros.
        tan = str(params.get("tan", "")).strip().zfill(6)
        now = time.time()
        if tan not in {totp(secret, now + drift) for drift in (-30, 0, 30)}:
            return reply(2200, reason="Invalid TAN")
        with self.lock:
            self.sessions[session] = True
        return reply(1000)

    def info(self, params: dict) -> Response:
        zone = self.store.zone(str(params.get("domain", "")))
        if zone is None:
            return reply(2303)
        name = params.get("name")
        records = self.store.find(
            zone=zone["name"],
            name=absolute_in(str(name), zone["name"]) if name else None,
            type=params.get("type") or None,
            content=params.get("content") or None,
        )
        data = {"roId": int(zone["id"]), "domain": zone["name"], "type": "MASTER",
                "count": len(records)}
        if records:
            data["record"] = [self.shape(r) for r in records]
        return reply(1000, data)

    def create(self, params: dict) -> Response:
        zone = self.store.zone(str(params.get("domain", "")))
        if zone is None:
            return reply(2303)
        kind = str(params.get("type", "")).upper()
        content = params.get("content")
        if kind not in ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA") or content is None:
            return reply(2005, reason="type and content are required")
        ttl = int(params.get("ttl") or 3600)
        if ttl < MIN_TTL:
            return reply(2005, reason=f"ttl must be at least {MIN_TTL}")
        name = absolute_in(str(params.get("name") or ""), zone["name"])
        with self.store.lock:
            if self.store.find(zone=zone["name"], name=name, type=kind, content=str(content)):
                return reply(2302)
            record = self.store.add(zone["name"], name, kind, str(content), ttl,
                                    prio=int(params.get("prio") or 0))
        return reply(1000, {"id": int(record.id)})

    def delete(self, params: dict) -> Response:
        record_id = params.get("id")
        if record_id is None or self.store.delete(str(record_id)) is None:
            return reply(2303)
        return reply(1000)

    @staticmethod
    def shape(record) -> dict:
        return {"id": int(record.id), "name": bare(record.name), "type": record.type,
                "content": record.content, "ttl": record.ttl,
                "prio": int(record.extra.get("prio", 0))}


VENDOR = Inwx
