"""Amazon Route 53 API (2013-04-01): moto, an independent AWS emulator, behind a check of every
request's AWS Signature Version 4 made with botocore, AWS's own Python signer.

moto (``moto[server]``, pinned in ``requirements/route53.txt``) serves the API in-process; it
checks no signature at all. This module is the thin layer around it:

* every request's ``Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
  Signature=…`` is recomputed with ``botocore.auth.SigV4Auth`` (service ``route53``, region
  ``us-east-1``) over the request as received, with the ``X-Amz-Date`` it carries; a signature
  that differs, an ``X-Amz-Date`` more than five minutes off, an unknown access key id, or a
  missing or wrong ``X-Amz-Security-Token`` (when the stand-in was given ``session_token``) is
  refused with the documented 403 ``ErrorResponse`` (``SignatureDoesNotMatch``,
  ``InvalidClientTokenId``, ``MissingAuthenticationToken``), per
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
  and https://docs.aws.amazon.com/Route53/latest/APIReference/CommonErrors.html;
* ``ChangeResourceRecordSets`` batches get the checks Route 53 documents and moto leaves out
  (https://docs.aws.amazon.com/Route53/latest/APIReference/API_ChangeResourceRecordSets.html):
  a ``CREATE`` of a set that exists, a ``DELETE`` of a set that is not there or whose TTL and
  values differ, make the whole batch fail with 400 ``InvalidChangeBatch``;
* a change is answered ``PENDING``, as Route 53 does, and ``GetChange`` answers ``INSYNC``;
* after a change, the TXT sets it touched are copied into the stand-in's store, which writes
  them through to PowerDNS (so the conformance kit reads real DNS) and answers
  ``/__standin__/txt``.

Calls DNS-01 needs (https://docs.aws.amazon.com/Route53/latest/APIReference/): ``GET
/2013-04-01/hostedzonesbyname?dnsname=``, ``GET /2013-04-01/hostedzone/{Id}/rrset?name=&type=
&maxitems=``, ``POST /2013-04-01/hostedzone/{Id}/rrset/``, ``GET /2013-04-01/change/{Id}``;
moto serves the rest of the API too. Errors for injected faults: 401/403 ``InvalidClientTokenId``
(403), 404 ``NoSuchHostedZone``, 429 ``Throttling`` "Rate exceeded" (Route 53 sends it with
status 400; ``Retry-After`` added when asked), 500 ``InternalFailure``.

Options: ``access_key_id``, ``secret_access_key``, optional ``session_token``.
"""

from __future__ import annotations

import hmac
import random
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from xml.sax.saxutils import escape

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from standins.core import Request, Response, Store, Vendor, bare

NS = "https://route53.amazonaws.com/doc/2013-04-01/"
REGION = "us-east-1"
SERVICE = "route53"
#: How far ``X-Amz-Date`` may be from the stand-in's clock.
SKEW_SECONDS = 300
AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})\s*$"
)
MESSAGES = {
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature "
    "you provided. Check your AWS Secret Access Key and signing method. Consult the service "
    "documentation for details.",
    "InvalidClientTokenId": "The security token included in the request is invalid.",
    "MissingAuthenticationToken": "Missing Authentication Token",
    "NoSuchHostedZone": "No hosted zone found with ID: Z0000000000000000000",
    "Throttling": "Rate exceeded",
    "InternalFailure": "The request processing has failed because of an unknown error, "
    "exception or failure.",
}


