"""Namecheap XML API, DNS host records: the calls DNS-01 needs.

Written from Namecheap's published API reference:
https://www.namecheap.com/support/api/intro/ (one endpoint, ``/xml.response``, XML answers),
https://www.namecheap.com/support/api/global-parameters/ (``ApiUser``, ``ApiKey``, ``UserName``,
``ClientIp``, ``Command``; the global error numbers),
https://www.namecheap.com/support/api/methods/domains-dns/get-hosts/ and
https://www.namecheap.com/support/api/methods/domains-dns/set-hosts/

* Every command goes to ``/xml.response``, its parameters in the query (GET) or as a form body
  (POST, which Namecheap recommends for setHosts of more than 10 hosts). Parameter names are
  taken case-insensitively, as in the reference's own examples (``apiuser``, ``ApiUser``).
* ``namecheap.domains.dns.getHosts`` ``SLD``, ``TLD``: ``<DomainDNSGetHostsResult Domain
  EmailType IsUsingOurDNS>`` with one ``<host HostId Name Type Address MXPref TTL .../>`` per
  record (``<host>`` in lower case, as the API writes it; the reference's example shows
  ``<Host>``).
* ``namecheap.domains.dns.setHosts`` ``SLD``, ``TLD``, ``HostNameN``, ``RecordTypeN``,
  ``AddressN``, ``MXPrefN``, ``TTLN`` (60 to 60000, default 1800), ``EmailType``: replaces ALL
  host records of the domain ("All host records that are not included into the API call will
  be deleted"); ``<DomainDNSSetHostsResult Domain IsSuccess="true">``. MX records need
  ``EmailType=MX`` in the same call, MXE records ``EmailType=MXE``.

Errors are ``<ApiResponse Status="ERROR"><Errors><Error Number="...">message</Error></Errors>``
with HTTP 200: bad credentials 1011102, a ClientIp not on the allow list 1011150, a domain not
in the account 2019166, a domain not on Namecheap's DNS 2030288 (the ``custom_dns`` option
names such domains). Namecheap documents no HTTP status for throttling; an injected 429 is
answered with HTTP 429, ``Retry-After`` and error 500000 "Too many requests" (the body the API
is seen to send). An injected 500 is HTTP 500 with error 5050900 "Unhandled Exceptions", the
reference's number for unexpected failures, which the stand-in also uses for input the
reference gives no number for (a bad TTL, an unknown record type).

Besides TXT records the stand-in holds A, MX, CNAME and URL301 records, seeded in
``example.test``, so a test can see that a setHosts round keeps every record it did not mean to
change. Only TXT records reach PowerDNS.

Options: ``api_user``, ``api_key``, ``client_ip`` (the allow-listed address), ``user_name``
(default ``api_user``), ``custom_dns`` (comma-separated domains that use other name servers).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from standins.core import Request, Response, Vendor, absolute_in, bare, relative

PATH = "/xml.response"
RECORD_TYPES = {"A", "AAAA", "ALIAS", "CAA", "CNAME", "MX", "MXE", "NS", "TXT", "URL", "URL301",
                "FRAME"}
EMAIL_TYPES = {"NONE", "MXE", "MX", "FWD", "OX", "GMAIL"}
UNHANDLED = "5050900"

#: The unrelated records ``example.test`` starts with: (host name, type, address, MX
#: preference, TTL), each TTL distinct.
SEED = [
    ("@", "A", "192.0.2.10", 10, 1799),
    ("@", "MX", "mail.example.test.", 20, 3600),
    ("www", "CNAME", "example.test.", 10, 1800),
    ("@", "TXT", "v=spf1 mx -all", 10, 300),
    ("old", "URL301", "https://www.example.test/", 10, 1200),
]


class Namecheap(Vendor):
    name = "namecheap"

    def __init__(self, store, options) -> None:
        super().__init__(store, options)
        self.custom_dns = {bare(d) for d in options.get("custom_dns", "").split(",") if d.strip()}
        zone = store.zone("example.test")
        if zone is not None:
            zone["email_type"] = "MX"
            for host, kind, address, pref, ttl in SEED:
                store.add(zone["name"], absolute_in(host, zone["name"]), kind, address, ttl,
                          mxpref=pref)

    def error(self, status: int, retry_after: int | None) -> Response:
        if status == 401:
            return self.api_error("1011102", "API Key is invalid or API access has not been enabled")
        if status == 429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return self.api_error("500000", "Too many requests", http_status=429, headers=headers)
        if status == 404:
            return Response(404, b"<html><body>404 - File or directory not found.</body></html>",
                            "text/html")
        return self.api_error(UNHANDLED, "Unhandled Exceptions", http_status=500)

    def route(self, req: Request) -> Response | None:
        if req.path.rstrip("/") != PATH or req.method not in ("GET", "POST"):
            return None
        params = {k.lower(): v[0] for k, v in req.query.items() if v}
        if req.method == "POST" and req.body:
            params.update({k.lower(): v for k, v in req.form().items()})
        for key, number in (("apiuser", "1010101"), ("apikey", "1010102"),
                            ("command", "1010104"), ("clientip", "1010105")):
            if not params.get(key):
                return self.api_error(number, f"Parameter {key} is missing")
        if (params["apiuser"] != self.options.get("api_user")
                or params["apikey"] != self.options.get("api_key")):
            return self.api_error("1011102", "API Key is invalid or API access has not been enabled")
        if params["clientip"] != self.options.get("client_ip"):
            return self.api_error("1011150", f"Invalid request IP: {params['clientip']}")
        if params.get("username") != self.options.get("user_name", self.options.get("api_user")):
            return self.api_error("1016103", "Parameter UserName is unauthorized")
        command = params["command"].lower()
        if command not in ("namecheap.domains.dns.gethosts", "namecheap.domains.dns.sethosts"):
            return self.api_error(UNHANDLED, f"Unhandled Exceptions: no command {params['command']}")
        sld, tld = params.get("sld", ""), params.get("tld", "")
        if not sld or not tld:
            return self.api_error(UNHANDLED, "Parameters SLD and TLD are required")
        domain = bare(f"{sld}.{tld}")
        zone = self.store.zone(domain)
        if zone is None:
            return self.api_error("2019166", "Domain not found")
        if domain in self.custom_dns:
            return self.api_error("2030288", "Cannot complete this command as this domain is not "
                                             "using proper DNS servers")
        if command == "namecheap.domains.dns.gethosts":
            return self.get_hosts(zone)
        return self.set_hosts(zone, params)

    def get_hosts(self, zone: dict) -> Response:
        hosts = "".join(
            f"<host HostId=\"{r.id}\" Name={quoteattr(relative(r.name, r.zone))} "
            f"Type={quoteattr(r.type)} Address={quoteattr(r.content)} "
            f"MXPref=\"{r.extra.get('mxpref', 10)}\" TTL=\"{r.ttl}\" AssociatedAppTitle=\"\" "
            f"FriendlyName=\"\" IsActive=\"true\" IsDDNSEnabled=\"false\" />\n"
            for r in self.store.find(zone=zone["name"])
        )
        email = zone.get("email_type", "NONE")
        return self.ok("namecheap.domains.dns.getHosts",
                       f"<DomainDNSGetHostsResult Domain={quoteattr(zone['name'])} "
                       f"EmailType={quoteattr(email)} IsUsingOurDNS=\"true\">\n{hosts}"
                       f"</DomainDNSGetHostsResult>")

    def set_hosts(self, zone: dict, params: dict[str, str]) -> Response:
        email_type = params.get("emailtype", "").upper() or None
        if email_type is not None and email_type not in EMAIL_TYPES:
            return self.api_error(UNHANDLED, f"Invalid EmailType {email_type}")
        records = []
        n = 1
        while f"hostname{n}" in params or f"recordtype{n}" in params:
            host = params.get(f"hostname{n}", "")
            kind = params.get(f"recordtype{n}", "").upper()
            address = params.get(f"address{n}")
            if kind not in RECORD_TYPES:
                return self.api_error(UNHANDLED, f"Invalid RecordType{n} {kind!r}")
            if not host or address is None:
                return self.api_error(UNHANDLED, f"HostName{n} and Address{n} are required")
            try:
                ttl = int(params.get(f"ttl{n}") or 1800)
                pref = int(params.get(f"mxpref{n}") or 10)
            except ValueError:
                return self.api_error(UNHANDLED, f"TTL{n} and MXPref{n} must be numbers")
            if not 60 <= ttl <= 60000:
                return self.api_error(UNHANDLED, f"TTL{n} must be between 60 and 60000")
            if kind in ("MX", "MXE") and email_type != kind:
                return self.api_error(UNHANDLED, f"RecordType{n} {kind} needs EmailType={kind}")
            records.append((absolute_in(host, zone["name"]), kind, address, ttl, {"mxpref": pref}))
            n += 1
        self.store.replace_zone(zone["name"], records)
        if email_type is not None:
            zone["email_type"] = email_type
        return self.ok("namecheap.domains.dns.setHosts",
                       f"<DomainDNSSetHostsResult Domain={quoteattr(zone['name'])} "
                       f"IsSuccess=\"true\" />")

    @staticmethod
    def ok(command: str, result: str) -> Response:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<ApiResponse Status="OK" xmlns="http://api.namecheap.com/xml.response">\n'
            "  <Errors />\n  <Warnings />\n"
            f"  <RequestedCommand>{escape(command.lower())}</RequestedCommand>\n"
            f"  <CommandResponse Type={quoteattr(command)}>\n{result}\n  </CommandResponse>\n"
            "  <Server>STANDIN</Server>\n  <GMTTimeDifference>--5:00</GMTTimeDifference>\n"
            "  <ExecutionTime>0.01</ExecutionTime>\n</ApiResponse>\n"
        )
        return Response(200, body.encode(), "text/xml; charset=utf-8")

    @staticmethod
    def api_error(number: str, message: str, http_status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<ApiResponse Status="ERROR" xmlns="http://api.namecheap.com/xml.response">\n'
            f"  <Errors>\n    <Error Number=\"{number}\">{escape(message)}</Error>\n  </Errors>\n"
            "  <Warnings />\n  <RequestedCommand />\n  <Server>STANDIN</Server>\n"
            "  <GMTTimeDifference>--5:00</GMTTimeDifference>\n"
            "  <ExecutionTime>0.01</ExecutionTime>\n</ApiResponse>\n"
        )
        return Response(http_status, body.encode(), "text/xml; charset=utf-8", headers or {})


VENDOR = Namecheap
