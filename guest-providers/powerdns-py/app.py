"""An acmebox DNS-01 provider for the PowerDNS Authoritative HTTP API (v1), in Python.

The same behaviour as the Rust provider in `guest-providers/powerdns`. A TXT rrset in PowerDNS
can only be replaced or deleted as a whole, so both calls read the rrset at `record.fqdn`,
change only `record.value` in it, and write it back:

* present: `GET /zones/<zone>?rrset_name=<fqdn>&rrset_type=TXT`, add the value if it is
  missing, `PATCH` with `changetype: REPLACE`. The other values stay, so the apex and the
  wildcard of a domain can be validated at the same time.
* cleanup: the same read, then `REPLACE` with the other values, or `DELETE` when none are
  left. A value that is not there is already cleaned up.

When PowerDNS answers 5xx (with sqlite it answers 500 "database is locked" while another
write is in progress), the read and the write are tried again, up to 4 more times, after short
randomised waits.

The zone is the one the host passes, else the longest zone at the server that holds the name
(`GET /zones`).
"""

import json
import os
from typing import List, Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import config, log, monotonic_clock
from wit_world.imports.acmebox_provider_types import (
    ApiError,
    ConfigKey,
    LogLevel,
    ProviderError_ApiError,
    ProviderError_InvalidConfig,
    ProviderError_Other,
    ProviderError_RateLimited,
    ProviderError_TransportError,
    ProviderError_Unauthorized,
    ProviderError_ZoneNotFound,
    ProviderInfo,
    TxtRecord,
)

import wasi_http
from names import absolute, encode, longest_zone, origin, quote, same_name, unquote

VERSION = "0.1.0"

# The PowerDNS API server id used when the operator sets none.
DEFAULT_SERVER_ID = "localhost"

# PowerDNS applies an API change at once (caches are its own business), so a minute is ample.
PROPAGATION_TIMEOUT_SECS = 60

# How often the host checks propagation.
POLLING_INTERVAL_SECS = 2

# A read-and-write round that PowerDNS answers 5xx is tried this many times in all (the first
# round and up to 4 more), waiting about RETRY_BACKOFF_MS, then twice that, and so on, in
# between; each wait is randomised by +-50% so that calls which collided spread out.
ATTEMPTS = 5
RETRY_BACKOFF_MS = 100

# How much of an error body reaches the operator.
ERROR_BODY_CHARS = 300


class Metadata(exports.Metadata):
    def describe(self) -> ProviderInfo:
        # No request here; the origin is known only when the operator set api_url.
        api_url = config.get("api_url")
        found = origin(api_url) if api_url is not None else None
        return ProviderInfo(
            name="powerdns",
            version=VERSION,
            description="TXT records through the PowerDNS Authoritative HTTP API (Python)",
            config_keys=[
                ConfigKey(
                    "api_url",
                    "the PowerDNS webserver's base URL, such as http://127.0.0.1:8081",
                    True,
                    False,
                ),
                ConfigKey("api_key", "the PowerDNS API key (sent as X-API-Key)", True, True),
                ConfigKey(
                    "server_id",
                    "the PowerDNS server id in API paths (default `localhost`)",
                    False,
                    False,
                ),
            ],
            hosts=[found] if found is not None else [],
            propagation_timeout_secs=PROPAGATION_TIMEOUT_SECS,
            polling_interval_secs=POLLING_INTERVAL_SECS,
            sequential=False,
        )


class DnsProvider(exports.DnsProvider):
    def present(self, record: TxtRecord) -> None:
        api = Api.from_config()
        zone = api.zone_for(record)
        with_retries(lambda: present_once(api, zone, record))

    def cleanup(self, record: TxtRecord) -> None:
        api = Api.from_config()
        zone = api.zone_for(record)
        with_retries(lambda: cleanup_once(api, zone, record))