def error_xml(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<?xml version="1.0"?>\n<ErrorResponse xmlns="{NS}"><Error><Type>{kind}</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(status, body.encode(), "text/xml", headers or {})


def invalid_change_batch(messages: list[str]) -> Response:
    """400 ``InvalidChangeBatch``, its messages in brackets as Route 53 sends them."""
    return error_xml(400, "InvalidChangeBatch", "[" + ", ".join(messages) + "]")


def unquote_txt(content: str) -> str:
    """The text of TXT content: its quoted strings joined, escapes undone."""
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


def absolute(name: str) -> str:
    return bare(name) + "."


class Route53(Vendor):
    name = "route53"

    def __init__(self, store: Store, options: dict[str, str]) -> None:
        super().__init__(store, options)
        from moto.moto_server.werkzeug_app import create_backend_app

        self.moto = create_backend_app("route53").test_client()
        # Each stand-in is an account of its own, so stand-ins in one process never share zones.
        self.account = str(random.randrange(10**11, 10**12))
        self.lock = threading.Lock()
        self.zone_ids: dict[str, str] = {}
        for zone in store.zones:
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><CreateHostedZoneRequest xmlns="{NS}">'
                f"<Name>{zone}</Name><CallerReference>{uuid.uuid4()}</CallerReference>"
                "</CreateHostedZoneRequest>"
            )
            answer = self.forward("POST", "/2013-04-01/hostedzone", body.encode(), {})
            zone_id = ET.fromstring(answer.body).find(f"{{{NS}}}HostedZone/{{{NS}}}Id")
            self.zone_ids[zone] = zone_id.text.rsplit("/", 1)[-1]

    # ---- errors ----

    def error(self, status: int, retry_after: int | None) -> Response:
        if status in (401, 403):
            return error_xml(403, "InvalidClientTokenId", MESSAGES["InvalidClientTokenId"])
        if status == 404:
            return error_xml(404, "NoSuchHostedZone", MESSAGES["NoSuchHostedZone"])
        if status == 429:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return error_xml(400, "Throttling", MESSAGES["Throttling"], headers)
        return error_xml(500, "InternalFailure", MESSAGES["InternalFailure"])

    # ---- requests ----

    def route(self, req: Request) -> Response | None:
        refused = self.refuse_signature(req)
        if refused is not None:
            return refused
        change = re.fullmatch(r"/2013-04-01/hostedzone/([^/]+)/rrset/?", req.path)
        with self.lock:
            if change and req.method == "POST":
                return self.change(change.group(1), req)
            # moto answers GetChange INSYNC.
            return self.forward(req.method, req.raw_path, req.body, req.headers)

    def refuse_signature(self, req: Request) -> Response | None:
        """The 403 for a request whose SigV4 signature botocore does not reproduce; ``None``
        for a good one."""
        header = req.header("authorization")
        if not header:
            return error_xml(403, "MissingAuthenticationToken", MESSAGES["MissingAuthenticationToken"])
        m = AUTH.match(header)
        if not m:
            return error_xml(400, "IncompleteSignature",
                             "Authorization header requires 'Credential', 'SignedHeaders' and "
                             "'Signature' parameters.")
        access_key, _date, region, service, signed_headers, signature = m.groups()
        if access_key != self.options.get("access_key_id"):
            return error_xml(403, "InvalidClientTokenId", MESSAGES["InvalidClientTokenId"])
        token = self.options.get("session_token")
        if token and req.header("x-amz-security-token") != token:
            return error_xml(403, "InvalidClientTokenId", MESSAGES["InvalidClientTokenId"])
        stamp = req.header("x-amz-date") or ""
        try:
            at = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return error_xml(403, "SignatureDoesNotMatch", MESSAGES["SignatureDoesNotMatch"])
        now = datetime.now(timezone.utc)
        if abs((now - at).total_seconds()) > SKEW_SECONDS:
            fmt = "%Y%m%dT%H%M%SZ"
            return error_xml(
                403, "SignatureDoesNotMatch",
                f"Signature expired: {stamp} is now earlier than "
                f"{now.strftime(fmt)} ({now.strftime(fmt)} - 5 min.)"
                if at < now else f"Signature not yet current: {stamp} is still later than "
                f"{now.strftime(fmt)} ({now.strftime(fmt)} + 5 min.)")
        names = signed_headers.split(";")
        if "host" not in names or "x-amz-date" not in names:
            return error_xml(403, "SignatureDoesNotMatch", MESSAGES["SignatureDoesNotMatch"])
        # Recompute with botocore's signer over the request as received: the signed headers
        # only, the URL as sent, the body, and the client's timestamp.
        headers = {n: req.header(n, "") for n in names}
        request = AWSRequest(method=req.method, url=f"http://{req.header('host', '')}{req.raw_path}",
                             headers=headers, data=req.body)
        request.context["timestamp"] = stamp
        credentials = Credentials(access_key, self.options.get("secret_access_key", ""), token)
        signer = SigV4Auth(credentials, SERVICE, REGION)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if region != REGION or service != SERVICE or not hmac.compare_digest(expected, signature):
            return error_xml(403, "SignatureDoesNotMatch", MESSAGES["SignatureDoesNotMatch"])
        return None

    def forward(self, method: str, target: str, body: bytes, headers: dict[str, str]) -> Response:
        """One request to moto, in-process, as this stand-in's account."""
        answer = self.moto.open(
            target, method=method, data=body,
            headers={"Host": "route53.amazonaws.com", "x-moto-account-id": self.account,
                     "Content-Type": headers.get("content-type", "text/xml")},
        )
        return Response(answer.status_code, answer.data,
                        answer.headers.get("Content-Type", "text/xml"))

    # ---- ChangeResourceRecordSets ----

    def change(self, zone_id: str, req: Request) -> Response:
        zone = self.zone_by_id(zone_id)
        if zone is None:
            return error_xml(404, "NoSuchHostedZone", f"No hosted zone found with ID: {zone_id}")
        try:
            changes = parse_changes(req.body)
        except (ET.ParseError, ValueError) as e:
            return error_xml(400, "InvalidInput", f"Invalid XML ; {e}")
        problems = check_batch(current_sets(zone), changes)
        if problems:
            return invalid_change_batch(problems)
        # moto refuses a CREATE identical to one in its change journal while any record sorts
        # after it, even when the same batch deletes the set first; the batch passed Route 53's
        # checks above, so moto gets UPSERTs, which create the same sets.
        body = req.body.replace(b"<Action>CREATE</Action>", b"<Action>UPSERT</Action>")
        answer = self.forward("POST", req.raw_path, body, req.headers)
        if answer.status == 200:
            for name in {c["name"] for c in changes if c["type"] == "TXT"}:
                self.mirror(zone, name)
            # Route 53 answers a change PENDING; GetChange tells when it is INSYNC.
            answer.body = answer.body.replace(b"<Status>INSYNC</Status>", b"<Status>PENDING</Status>")
        return answer

    def zone_by_id(self, zone_id: str):
        from moto.route53.models import route53_backends

        backend = route53_backends[self.account]["global"]
        return backend.zones.get(zone_id.rsplit("/", 1)[-1])

    def mirror(self, zone, name: str) -> None:
        sets = current_sets(zone)
        ttl, values = sets.get((name, "TXT"), (60, []))
        self.store.replace_set(bare(zone.name), bare(name), "TXT",
                               [unquote_txt(v) for v in values], int(ttl or 60))


