"""A small blocking HTTP client on `wasi:http/outgoing-handler`, the only way out of the
sandbox: send one request with its whole body, read the whole response.

A request the host refuses (not in the allow list, over a limit) or that fails on the way
raises `TransportError` with the host's reason; any response, whatever its status, is returned.
"""

from dataclasses import dataclass
from typing import List, Optional, Tuple
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world.imports import outgoing_handler
from wit_world.imports.streams import StreamError_Closed
from wit_world.imports.wasi_http_types import (
    ErrorCode,
    ErrorCode_ConnectionRefused,
    ErrorCode_ConnectionTerminated,
    ErrorCode_ConnectionTimeout,
    ErrorCode_DestinationIpProhibited,
    ErrorCode_DnsError,
    ErrorCode_DnsTimeout,
    ErrorCode_HttpRequestDenied,
    ErrorCode_HttpResponseTimeout,
    ErrorCode_InternalError,
    ErrorCode_TlsCertificateError,
    Fields,
    IncomingBody,
    IncomingResponse,
    Method,
    Method_Delete,
    Method_Get,
    Method_Patch,
    Method_Post,
    Method_Put,
    OutgoingBody,
    OutgoingRequest,
    Scheme_Http,
    Scheme_Https,
    http_error_code,
)

# The most bytes asked of a stream at a time.
CHUNK = 64 * 1024

METHODS = {
    "GET": Method_Get,
    "POST": Method_Post,
    "PUT": Method_Put,
    "PATCH": Method_Patch,
    "DELETE": Method_Delete,
}


class TransportError(Exception):
    """The request did not complete; the message says why (the host's words when it refused)."""


@dataclass
class Response:
    """A complete response: status, headers (lower-case names) and the whole body."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        """The first value of header `name`, if any."""
        name = name.lower()
        return next((v for n, v in self.headers if n == name), None)

    def text(self) -> str:
        """The body as text, invalid UTF-8 replaced."""
        return self.body.decode("utf-8", errors="replace")


def send(
    method: str, url: str, headers: List[Tuple[str, str]], body: Optional[bytes] = None
) -> Response:
    """Sends one request and reads the whole response."""
    where = f"{method} {url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise TransportError(f"{where}: not an http:// or https:// URL")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    entries = [(name.lower(), value.encode("utf-8")) for name, value in headers]
    if body is not None:
        entries.append(("content-length", str(len(body)).encode("ascii")))
    try:
        fields = Fields.from_list(entries)
    except Err as e:
        raise TransportError(f"{where}: invalid request header: {e.value}") from None
    request = OutgoingRequest(fields)
    request.set_method(_method(method))
    request.set_scheme(Scheme_Https() if parts.scheme == "https" else Scheme_Http())
    request.set_authority(parts.netloc)
    request.set_path_with_query(path)
    outgoing_body = request.body()

    try:
        future = outgoing_handler.handle(request, None)
    except Err as e:
        raise TransportError(f"{where}: {describe(e.value)}") from None

    with future:
        write_error = _write_body(outgoing_body, body or b"")
        response = _await(future)
        if isinstance(response, Err):
            raise TransportError(f"{where}: {describe(response.value)}")
        if write_error is not None:
            raise TransportError(f"{where}: {write_error}")
        with response.value as incoming:
            return _read(incoming, where)


def describe(code: ErrorCode) -> str:
    """The host's reason for a failed request, in words."""
    if isinstance(code, ErrorCode_InternalError):
        return code.value or "internal error in the host"
    if isinstance(code, ErrorCode_HttpRequestDenied):
        return "the host denied the request (HTTP-request-denied)"
    if isinstance(code, ErrorCode_DestinationIpProhibited):
        return "the host refused the destination address"
    if isinstance(code, ErrorCode_DnsTimeout):
        return "DNS lookup timed out"
    if isinstance(code, ErrorCode_DnsError):
        return f"DNS lookup failed ({code.value.rcode or 'no answer'})"
    if isinstance(code, ErrorCode_ConnectionRefused):
        return "connection refused"
    if isinstance(code, ErrorCode_ConnectionTimeout):
        return "connection timed out"
    if isinstance(code, ErrorCode_ConnectionTerminated):
        return "connection closed by the server"
    if isinstance(code, ErrorCode_HttpResponseTimeout):
        return "the response timed out"
    if isinstance(code, ErrorCode_TlsCertificateError):
        return "the server's TLS certificate was not accepted"
    return type(code).__name__.removeprefix("ErrorCode_")


def _method(name: str) -> Method:
    method = METHODS.get(name.upper())
    if method is None:
        raise TransportError(f"unsupported method {name}")
    return method()


def _write_body(body: OutgoingBody, data: bytes) -> Optional[str]:
    """Writes `data` and finishes the body; returns why it failed, if it did."""
    try:
        with body.write() as stream:
            offset = 0
            while offset < len(data):
                room = stream.check_write()
                if room == 0:
                    with stream.subscribe() as pollable:
                        pollable.block()
                    continue
                end = min(len(data), offset + room, offset + CHUNK)
                stream.write(data[offset:end])
                offset = end
            stream.blocking_flush()
        OutgoingBody.finish(body, None)
    except Err as e:
        return f"the request body could not be sent ({type(e.value).__name__})"
    return None


def _await(future) -> "Ok[IncomingResponse] | Err[ErrorCode]":
    """Blocks until the response head arrives."""
    while True:
        result = future.get()
        if result is None:
            with future.subscribe() as pollable:
                pollable.block()
            continue
        if isinstance(result, Err):
            return Err(ErrorCode_InternalError("the response was already taken"))
        return result.value


def _read(incoming: IncomingResponse, where: str) -> Response:
    status = incoming.status()
    with incoming.headers() as fields:
        headers = [
            (name.lower(), value.decode("utf-8", errors="replace"))
            for name, value in fields.entries()
        ]
    chunks = []
    body = incoming.consume()
    with body.stream() as stream:
        while True:
            try:
                chunk = stream.read(CHUNK)
            except Err as e:
                if isinstance(e.value, StreamError_Closed):
                    break
                code = http_error_code(e.value.value)
                reason = describe(code) if code is not None else e.value.value.to_debug_string()
                raise TransportError(f"{where}: reading the response failed: {reason}") from None
            if chunk:
                chunks.append(chunk)
            else:
                with stream.subscribe() as pollable:
                    pollable.block()
    IncomingBody.finish(body).__exit__(None, None, None)
    return Response(status, headers, b"".join(chunks))
