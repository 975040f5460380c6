"""Google Cloud DNS API v1 and Google's OAuth 2.0 token endpoint for service accounts: the
calls DNS-01 needs.

Written from Google's published references:
https://developers.google.com/identity/protocols/oauth2/service-account (the JWT bearer grant),
https://cloud.google.com/dns/docs/reference/rest/v1/managedZones/list,
https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets/list,
https://cloud.google.com/dns/docs/reference/rest/v1/changes/create and
https://cloud.google.com/dns/docs/reference/rest/v1/changes/get, and the error model at
https://cloud.google.com/apis/design/errors.

* ``POST /token`` (a key's ``token_uri`` points here), form
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>``: the RS256
  assertion is verified with Google's own library (``google.auth.jwt.decode``, pinned in
  ``requirements/gcloud.txt``) against the service account's public key, ``aud`` this URL or
  ``https://oauth2.googleapis.com/token`` (what Google documents, and google-auth sends),
  ``iss`` the account, a lifetime of at most an hour around now. Answers
  ``{"access_token", "expires_in", "token_type": "Bearer"}``, or 400
  ``{"error": "invalid_grant", "error_description": ...}`` as Google does.
* ``GET /dns/v1/projects/{project}/managedZones[?dnsName=]``: ``{"managedZones": [...]}``;
  ``GET …/managedZones/{zone}``: the zone.
* ``GET …/managedZones/{zone}/rrsets[?name=&type=]``: ``{"rrsets": [{"name", "type", "ttl",
  "rrdatas"}]}``; TXT ``rrdatas`` are quoted, as in a zone file.
* ``POST …/managedZones/{zone}/changes`` ``{"additions": [...], "deletions": [...]}``: applied
  atomically; a deletion that does not match the set exactly is 412 ``conditionNotMet``, an
  addition of a set that exists is 409 ``alreadyExists``. The change answers ``"status":
  "pending"``; ``GET …/changes/{id}`` then answers ``"done"``.

Every API request needs ``Authorization: Bearer <token>`` with a token this stand-in issued;
otherwise 401 ``UNAUTHENTICATED``. Errors are ``{"error": {"code", "message", "errors":
[{"domain", "reason", "message"}], "status"}}``.

Options: ``client_email`` (the account), ``public_key`` (its PEM public key), ``project``
(default ``acmebox-test``), ``access_token`` (the token to issue, for a test that checks it
never shows; random otherwise).
Not emulated: private zones, paging past one page, DNSSEC signature rrdatas, IAM roles (any
valid token may change any zone), token expiry.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

from google.auth import exceptions as google_exceptions
from google.auth import jwt as google_jwt

from standins.core import Request, Response, Vendor, bare, json_response, quote_txt

SCOPE = "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
SCOPES_ACCEPTED = {SCOPE, "https://www.googleapis.com/auth/cloud-platform"}
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_LIFETIME = 3600
CLOCK_SKEW = 60

ERRORS = {
    400: ("INVALID_ARGUMENT", "invalid", "Invalid value for 'entity.change'"),
    401: ("UNAUTHENTICATED", "authError",
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
          "cookie or other valid authentication credential. See "
          "https://developers.google.com/identity/sign-in/web/devconsole-project."),
    403: ("PERMISSION_DENIED", "forbidden", "Forbidden"),
    404: ("NOT_FOUND", "notFound", "The requested resource was not found."),
    409: ("ALREADY_EXISTS", "alreadyExists", "The resource already exists."),
    412: ("FAILED_PRECONDITION", "conditionNotMet",
          "Precondition not met for 'entity.change.deletions[0]'"),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded",
          "Quota exceeded for quota metric 'Write requests' and limit 'Write requests per "
          "minute' of service 'dns.googleapis.com'."),
    500: ("INTERNAL", "internalError", "Internal error encountered."),
}


def google_error(status: int, message: str | None = None, reason: str | None = None,
                 headers: dict[str, str] | None = None) -> Response:
    code, default_reason, default_message = ERRORS.get(status, ERRORS[500])
    message = message or default_message
    return json_response(status, {"error": {
        "code": status,
        "message": message,
        "errors": [{"domain": "global", "reason": reason or default_reason, "message": message}],
        "status": code,
    }}, headers)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def unquote_rrdata(rrdata: str) -> str:
    """A TXT rrdata's text: its quoted strings joined, escapes undone (or the bare text)."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', rrdata)
    if not parts:
        return rrdata
    return "".join(re.sub(r"\\(.)", r"\1", p) for p in parts)