def parse_changes(body: bytes) -> list[dict]:
    root = ET.fromstring(body)
    changes = []
    for change in root.iter(f"{{{NS}}}Change"):
        rrset = change.find(f"{{{NS}}}ResourceRecordSet")
        if rrset is None:
            raise ValueError("a Change without a ResourceRecordSet")
        ttl = rrset.findtext(f"{{{NS}}}TTL")
        changes.append({
            "action": change.findtext(f"{{{NS}}}Action", ""),
            "name": absolute(rrset.findtext(f"{{{NS}}}Name", "")),
            "type": rrset.findtext(f"{{{NS}}}Type", "").upper(),
            "ttl": int(ttl) if ttl else None,
            "values": [v.text or "" for v in rrset.iter(f"{{{NS}}}Value")],
            "set_identifier": rrset.findtext(f"{{{NS}}}SetIdentifier"),
        })
    return changes


def current_sets(zone) -> dict[tuple[str, str], tuple[int | None, list[str]]]:
    """The simple record sets of a moto zone: (name, type) -> (ttl, values)."""
    return {
        (absolute(r.name), (r.type or "").upper()): (int(r.ttl) if r.ttl is not None else None,
                                                     list(r.records or []))
        for r in zone.rrsets
        if r.set_identifier is None
    }


def check_batch(sets: dict, changes: list[dict]) -> list[str]:
    """What Route 53 would refuse in the batch, applying it in order to a copy of ``sets``."""
    sets = dict(sets)
    problems = []
    for c in changes:
        if c["set_identifier"] is not None:
            continue
        key = (c["name"], c["type"])
        label = f"[name='{c['name']}', type='{c['type']}']"
        if c["action"] == "CREATE":
            if key in sets:
                problems.append(f"Tried to create resource record set {label} but it already exists")
            sets[key] = (c["ttl"], c["values"])
        elif c["action"] == "DELETE":
            if key not in sets:
                problems.append(f"Tried to delete resource record set {label} but it was not found")
                continue
            ttl, values = sets[key]
            if ttl != c["ttl"] or sorted(values) != sorted(c["values"]):
                problems.append(f"Tried to delete resource record set {label} but the values "
                                "provided do not match the current values")
            sets.pop(key)
        elif c["action"] == "UPSERT":
            sets[key] = (c["ttl"], c["values"])
    return problems


VENDOR = Route53
