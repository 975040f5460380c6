"""Duck DNS: the TXT form of its update URL, the one call DNS-01 needs.

Written from Duck DNS's published HTTP API specification, https://www.duckdns.org/spec.jsp:

* ``GET /update?domains=<subnames>&token=<token>&txt=<value>[&verbose=true][&clear=true]``:
  sets the TXT value of each domain (a comma-separated list of subnames, with or without the
  ``.duckdns.org`` part); ``clear=true`` empties it instead, whatever ``txt`` says.
* The answer is text: ``OK`` or ``KO``. With ``verbose=true``, ``OK`` is followed by the
  current TXT value and ``UPDATED`` or ``NOCHANGE``, one a line.

A domain holds one TXT value, served at the domain and at every name below it (the spec: "one
TXT record shared with the domain and all sub domains"): the stand-in writes it at
``<subname>.<base>`` and at ``*.<subname>.<base>``, so ``_acme-challenge.<subname>.<base>``
resolves to it as it does at Duck DNS. ``base`` is an option, default ``duckdns.org``; tests
run the stand-in with ``base=example.test``, a zone the test PowerDNS serves.

Authentication is the ``token`` parameter. A wrong token, or a domain the account does not
have, is answered ``KO`` (HTTP 200) and changes nothing. Options: ``token`` (required),
``base``, and ``domains`` (the account's subnames, comma-separated; without it every subname is
the account's, as the tests use fresh names). The IP form of the update URL is not served.

The spec documents no rate-limit or server-error answer: for injected faults the stand-in
answers 429 (with ``Retry-After``) or 5xx with a plain-text body, as an HTTP front end would.
"""

from __future__ import annotations

import re

from standins.core import Request, Response, Vendor, bare, text_response

LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
TTL = 60


class DuckDns(Vendor):
    name = "duckdns"

    def __init__(self, store, options):
        super().__init__(store, options)
        self.base = bare(options.get("base", "duckdns.org"))
        self.owned = {bare(d) for d in options.get("domains", "").split(",") if d.strip()}
        self.values: dict[str, str] = {}

    def error(self, status: int, retry_after: int | None) -> Response:
        if status in (401, 403):
            return text_response(200, "KO")
        if status == 429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            return text_response(429, "Too Many Requests", headers=headers)
        if status == 404:
            return text_response(404, "Not Found")
        return text_response(status, "Internal Server Error")

    def route(self, req: Request) -> Response | None:
        if req.path.rstrip("/") != "/update" or req.method != "GET" or req.arg("txt") is None:
            return None
        if req.arg("token") != self.options.get("token"):
            return self.error(401, None)
        subs = [self.subname(d) for d in (req.arg("domains") or "").split(",")]
        if not subs or any(s is None or (self.owned and s not in self.owned) for s in subs):
            return self.error(401, None)
        clear = (req.arg("clear") or "").lower() == "true"
        value = "" if clear else req.arg("txt") or ""
        changed = False
        for sub in subs:
            changed |= self.set_txt(sub, value)
        if (req.arg("verbose") or "").lower() != "true":
            return text_response(200, "OK")
        return text_response(200, f"OK\n{value}\n{'UPDATED' if changed else 'NOCHANGE'}")

    def subname(self, domain: str) -> str | None:
        """``foo`` for ``foo`` or ``foo.<base>``; ``None`` for anything else."""
        name = bare(domain)
        if name.endswith("." + self.base):
            name = name[: -(len(self.base) + 1)]
        return name if LABEL.fullmatch(name) else None

    def set_txt(self, sub: str, value: str) -> bool:
        """Sets the domain's one TXT value (``""`` empties it); whether that changed it."""
        with self.store.lock:
            if self.values.get(sub, "") == value:
                return False
            self.values[sub] = value
            contents = [value] if value else []
            for name in (f"{sub}.{self.base}", f"*.{sub}.{self.base}"):
                self.store.replace_set(self.base, name, "TXT", contents, TTL)
            return True


VENDOR = DuckDns
