"""Azure DNS: the Microsoft identity platform's client-credentials token endpoint and the Azure
Resource Manager (ARM) DNS record-set API, on one port (two path prefixes).

Written from Microsoft's published references:

* token endpoint: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
  (``POST /{tenant}/oauth2/v2.0/token``, form ``client_id``, ``client_secret``,
  ``grant_type=client_credentials``, ``scope=https://management.azure.com/.default``; answer
  ``{"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}``; errors
  ``{"error", "error_description": "AADSTSnnn: ...", "error_codes", "timestamp", "trace_id",
  "correlation_id", "error_uri"}``: AADSTS7000215 invalid client secret and AADSTS7000218 no
  secret (401 ``invalid_client``), AADSTS700016 unknown application (400
  ``unauthorized_client``), AADSTS90002 unknown tenant (400 ``invalid_request``), AADSTS70011
  bad scope (400 ``invalid_scope``), AADSTS70003 (400 ``unsupported_grant_type``); error codes
  listed at https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes);
  ``GET /{tenant}/v2.0/.well-known/openid-configuration`` for MSAL's tenant discovery.
* record sets, api-version 2018-05-01:
  https://learn.microsoft.com/en-us/rest/api/dns/record-sets/create-or-update?view=rest-dns-2018-05-01,
  .../record-sets/get, .../record-sets/delete, .../record-sets/list-by-type
  (``GET|PUT|DELETE /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/
  dnsZones/{zone}/TXT/{relativeName}``; ``properties.TXTRecords: [{"value": ["..."]}]``,
  ``properties.TTL``, ``etag``; ``If-Match: <etag>`` and ``If-None-Match: *`` on PUT, ``If-Match``
  on DELETE, 412 ``PreconditionFailed`` when they do not hold; PUT answers 201 created or 200
  updated, DELETE 200 or 204 when there was nothing);
  zones: https://learn.microsoft.com/en-us/rest/api/dns/zones/list-by-resource-group?view=rest-dns-2018-05-01
  and .../zones/get.
* ARM errors ``{"error": {"code", "message"}}``:
  https://learn.microsoft.com/en-us/azure/azure-resource-manager/troubleshooting/common-deployment-errors
  (401 ``AuthenticationFailed`` / ``InvalidAuthenticationToken`` /
  ``ExpiredAuthenticationToken``, 404 ``ResourceGroupNotFound``, ``ResourceNotFound``,
  ``ParentResourceNotFound``, 400 ``MissingApiVersionParameter``), throttling 429 with
  ``Retry-After``: https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling

Options: ``tenant``, ``client_id``, ``client_secret``, ``subscription``, ``resource_group`` (the
one service principal and resource group it knows), ``token_lifetime`` (seconds, default 3599),
``read_delay_ms`` (a pause between reading a record set and answering the GET, so tests can
make two read-modify-write rounds overlap).

Access tokens are JWTs (HS256, a key drawn at start) made and checked on every ARM call with
PyJWT: audience, issuer, tenant, app id, expiry. Microsoft publishes no Python library that
validates access tokens (MSAL and azure-identity only acquire them). One token per client and
scope is handed out until it expires (Entra ID issues a fresh one per request).

Not emulated: certificates and federated credentials, managed identity, the v1 endpoint,
role assignments (any token of the known client may do anything), PATCH of record sets, record
types other than TXT through the record-set API, private zones, paging (two zones fit one
page), long TXT strings are kept joined (re-split at 255 characters when shown).
"""

from __future__ import annotations

import datetime
import re
import secrets
import threading
import time
import uuid

import jwt

from standins.core import Request, Response, Vendor, bare, json_response

