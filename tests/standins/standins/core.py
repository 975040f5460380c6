"""What every stand-in shares: the HTTP server, the record store, PowerDNS write-through, the
test-control endpoints and fault injection.

A vendor module defines a subclass of :class:`Vendor`:

* ``name``: the vendor's short name (``digitalocean``), the ``serve`` argument;
* ``route(req)``: answers one API request with a :class:`Response`, or ``None`` for 404;
* ``error(status, retry_after)``: the vendor's documented error response for an injected
  fault (401 bad credentials, 429 rate limit with ``Retry-After``, 500);

and works on ``self.store``, the zones and records it holds. Only TXT records are written
through to PowerDNS; other types (a Namecheap stand-in holds A and MX records too) stay in the
stand-in.

Test-control endpoints, under ``/__standin__/`` on every stand-in (never part of a vendor API):

* ``POST /__standin__/fault`` ``{"status": 429, "retry_after": 7, "count": 1}``: the next
  ``count`` API requests get the vendor's error for ``status``;
* ``GET /__standin__/txt?name=<fqdn>``: the TXT values the stand-in holds at a name;
* ``GET /__standin__/records``: every record it holds;
* ``GET /__standin__/requests``: every API request received, as ``{"method", "path"}``;
* ``GET /__standin__/stats``: ``{"peak_in_flight": N}``, the most API requests it was answering
  at once.

The option ``delay_ms=N`` (every vendor) makes each API answer take N ms longer, so calls that
run at the same time overlap at the stand-in.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


def bare(name: str) -> str:
    """``name`` without its trailing dot, lower-case."""
    return name.strip().rstrip(".").lower()


def within(name: str, zone: str) -> bool:
    name, zone = bare(name), bare(zone)
    return name == zone or name.endswith("." + zone)


def relative(name: str, zone: str) -> str:
    """``name`` relative to ``zone``; ``@`` for the apex."""
    name, zone = bare(name), bare(zone)
    return "@" if name == zone else name[: -(len(zone) + 1)]


def absolute_in(name: str, zone: str) -> str:
    """A name relative to ``zone`` (``@`` or empty for the apex), or already absolute, made bare
    and absolute in ``zone``."""
    name = name.strip()
    if name in ("", "@"):
        return bare(zone)
    if name.endswith(".") or within(name, zone):
        return bare(name)
    return bare(f"{name}.{zone}")


@dataclass
class Record:
    id: str
    zone: str
    name: str  # bare, absolute
    type: str
    content: str  # unquoted for TXT
    ttl: int
    extra: dict = field(default_factory=dict)  # vendor fields: MX priority, ...

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "zone": self.zone,
            "name": self.name,
            "type": self.type,
            "content": self.content,
            "ttl": self.ttl,
            **self.extra,
        }


class PowerDns:
    """Write-through of TXT rrsets to the test PowerDNS (``ACMEBOX_PDNS_API_URL``,
    ``ACMEBOX_PDNS_API_KEY``), whose zones are ``ACMEBOX_PDNS_ZONES``. Disabled when those are
    not set (a client-library test that needs no DNS)."""

    def __init__(self) -> None:
        self.api = os.environ.get("ACMEBOX_PDNS_API_URL")
        self.key = os.environ.get("ACMEBOX_PDNS_API_KEY", "")
        self.zones = [bare(z) for z in os.environ.get("ACMEBOX_PDNS_ZONES", "").split()]
        self.written: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    def zone_of(self, name: str) -> str | None:
        best = None
        for zone in self.zones:
            if within(name, zone) and (best is None or len(zone) > len(best)):
                best = zone
        return best

    def replace_txt(self, name: str, values: list[str], ttl: int) -> None:
        zone = self.zone_of(name)
        if not self.api or zone is None:
            return
        fqdn = bare(name) + "."
        if values:
            rrset = {
                "name": fqdn,
                "type": "TXT",
                "ttl": max(ttl, 1),
                "changetype": "REPLACE",
                "records": [{"content": quote_txt(v), "disabled": False} for v in values],
            }
        else:
            rrset = {"name": fqdn, "type": "TXT", "changetype": "DELETE"}
        self.patch(zone, rrset)
        with self.lock:
            self.written.add((zone, fqdn))

    def patch(self, zone: str, rrset: dict) -> None:
        # PowerDNS's sqlite backend refuses one of two simultaneous writes with a 500.
        body = json.dumps({"rrsets": [rrset]}).encode()
        url = f"{self.api}/zones/{zone}."
        last = ""
        for attempt in range(12):
            if attempt:
                time.sleep(random.uniform(0.02, 0.2) * attempt)
            request = urllib.request.Request(
                url,
                data=body,
                method="PATCH",
                headers={"X-API-Key": self.key, "Content-Type": "application/json"},
            )
            try:
                with urllib.request.urlopen(request, timeout=10):
                    return
            except urllib.error.HTTPError as e:
                last = f"{e.code} {e.read()[:200]!r}"
                if e.code < 500:
                    break
            except OSError as e:
                last = str(e)
        raise RuntimeError(f"PowerDNS refused PATCH {url}: {last}")

    def remove_all(self) -> None:
        with self.lock:
            written, self.written = self.written, set()
        for zone, fqdn in written:
            try:
                self.patch(zone, {"name": fqdn, "type": "TXT", "changetype": "DELETE"})
            except RuntimeError as e:
                print(f"standin: cleaning up {fqdn}: {e}", flush=True)


def quote_txt(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Store:
    """Zones and records, thread-safe, with TXT changes written through to PowerDNS."""

    def __init__(self, zones: list[str], pdns: PowerDns) -> None:
        self.lock = threading.RLock()
        self.zones: dict[str, dict] = {}
        for i, z in enumerate(zones):
            self.zones[bare(z)] = {"name": bare(z), "id": f"{1000 + i}"}
        self.records: list[Record] = []
        self.next_id = 1
        self.pdns = pdns

    def zone(self, name: str) -> dict | None:
        return self.zones.get(bare(name))

    def zone_by_id(self, zone_id: str) -> dict | None:
        return next((z for z in self.zones.values() if z["id"] == str(zone_id)), None)

    def zone_holding(self, name: str) -> dict | None:
        best = None
        for z in self.zones.values():
            if within(name, z["name"]) and (best is None or len(z["name"]) > len(best["name"])):
                best = z
        return best

    def find(self, zone: str | None = None, name: str | None = None, type: str | None = None,
             content: str | None = None) -> list[Record]:
        with self.lock:
            return [
                r for r in self.records
                if (zone is None or r.zone == bare(zone))
                and (name is None or r.name == bare(name))
                and (type is None or r.type.upper() == type.upper())
                and (content is None or r.content == content)
            ]

    def get(self, record_id: str) -> Record | None:
        with self.lock:
            return next((r for r in self.records if r.id == str(record_id)), None)

    def add(self, zone: str, name: str, type: str, content: str, ttl: int, **extra: Any) -> Record:
        with self.lock:
            record = Record(str(self.next_id), bare(zone), bare(name), type.upper(), content,
                            int(ttl), dict(extra))
            self.next_id += 1
            self.records.append(record)
            self._sync(record.name, record.type)
            return record

    def delete(self, record_id: str) -> Record | None:
        with self.lock:
            record = self.get(record_id)
            if record is not None:
                self.records.remove(record)
                self._sync(record.name, record.type)
            return record

    def update(self, record_id: str, **changes: Any) -> Record | None:
        with self.lock:
            record = self.get(record_id)
            if record is None:
                return None
            old_name = record.name
            for key, value in changes.items():
                if hasattr(record, key) and key != "extra":
                    setattr(record, key, bare(value) if key == "name" else value)
                else:
                    record.extra[key] = value
            self._sync(old_name, record.type)
            self._sync(record.name, record.type)
            return record

    def replace_set(self, zone: str, name: str, type: str, contents: list[str], ttl: int,
                    **extra: Any) -> list[Record]:
        """Makes the ``type`` set at ``name`` hold exactly ``contents`` (keeping the ids of the
        records that stay)."""
        with self.lock:
            keep = []
            for r in self.find(zone=zone, name=name, type=type):
                if r.content in contents and r.content not in [k.content for k in keep]:
                    r.ttl = int(ttl)
                    keep.append(r)
                else:
                    self.records.remove(r)
            for c in contents:
                if c not in [k.content for k in keep]:
                    record = Record(str(self.next_id), bare(zone), bare(name), type.upper(), c,
                                    int(ttl), dict(extra))
                    self.next_id += 1
                    self.records.append(record)
                    keep.append(record)
            self._sync(name, type)
            return keep

    def replace_zone(self, zone: str, records: list[tuple[str, str, str, int, dict]]) -> None:
        """Replaces every record of ``zone`` with ``records`` (name, type, content, ttl, extra):
        what an API that sets all host records at once (Namecheap's setHosts) does."""
        with self.lock:
            touched = {(r.name, r.type) for r in self.records if r.zone == bare(zone)}
            self.records = [r for r in self.records if r.zone != bare(zone)]
            for name, type, content, ttl, extra in records:
                self.records.append(Record(str(self.next_id), bare(zone), bare(name), type.upper(),
                                           content, int(ttl), dict(extra)))
                self.next_id += 1
                touched.add((bare(name), type.upper()))
            for name, type in touched:
                self._sync(name, type)

    def _sync(self, name: str, type: str) -> None:
        if type.upper() != "TXT":
            return
        records = self.find(name=name, type="TXT")
        ttl = min((r.ttl for r in records), default=60)
        self.pdns.replace_txt(name, [r.content for r in records], ttl)


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    raw_path: str  # path and query as sent

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        if not self.body:
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, value: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(value).encode(), "application/json", headers or {})