def present_once(api: "Api", zone: str, record: TxtRecord) -> None:
    """One read-and-write round of present."""
    contents = api.txt_contents(zone, record.fqdn)
    if any(unquote(c["content"]) == record.value for c in contents):
        info(f"TXT value already present at {record.fqdn}")
        return
    contents.append({"content": quote(record.value), "disabled": False})
    info(f"adding a TXT value at {record.fqdn} in zone {zone} ({len(contents)} value(s) after)")
    api.replace(zone, record, contents)


def cleanup_once(api: "Api", zone: str, record: TxtRecord) -> None:
    """One read-and-write round of cleanup."""
    contents = api.txt_contents(zone, record.fqdn)
    rest = [c for c in contents if unquote(c["content"]) != record.value]
    if len(rest) == len(contents):
        info(f"TXT value already absent at {record.fqdn}")
        return
    if not rest:
        info(f"deleting the TXT rrset at {record.fqdn} in zone {zone}")
        api.patch(zone, {"name": absolute(record.fqdn), "type": "TXT", "changetype": "DELETE"})
        return
    info(f"removing a TXT value at {record.fqdn} in zone {zone} ({len(rest)} value(s) left)")
    api.replace(zone, record, rest)


def with_retries(round_trip) -> None:
    """Runs `round_trip`, again after a wait while PowerDNS answers 5xx."""
    wait_ms = RETRY_BACKOFF_MS
    for attempt in range(1, ATTEMPTS + 1):
        try:
            round_trip()
            return
        except Err as e:
            error = e.value
            if (
                attempt == ATTEMPTS
                or not isinstance(error, ProviderError_ApiError)
                or error.value.status < 500
            ):
                raise
            pause_ms = jittered(wait_ms)
            log.log(
                LogLevel.WARN,
                f"PowerDNS answered {error.value.status} ({error.value.message}); "
                f"trying again in {pause_ms} ms (round {attempt + 1} of {ATTEMPTS})",
            )
            sleep_ms(pause_ms)
            wait_ms *= 2