ARM_RESOURCE = "https://management.azure.com"
API_VERSIONS = ("2018-05-01", "2023-07-01-preview")
ZONES = (r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Network/dnsZones")
ZONES_PATH = re.compile(ZONES + r"(?:/([^/]+)(?:/([A-Za-z]+)(?:/([^/]+))?)?)?/?", re.IGNORECASE)
TOKEN_PATH = re.compile(r"/([^/]+)/oauth2/v2\.0/token")
DISCOVERY_PATH = re.compile(r"/([^/]+)/v2\.0/\.well-known/openid-configuration")


def aad_error(status: int, error: str, code: int, description: str) -> Response:
    """The identity platform's error body, with its trace fields."""
    now = datetime.datetime.now(datetime.timezone.utc)
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    return json_response(status, {
        "error": error,
        "error_description": (f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
                              f"Correlation ID: {correlation}\r\n"
                              f"Timestamp: {now:%Y-%m-%d %H:%M:%SZ}"),
        "error_codes": [code],
        "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    })


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    headers = dict(headers or {})
    headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class Azure(Vendor):
    name = "azure"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.tenant = options.get("tenant", "00000000-0000-0000-0000-00000000000a")
        self.client_id = options.get("client_id", "00000000-0000-0000-0000-00000000000c")
        self.client_secret = options.get("client_secret", "")
        self.subscription = options.get("subscription", "00000000-0000-0000-0000-00000000000s")
        self.resource_group = options.get("resource_group", "dns-rg")
        self.lifetime = int(options.get("token_lifetime", "3599"))
        self.read_delay = int(options.get("read_delay_ms", "0")) / 1000
        self.key = secrets.token_bytes(32)
        self.tokens: dict[tuple[str, str], tuple[str, int]] = {}
        self.etags: dict[tuple[str, str], str] = {}
        self.metadata: dict[tuple[str, str], dict] = {}
        self.lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 401:
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                             {"www-authenticate": self.challenge("invalid_token")})
        if status == 429:
            headers = {"x-ms-ratelimit-remaining-subscription-reads": "0"}
            if retry_after is not None:
                headers["retry-after"] = str(retry_after)
            return arm_error(429, "TooManyRequests",
                             "The request is being throttled as the limit has been reached "
                             "for operation type - Read.", headers)
        if status == 404:
            return arm_error(404, "NotFound", "The requested resource was not found.")
        if status == 412:
            return arm_error(412, "PreconditionFailed", "The Record set has been modified (etag mismatch).")
        return arm_error(status, "InternalServerError",
                         "Encountered internal server error. Please try again.")

    def route(self, req: Request) -> Response | None:
        m = TOKEN_PATH.fullmatch(req.path)
        if m and req.method == "POST":
            return self.token(req, m.group(1))
        m = DISCOVERY_PATH.fullmatch(req.path)
        if m and req.method == "GET":
            return self.discovery(req, m.group(1))
        m = ZONES_PATH.fullmatch(req.path)
        if not m:
            return None
        refused = self.authenticate(req)
        if refused is not None:
            return refused
        version = req.arg("api-version")
        if version is None:
            return arm_error(400, "MissingApiVersionParameter",
                             "The api-version query parameter (?api-version=) is required for all requests.")
        if version not in API_VERSIONS:
            return arm_error(400, "InvalidResourceType",
                             f"The resource type 'dnszones' could not be found in the namespace "
                             f"'Microsoft.Network' for api version '{version}'. The supported "
                             f"api-versions are '{', '.join(API_VERSIONS)}'.")
        sub, rg, zone_name, kind, name = m.groups()
        if sub != self.subscription:
            return arm_error(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        if rg.lower() != self.resource_group.lower():
            return arm_error(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        if zone_name is None:
            if req.method != "GET":
                return None
            return json_response(200, {"value": [self.zone_shape(z) for z in self.store.zones.values()]})
        zone = self.store.zone(zone_name)
        if kind is None:
            if req.method != "GET":
                return None
            if zone is None:
                return arm_error(404, "ResourceNotFound",
                                 f"The Resource 'Microsoft.Network/dnszones/{zone_name}' under "
                                 f"resource group '{rg}' was not found.")
            return json_response(200, self.zone_shape(zone))
        if zone is None:
            return arm_error(404, "ParentResourceNotFound",
                             f"Can not perform requested operation on nested resource. Parent "
                             f"resource '{zone_name}' not found.")
        if kind.upper() != "TXT":
            return arm_error(400, "BadRequest", f"The record type '{kind}' is not served here.")
        if name is None:
            if req.method != "GET":
                return None
            names = sorted({r.name for r in self.store.find(zone=zone["name"], type="TXT")})
            return json_response(200, {"value": [self.set_shape(zone["name"], n) for n in names]})
        fqdn = bare(zone["name"]) if name == "@" else bare(f"{name}.{zone['name']}")
        if req.method == "GET":
            with self.store.lock:
                found = self.store.find(name=fqdn, type="TXT")
                shape = self.set_shape(zone["name"], fqdn) if found else None
            if self.read_delay:
                time.sleep(self.read_delay)  # the answer is stale by the time it arrives
            if shape is None:
                return arm_error(404, "NotFound",
                                 f"The resource record '{name}' does not exist in resource group "
                                 f"'{rg}' of subscription '{sub}'.")
            return json_response(200, shape)
        if req.method == "PUT":
            return self.put(req, zone["name"], fqdn, name)
        if req.method == "DELETE":
            return self.delete(req, zone["name"], fqdn, name)
        return None

    # --- the identity platform

    def token(self, req: Request, tenant: str) -> Response:
        form = req.form()
        if form.get("grant_type") != "client_credentials":
            return aad_error(400, "unsupported_grant_type", 70003,
                             "The app requested an unsupported grant type.")
        if tenant != self.tenant:
            return aad_error(400, "invalid_request", 90002,
                             f"Tenant '{tenant}' not found. Check to make sure you have the "
                             f"correct tenant ID and are signing into the correct cloud.")
        client = form.get("client_id", "")
        if client != self.client_id:
            return aad_error(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client}' was not found in the "
                             f"directory '{tenant}'.")
        secret = form.get("client_secret")
        if not secret:
            return aad_error(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: "
                             "'client_assertion' or 'client_secret'.")
        if not secrets.compare_digest(secret.encode(), self.client_secret.encode()):
            return aad_error(401, "invalid_client", 7000215,
                             "Invalid client secret provided. Ensure the secret being sent in "
                             "the request is the client secret value, not the client secret "
                             f"ID, for a secret added to app '{client}'.")
        scope = form.get("scope", "")
        if scope not in (f"{ARM_RESOURCE}/.default", f"{ARM_RESOURCE}//.default"):
            return aad_error(400, "invalid_scope", 70011,
                             f"The provided request must include a 'scope' input parameter. "
                             f"The provided value for the input parameter 'scope' is not valid: {scope!r}.")
        now = int(time.time())
        with self.lock:
            token, expires = self.tokens.get((client, scope), ("", 0))
            if expires - now < 60:
                expires = now + self.lifetime
                token = jwt.encode({
                    "aud": ARM_RESOURCE,
                    "iss": f"https://sts.windows.net/{tenant}/",
                    "iat": now, "nbf": now, "exp": expires,
                    "appid": client, "tid": tenant, "sub": client,
                    "idtyp": "app", "ver": "1.0", "uti": secrets.token_urlsafe(16),
                }, self.key, algorithm="HS256", headers={"kid": "standin"})
                self.tokens[(client, scope)] = (token, expires)
        return json_response(200, {"token_type": "Bearer", "expires_in": expires - now,
                                   "ext_expires_in": expires - now, "access_token": token})

    def discovery(self, req: Request, tenant: str) -> Response:
        if tenant != self.tenant:
            return aad_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        proto = req.header("x-forwarded-proto", "http")
        base = f"{proto}://{req.header('host', '127.0.0.1')}/{tenant}"
        return json_response(200, {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        })

    # --- ARM

    def challenge(self, error: str) -> str:
        return (f'Bearer authorization_uri="https://login.microsoftonline.com/{self.tenant}", '
                f'error="{error}", error_description="The access token is invalid."')

    def authenticate(self, req: Request) -> Response | None:
        header = req.header("authorization")
        if not header:
            return arm_error(401, "AuthenticationFailed",
                             "Authentication failed. The 'Authorization' header is missing.",
                             {"www-authenticate": self.challenge("invalid_token")})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return arm_error(401, "AuthenticationFailed",
                             "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                             {"www-authenticate": self.challenge("invalid_token")})
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], audience=ARM_RESOURCE,
                                issuer=f"https://sts.windows.net/{self.tenant}/",
                                options={"require": ["exp", "iat", "nbf", "aud", "iss"]})
        except jwt.ExpiredSignatureError:
            now = datetime.datetime.now(datetime.timezone.utc)
            return arm_error(401, "ExpiredAuthenticationToken",
                             f"The access token expiry UTC time is earlier than current UTC "
                             f"time '{now:%m/%d/%Y %H:%M:%S}'.",
                             {"www-authenticate": self.challenge("invalid_token")})
        except jwt.PyJWTError:
            return arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.",
                             {"www-authenticate": self.challenge("invalid_token")})
        if claims.get("tid") != self.tenant or claims.get("appid") != self.client_id:
            return arm_error(401, "InvalidAuthenticationTokenTenant",
                             "The access token is from the wrong issuer.",
                             {"www-authenticate": self.challenge("invalid_token")})
        return None

    def put(self, req: Request, zone: str, fqdn: str, name: str) -> Response:
        body = req.json() or {}
        props = body.get("properties") or {}
        txt = props.get("TXTRecords")
        if not isinstance(txt, list) or not txt:
            return arm_error(400, "BadRequest", "The record set must contain at least one TXT record.")
        values = []
        for entry in txt:
            chunks = entry.get("value") if isinstance(entry, dict) else None
            if not isinstance(chunks, list) or not chunks or any(
                    not isinstance(c, str) or len(c) > 255 for c in chunks):
                return arm_error(400, "BadRequest",
                                 "Each TXT record needs a 'value' list of strings of at most 255 characters.")
            joined = "".join(chunks)
            if joined not in values:
                values.append(joined)
        ttl = props.get("TTL", 3600)
        if not isinstance(ttl, int) or not 0 <= ttl <= 2147483647:
            return arm_error(400, "BadRequest", "The TTL must be an integer.")
        with self.store.lock:
            exists = bool(self.store.find(name=fqdn, type="TXT"))
            refused = self.preconditions(req, zone, fqdn, name, exists)
            if refused is not None:
                return refused
            self.store.replace_set(zone, fqdn, "TXT", values, ttl)
            self.etags[(zone, fqdn)] = str(uuid.uuid4())
            self.metadata[(zone, fqdn)] = props.get("metadata") or {}
            return json_response(200 if exists else 201, self.set_shape(zone, fqdn))

    def delete(self, req: Request, zone: str, fqdn: str, name: str) -> Response:
        with self.store.lock:
            exists = bool(self.store.find(name=fqdn, type="TXT"))
            refused = self.preconditions(req, zone, fqdn, name, exists)
            if refused is not None:
                return refused
            if not exists:
                return Response(204)
            self.store.replace_set(zone, fqdn, "TXT", [], 0)
            self.etags.pop((zone, fqdn), None)
            self.metadata.pop((zone, fqdn), None)
            return Response(200)

    def preconditions(self, req: Request, zone: str, fqdn: str, name: str,
                      exists: bool) -> Response | None:
        if_match = req.header("if-match")
        if_none_match = req.header("if-none-match")
        etag = self.etags.get((zone, fqdn))
        if if_match is not None and (not exists or if_match.strip('"') not in ("*", etag)):
            return arm_error(412, "PreconditionFailed",
                             f"The Record set {name} has been modified (etag mismatch).")
        if if_none_match is not None and if_none_match.strip() == "*" and exists:
            return arm_error(412, "PreconditionFailed",
                             f"The Record set {name} exists already and so cannot be created again.")
        return None

    def set_shape(self, zone: str, fqdn: str) -> dict:
        records = self.store.find(name=fqdn, type="TXT")
        relative = "@" if fqdn == bare(zone) else fqdn[: -(len(zone) + 1)]
        etag = self.etags.setdefault((zone, fqdn), str(uuid.uuid4()))
        return {
            "id": (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                   f"/providers/Microsoft.Network/dnszones/{zone}/TXT/{relative}"),
            "name": relative,
            "type": "Microsoft.Network/dnszones/TXT",
            "etag": etag,
            "properties": {
                "metadata": self.metadata.get((zone, fqdn), {}),
                "TTL": min((r.ttl for r in records), default=3600),
                "fqdn": f"{fqdn}.",
                "provisioningState": "Succeeded",
                "targetResource": {},
                "TXTRecords": [{"value": [r.content[i:i + 255] for i in range(0, max(len(r.content), 1), 255)]}
                               for r in records],
            },
        }

    def zone_shape(self, zone: dict) -> dict:
        names = {r.name for r in self.store.find(zone=zone["name"])}
        return {
            "id": (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                   f"/providers/Microsoft.Network/dnszones/{zone['name']}"),
            "name": zone["name"],
            "type": "Microsoft.Network/dnszones",
            "etag": f"00000002-0000-0000-{zone['id']:0>4}-000000000000",
            "location": "global",
            "tags": {},
            "properties": {
                "maxNumberOfRecordSets": 10000,
                "maxNumberOfRecordsPerRecordSet": None,
                "numberOfRecordSets": 2 + len(names),
                "nameServers": ["ns1-01.azure-dns.com.", "ns2-01.azure-dns.net.",
                                "ns3-01.azure-dns.org.", "ns4-01.azure-dns.info."],
                "zoneType": "Public",
            },
        }


VENDOR = Azure
