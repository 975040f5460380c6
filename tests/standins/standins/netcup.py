"""netcup CCP DNS API (JSON): the calls DNS-01 needs.

Written from netcup's published API reference, the DomainWebservice interface description
https://ccp.netcup.net/run/webservice/servers/endpoint.php (functions ``login``, ``logout``,
``infoDnsZone``, ``infoDnsRecords``, ``updateDnsRecords``; types ``Dnsrecord``,
``Dnsrecordset``, ``Responsemessage``) and the wiki pages on using it,
https://helpcenter.netcup.com/en/wiki/general/our-api/ (German:
https://www.netcup-wiki.de/wiki/CCP_API).

Every call is ``POST /run/webservice/servers/endpoint.php?JSON`` with ``{"action", "param"}``;
every answer is HTTP 200 with a ``Responsemessage``: ``serverrequestid``, ``clientrequestid``,
``action``, ``status`` (``success``/``error``), ``statuscode`` (2000 on success),
``shortmessage``, ``longmessage``, ``responsedata`` (an empty string on errors).

* ``login`` ``{customernumber, apikey, apipassword}``: ``{"apisessionid"}``.
* ``logout`` ``{customernumber, apikey, apisessionid}``.
* ``infoDnsZone`` ``{domainname, customernumber, apikey, apisessionid}``: the zone's ``name``,
  ``ttl``, ``serial``, ``refresh``, ``retry``, ``expire``, ``dnssecstatus``.
* ``infoDnsRecords`` (same params): ``{"dnsrecords": [Dnsrecord...]}``, a ``Dnsrecord`` being
  ``{id, hostname, type, priority, destination, deleterecord, state}`` with ``hostname``
  relative to the zone (``@`` for the apex). A zone without records is the error 5029.
* ``updateDnsRecords`` (same params plus ``dnsrecordset: {dnsrecords: [...]}``): a record
  without ``id`` is added, one with ``id`` and ``deleterecord: true`` is deleted; records not
  listed stay. Answers ``{"dnsrecords": [...]}``, every record of the zone.

The error answers netcup does not spell out in the reference are the ones its clients report
receiving (quoted in their issue trackers):

* a refused login: 4013 "Validation Error." with "More than 180 requests per minute..." (what
  netcup answers a wrong API key, nc_dnsapi issue #5) -- also the answer to the request limit;
* an invalid or expired session: 4001 "Api session id in invalid format" / "The session id is
  not in a valid format.";
* a domain the account cannot reach: 4013 "Validation Error." / "Value in field domainname does
  not match requirements of type: domainname." for info calls, 5028 "Update of DNS records
  failed" / "... The zone X could not be found." for ``updateDnsRecords`` (acme.sh issue #7188);
* a zone without records: 5029 "Getting DNS records failed" / "Can not get DNS records for zone.
  The zone does not X contain any DNS records." (external-dns-netcup-webhook issue #5).

Rate limit: the stand-in's injected 429 is HTTP 429 with ``Retry-After`` and the request-limit
message; a 500 is HTTP 500 with an error ``Responsemessage``.

Options: ``customer=``, ``key=``, ``password=`` (the credentials); ``session_requests=N`` makes
every session invalid after N actions (0, the default: never), to exercise a new login.
"""

from __future__ import annotations

import secrets
import threading

from standins.core import Request, Response, Vendor, absolute_in, json_response, relative

PATH = "/run/webservice/servers/endpoint.php"
LIMIT = ("More than 180 requests per minute. Please wait and retry later. Please contact our "
         "customer service to find out if the limitation of requests can be increased.")
ZONE_TTL = 300


def message(action: str, status: str, code: int, short: str, long: str, data=""):
    return {
        "serverrequestid": secrets.token_urlsafe(12),
        "clientrequestid": "",
        "action": action,
        "status": status,
        "statuscode": code,
        "shortmessage": short,
        "longmessage": long,
        "responsedata": data,
    }