class Api:
    """The API of one PowerDNS server: `<api_url>/api/v1/servers/<server_id>` and the key."""

    def __init__(self, base: str, key: str):
        self.base = base
        self.key = key

    @staticmethod
    def from_config() -> "Api":
        url = require("api_url").strip().rstrip("/")
        if "/api/v1" in url:
            raise Err(
                ProviderError_InvalidConfig(
                    f"config key `api_url` ({url}) must be the webserver's base URL, such as "
                    "http://127.0.0.1:8081; the provider adds /api/v1/servers/<server_id>"
                )
            )
        if origin(url) is None:
            raise Err(
                ProviderError_InvalidConfig(
                    f"config key `api_url` ({url}) is not an http:// or https:// URL"
                )
            )
        server_id = (config.get("server_id") or DEFAULT_SERVER_ID).strip()
        return Api(f"{url}/api/v1/servers/{encode(server_id)}", require("api_key"))

    def zone_for(self, record: TxtRecord) -> str:
        """`record.zone`, or the longest zone at the server holding `record.fqdn`."""
        if record.zone is not None:
            return absolute(record.zone)
        zones = self.json(self.send("GET", f"{self.base}/zones"))
        names = [z.get("name", "") for z in zones if isinstance(z, dict)]
        zone = longest_zone(record.fqdn, names)
        if zone is None:
            raise Err(
                ProviderError_ZoneNotFound(f"no zone at the PowerDNS server holds {record.fqdn}")
            )
        return zone

    def txt_contents(self, zone: str, fqdn: str) -> List[dict]:
        """The TXT records at `fqdn` in `zone`, as PowerDNS stores them (quoted)."""
        url = f"{self.zone_url(zone)}?rrset_name={encode(absolute(fqdn))}&rrset_type=TXT"
        detail = self.json(self.send("GET", url))
        contents = []
        # Older servers ignore the filter and return the whole zone: filter here too.
        for rrset in detail.get("rrsets") or []:
            if str(rrset.get("type", "")).upper() != "TXT":
                continue
            if not same_name(str(rrset.get("name", "")), fqdn):
                continue
            for r in rrset.get("records") or []:
                contents.append(
                    {"content": str(r.get("content", "")), "disabled": bool(r.get("disabled"))}
                )
        return contents

    def replace(self, zone: str, record: TxtRecord, records: List[dict]) -> None:
        self.patch(
            zone,
            {
                "name": absolute(record.fqdn),
                "type": "TXT",
                "ttl": record.ttl,
                "changetype": "REPLACE",
                "records": records,
            },
        )

    def patch(self, zone: str, rrset: dict) -> None:
        body = json.dumps({"rrsets": [rrset]}).encode("utf-8")
        self.send("PATCH", self.zone_url(zone), body)

    def zone_url(self, zone: str) -> str:
        return f"{self.base}/zones/{encode(absolute(zone))}"

    def send(self, method: str, url: str, body: Optional[bytes] = None) -> wasi_http.Response:
        """Sends with the key and maps PowerDNS's error statuses to provider errors."""
        headers = [("x-api-key", self.key), ("accept", "application/json")]
        if body is not None:
            headers.append(("content-type", "application/json"))
        try:
            response = wasi_http.send(method, url, headers, body)
        except wasi_http.TransportError as e:
            raise Err(ProviderError_TransportError(str(e))) from None
        status = response.status
        if 200 <= status < 300:
            return response
        message = error_message(response)
        if status in (401, 403):
            raise Err(
                ProviderError_Unauthorized(
                    f"PowerDNS answered {status}: {message}; check `api_key`"
                )
            )
        if status == 404:
            raise Err(ProviderError_ZoneNotFound(f"PowerDNS answered 404: {message}"))
        if status == 429:
            raise Err(ProviderError_RateLimited(retry_after(response)))
        raise Err(ProviderError_ApiError(ApiError(status, message)))

    @staticmethod
    def json(response: wasi_http.Response):
        try:
            return json.loads(response.body)
        except ValueError as e:
            raise Err(
                ProviderError_Other(
                    f"the API answered {response.status} with a body that is not the JSON "
                    f"expected: {e}"
                )
            ) from None


def require(key: str) -> str:
    """The value of config key `key`, or InvalidConfig naming it."""
    value = config.get(key)
    if value is None:
        raise Err(ProviderError_InvalidConfig(f"missing config key `{key}`"))
    if not value.strip():
        raise Err(ProviderError_InvalidConfig(f"config key `{key}` is empty"))
    return value


def error_message(response: wasi_http.Response) -> str:
    """PowerDNS's `{"error": "..."}` message, else the start of the body, else the status."""
    try:
        failure = json.loads(response.body)
        if isinstance(failure, dict) and isinstance(failure.get("error"), str):
            return failure["error"]
    except ValueError:
        pass
    text = response.text().strip()
    if not text:
        return f"HTTP {response.status} with an empty body"
    return text[:ERROR_BODY_CHARS]


def retry_after(response: wasi_http.Response) -> Optional[int]:
    """`retry-after` in seconds, when it is a number of seconds."""
    value = (response.header("retry-after") or "").strip()
    if value.isdigit() and int(value) <= 0xFFFFFFFF:
        return int(value)
    return None


def jittered(ms: int) -> int:
    """`ms` times a random factor between 0.5 and 1.5.

    The randomness is read at call time (`os.urandom`, which is `wasi:random`): a generator
    seeded at import time would be seeded once, when the component was built, and every call
    would pause alike.
    """
    fraction = int.from_bytes(os.urandom(2), "big") / 0xFFFF
    return max(1, round(ms * (0.5 + fraction)))


def sleep_ms(ms: int) -> None:
    with monotonic_clock.subscribe_duration(ms * 1_000_000) as pollable:
        pollable.block()


def info(message: str) -> None:
    log.log(LogLevel.INFO, message)