class GoogleCloud(Vendor):
    name = "gcloud"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.tokens: set[str] = set()
        self.changes: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.project = options.get("project", "acmebox-test")

    def error(self, status: int, retry_after: int | None) -> Response:
        headers = {}
        if status == 429 and retry_after is not None:
            headers["retry-after"] = str(retry_after)
        return google_error(status, headers=headers)

    def route(self, req: Request) -> Response | None:
        if req.path == "/token" and req.method == "POST":
            return self.token(req)
        auth = req.header("authorization") or ""
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        with self.lock:
            known = token in self.tokens
        if not known:
            return google_error(401, headers={"www-authenticate": 'Bearer realm="https://accounts.google.com/"'})
        m = re.fullmatch(r"/dns/v1/projects/([^/]+)/managedZones(?:/([^/]+)(/rrsets|/changes(?:/([^/]+))?)?)?/?",
                         req.path)
        if not m:
            return None
        project, zone_name, tail, change_id = m.groups()
        if project != self.project:
            return google_error(404, f"The 'parameters.project' resource named '{project}' does not exist.")
        if zone_name is None:
            return self.list_zones(req) if req.method == "GET" else None
        zone = self.zone_named(zone_name)
        if zone is None:
            return google_error(404, f"The 'parameters.managedZone' resource named '{zone_name}' "
                                     "does not exist.")
        if tail is None:
            return json_response(200, self.shape_zone(zone)) if req.method == "GET" else None
        if tail == "/rrsets" and req.method == "GET":
            return self.list_rrsets(req, zone)
        if tail == "/changes" and req.method == "POST":
            return self.create_change(req, zone)
        if change_id is not None and req.method == "GET":
            with self.lock:
                change = self.changes.get(f"{zone['name']}/{change_id}")
                if change is not None:
                    change["status"] = "done"
            if change is None:
                return google_error(404, f"The 'parameters.changeId' resource named '{change_id}' "
                                         "does not exist.")
            return json_response(200, change)
        return None

    # --- OAuth ---

    def token(self, req: Request) -> Response:
        form = req.form()
        if form.get("grant_type") != JWT_BEARER:
            return oauth_error("unsupported_grant_type", "Invalid grant_type: "
                               + form.get("grant_type", ""))
        assertion = form.get("assertion", "")
        # Google documents the audience as always its own token URL; clients that take the
        # key's token_uri (Go's golang.org/x/oauth2) send that, which here is this URL.
        audience = [f"http://{req.header('host', '')}/token", GOOGLE_TOKEN_URL]
        try:
            claims = google_jwt.decode(assertion, certs=self.options.get("public_key", ""),
                                       audience=audience, clock_skew_in_seconds=CLOCK_SKEW)
        except (ValueError, google_exceptions.GoogleAuthError) as e:
            text = str(e)
            if "signature" in text.lower():
                return oauth_error("invalid_grant", "Invalid JWT Signature.")
            if "expired" in text.lower() or "too early" in text.lower():
                return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                                   "(60 minutes) and in a reasonable timeframe. Check your iat "
                                   "and exp values in the JWT claim.")
            return oauth_error("invalid_grant", f"Invalid JWT: {text}")
        now = time.time()
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if exp - iat > MAX_LIFETIME or iat < now - MAX_LIFETIME - CLOCK_SKEW:
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                               "(60 minutes) and in a reasonable timeframe. Check your iat and "
                               "exp values in the JWT claim.")
        if claims.get("iss") != self.options.get("client_email"):
            return oauth_error("invalid_grant", "Invalid grant: account not found")
        if not SCOPES_ACCEPTED & set(str(claims.get("scope", "")).split()):
            return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = self.options.get("access_token") or "ya29.standin-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return json_response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    # --- Cloud DNS ---

    @staticmethod
    def zone_name_of(zone: dict) -> str:
        return zone["name"].replace(".", "-")

    def zone_named(self, name: str) -> dict | None:
        return next((z for z in self.store.zones.values() if self.zone_name_of(z) == name), None)

    def shape_zone(self, zone: dict) -> dict:
        return {
            "kind": "dns#managedZone",
            "name": self.zone_name_of(zone),
            "dnsName": zone["name"] + ".",
            "id": zone["id"],
            "description": "",
            "nameServers": ["ns-cloud-a1.googledomains.com."],
            "visibility": "public",
            "creationTime": "2024-01-01T00:00:00.000Z",
        }

    def list_zones(self, req: Request) -> Response:
        dns_name = req.arg("dnsName")
        zones = [z for z in self.store.zones.values()
                 if dns_name is None or bare(dns_name) == z["name"]]
        return json_response(200, {"kind": "dns#managedZonesListResponse",
                                   "managedZones": [self.shape_zone(z) for z in zones]})

    def rrsets(self, zone: dict, name: str | None = None, kind: str | None = None) -> list[dict]:
        sets: dict[tuple[str, str], dict] = {}
        for r in self.store.find(zone=zone["name"], name=name, type=kind):
            key = (r.name, r.type)
            entry = sets.setdefault(key, {"kind": "dns#resourceRecordSet", "name": r.name + ".",
                                          "type": r.type, "ttl": r.ttl, "rrdatas": []})
            entry["rrdatas"].append(quote_txt(r.content) if r.type == "TXT" else r.content)
        return list(sets.values())

    def list_rrsets(self, req: Request, zone: dict) -> Response:
        name = req.arg("name")
        kind = req.arg("type")
        if kind is not None and name is None:
            return google_error(400, "The 'parameters.name' must be specified when "
                                     "'parameters.type' is.", "required")
        return json_response(200, {"kind": "dns#resourceRecordSetsListResponse",
                                   "rrsets": self.rrsets(zone, name, kind)})

    def create_change(self, req: Request, zone: dict) -> Response:
        body = req.json() or {}
        deletions = body.get("deletions") or []
        additions = body.get("additions") or []
        if not deletions and not additions:
            return google_error(400, "The 'entity.change' resource has no additions or deletions.",
                                "required")
        with self.store.lock:
            for i, d in enumerate(deletions):
                current = self.rrsets(zone, d.get("name", ""), d.get("type", ""))
                if not current or not self.same_set(current[0], d):
                    return google_error(412, f"Precondition not met for 'entity.change.deletions[{i}]'")
            deleted = {(bare(d["name"]), d["type"].upper()) for d in deletions}
            for i, a in enumerate(additions):
                name, kind = bare(a.get("name", "")), str(a.get("type", "")).upper()
                if not name.endswith(zone["name"]) or not a.get("rrdatas"):
                    return google_error(400, f"Invalid value for 'entity.change.additions[{i}]'")
                if (name, kind) not in deleted and self.rrsets(zone, name, kind):
                    return google_error(409, f"The resource 'entity.change.additions[{i}]' named "
                                             f"'{name}. ({kind})' already exists")
            for d in deletions:
                self.store.replace_set(zone["name"], d["name"], d["type"], [], 0)
            for a in additions:
                kind = a["type"].upper()
                contents = [unquote_rrdata(r) if kind == "TXT" else r for r in a["rrdatas"]]
                self.store.replace_set(zone["name"], a["name"], kind, contents, int(a.get("ttl", 300)))
        with self.lock:
            change_id = str(len([k for k in self.changes if k.startswith(zone["name"] + "/")]) + 1)
            change = {"kind": "dns#change", "id": change_id, "status": "pending",
                      "startTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                      "additions": additions, "deletions": deletions}
            self.changes[f"{zone['name']}/{change_id}"] = change
        return json_response(200, change)

    @staticmethod
    def same_set(current: dict, deletion: dict) -> bool:
        return (int(deletion.get("ttl", -1)) == current["ttl"]
                and sorted(deletion.get("rrdatas") or []) == sorted(current["rrdatas"]))


VENDOR = GoogleCloud