class Netcup(Vendor):
    name = "netcup"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.sessions: dict[str, int] = {}  # session id -> actions served
        self.lock = threading.Lock()

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 429:
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return json_response(429, message("", "error", 4013, "Validation Error.", LIMIT),
                                 headers)
        if status == 401:
            return self.refused("login")
        if status == 404:
            return json_response(404, message("", "error", 4013, "Validation Error.",
                                              "Unknown action."))
        return json_response(status, message("", "error", 5000, "Internal error.",
                                             "An internal error occurred. Please try again later."))

    def refused(self, action: str) -> Response:
        return json_response(200, message(action, "error", 4013, "Validation Error.", LIMIT))

    @staticmethod
    def ok(action: str, short: str, long: str, data="") -> Response:
        return json_response(200, message(action, "success", 2000, short, long, data))

    @staticmethod
    def failed(action: str, code: int, short: str, long: str) -> Response:
        return json_response(200, message(action, "error", code, short, long))

    def route(self, req: Request) -> Response | None:
        if req.path.rstrip("/") != PATH or req.method != "POST":
            return None
        body = req.json() or {}
        action = str(body.get("action", ""))
        param = body.get("param") or {}
        if str(param.get("customernumber")) != self.options.get("customer") \
                or param.get("apikey") != self.options.get("key"):
            return self.refused(action)
        if action == "login":
            if param.get("apipassword") != self.options.get("password"):
                return self.refused(action)
            session = secrets.token_urlsafe(24)
            with self.lock:
                self.sessions[session] = 0
            return self.ok(action, "Login successful", "Session has been created successful.",
                           {"apisessionid": session})
        if not self.use_session(str(param.get("apisessionid", ""))):
            return self.failed(action, 4001, "Api session id in invalid format",
                               "The session id is not in a valid format.")
        if action == "logout":
            with self.lock:
                self.sessions.pop(param.get("apisessionid"), None)
            return self.ok(action, "Logout successful", "Session has been terminated successful.")
        handler = {
            "infoDnsZone": self.info_zone,
            "infoDnsRecords": self.info_records,
            "updateDnsRecords": self.update_records,
        }.get(action)
        if handler is None:
            return self.failed(action, 4013, "Validation Error.", "Unknown action.")
        return handler(action, param)

    def use_session(self, session: str) -> bool:
        limit = int(self.options.get("session_requests", "0"))
        with self.lock:
            if session not in self.sessions:
                return False
            if limit and self.sessions[session] >= limit:
                del self.sessions[session]
                return False
            self.sessions[session] += 1
            return True

    def zone_or_error(self, action: str, param: dict):
        zone = self.store.zone(str(param.get("domainname", "")))
        if zone is not None:
            return zone["name"], None
        if action == "updateDnsRecords":
            return None, self.failed(
                action, 5028, "Update of DNS records failed",
                f"Can not update (all) DNS records for zone. The zone "
                f"{param.get('domainname')} could not be found.")
        return None, self.failed(
            action, 4013, "Validation Error.",
            "Value in field domainname does not match requirements of type: domainname. ")

    def info_zone(self, action: str, param: dict) -> Response:
        zone, error = self.zone_or_error(action, param)
        if error is not None:
            return error
        return self.ok(action, "DNS zone found", "DNS zone was found.", {
            "name": zone, "ttl": str(ZONE_TTL), "serial": "2024010101", "refresh": "28800",
            "retry": "7200", "expire": "1209600", "dnssecstatus": False,
        })

    def info_records(self, action: str, param: dict) -> Response:
        zone, error = self.zone_or_error(action, param)
        if error is not None:
            return error
        records = self.store.find(zone=zone)
        if not records:
            return self.failed(
                action, 5029, "Getting DNS records failed",
                f"Can not get DNS records for zone. The zone does not {zone} contain any DNS "
                f"records.")
        return self.ok(action, "DNS records found", "DNS Records for this zone were found.",
                       {"dnsrecords": [self.shape(r) for r in records]})

    def update_records(self, action: str, param: dict) -> Response:
        zone, error = self.zone_or_error(action, param)
        if error is not None:
            return error
        wanted = ((param.get("dnsrecordset") or {}).get("dnsrecords")) or []
        # Validate everything first: netcup applies a record set whole or not at all.
        for r in wanted:
            hostname = str(r.get("hostname", "")).strip()
            kind = str(r.get("type", "")).upper()
            destination = r.get("destination")
            if not hostname or kind not in ("A", "AAAA", "CNAME", "MX", "TXT", "CAA", "SRV", "NS"):
                return self.failed(action, 4013, "Validation Error.",
                                   "The host must not be empty or consist of special characters.")
            if destination is None or str(destination) == "":
                return self.failed(action, 4013, "Validation Error.",
                                   "Value in field destination must not be empty.")
            if r.get("deleterecord") and (r.get("id") in (None, "")
                                          or self.store.get(str(r.get("id"))) is None):
                return self.failed(action, 5028, "Update of DNS records failed",
                                   f"Can not update (all) DNS records for zone. The record with "
                                   f"id {r.get('id')} could not be found.")
        with self.store.lock:
            for r in wanted:
                record_id = r.get("id")
                if r.get("deleterecord"):
                    self.store.delete(str(record_id))
                elif record_id not in (None, ""):
                    self.store.update(str(record_id), name=absolute_in(str(r["hostname"]), zone),
                                      content=str(r["destination"]))
                else:
                    self.store.add(zone, absolute_in(str(r["hostname"]), zone),
                                   str(r["type"]).upper(), str(r["destination"]), ZONE_TTL,
                                   priority=str(r.get("priority") or "0"))
            records = self.store.find(zone=zone)
        return self.ok(action, "DNS records successful updated",
                       "The given DNS records for this zone were updated.",
                       {"dnsrecords": [self.shape(r) for r in records]})

    @staticmethod
    def shape(record) -> dict:
        return {
            "id": record.id,
            "hostname": relative(record.name, record.zone),
            "type": record.type,
            "priority": str(record.extra.get("priority", "0")),
            "destination": record.content,
            "deleterecord": False,
            "state": "yes",
        }


VENDOR = Netcup