def text_response(status: int, text: str, content_type: str = "text/plain",
                  headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode(), content_type, headers or {})


class Vendor:
    """One vendor's API. Subclasses set ``name`` and implement ``route`` and ``error``."""

    name = ""
    #: The zones the stand-in holds, bare names.
    default_zones = ["example.test", "delegated.test"]

    def __init__(self, store: Store, options: dict[str, str]) -> None:
        self.store = store
        self.options = options

    def route(self, req: Request) -> Response | None:
        raise NotImplementedError

    def error(self, status: int, retry_after: int | None) -> Response:
        raise NotImplementedError


class Server:
    """A running stand-in: the vendor's API on 127.0.0.1, in threads."""

    def __init__(self, vendor_cls: type[Vendor], options: dict[str, str], port: int = 0,
                 zones: list[str] | None = None) -> None:
        self.pdns = PowerDns()
        self.store = Store(zones or vendor_cls.default_zones, self.pdns)
        self.vendor = vendor_cls(self.store, options)
        self.faults: list[tuple[int, int | None]] = []
        self.requests: list[dict] = []
        self.in_flight = 0
        self.peak_in_flight = 0
        self.delay = int(options.get("delay_ms", "0")) / 1000
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY the body waits for the
            # client's delayed ACK of the headers, 40 ms a request.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def handle_one(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                req = Request(
                    method=self.command,
                    path=urllib.parse.unquote(parsed.path),
                    query=urllib.parse.parse_qs(parsed.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    raw_path=self.path,
                )
                try:
                    response = server.dispatch(req)
                except Exception as e:  # a stand-in bug: say so, loudly
                    response = text_response(500, f"stand-in error: {type(e).__name__}: {e}")
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for k, v in response.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(response.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_one

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.pdns.remove_all()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def dispatch(self, req: Request) -> Response:
        if req.path.startswith("/__standin__/"):
            return self.control(req)
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            return self.answer(req)
        finally:
            with self.lock:
                self.in_flight -= 1

    def answer(self, req: Request) -> Response:
        with self.lock:
            self.requests.append({"method": req.method, "path": req.path})
            fault = None
            if self.faults:
                status, retry_after = self.faults[0]
                self.faults.pop(0)
                fault = (status, retry_after)
        if fault is not None:
            return self.vendor.error(*fault)
        response = self.vendor.route(req)
        return response if response is not None else self.vendor.error(404, None)

    def control(self, req: Request) -> Response:
        what = req.path[len("/__standin__/"):]
        if what == "fault" and req.method == "POST":
            spec = req.json() or {}
            with self.lock:
                for _ in range(int(spec.get("count", 1))):
                    self.faults.append((int(spec["status"]), spec.get("retry_after")))
            return json_response(200, {"queued": len(self.faults)})
        if what == "txt":
            name = req.arg("name") or ""
            return json_response(200, sorted(r.content for r in self.store.find(name=name, type="TXT")))
        if what == "records":
            return json_response(200, [r.to_dict() for r in self.store.find()])
        if what == "stats":
            with self.lock:
                return json_response(200, {"peak_in_flight": self.peak_in_flight})
        if what == "requests":
            with self.lock:
                return json_response(200, list(self.requests))
        return text_response(404, "unknown control endpoint")


def load_vendor(name: str) -> type[Vendor]:
    import importlib

    module = importlib.import_module(f"standins.{name.replace('-', '_')}")
    return module.VENDOR
