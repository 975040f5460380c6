"""``python -m standins serve VENDOR [KEY=VALUE ...]``: runs one stand-in on an ephemeral
loopback port (``--port`` to choose), prints ``{"port": N}`` on one line of stdout once it
listens, and serves until stdin closes or SIGTERM/SIGINT arrives; then it deletes every rrset
it wrote at PowerDNS. ``KEY=VALUE`` pairs are the vendor's options (the credentials it
accepts, such as ``token=...``)."""

import json
import signal
import sys
import threading

from standins.core import Server, load_vendor


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "serve":
        print(__doc__, file=sys.stderr)
        return 2
    vendor = load_vendor(argv[1])
    options, port = {}, 0
    rest = argv[2:]
    while rest:
        arg = rest.pop(0)
        if arg == "--port":
            port = int(rest.pop(0))
        elif "=" in arg:
            k, v = arg.split("=", 1)
            options[k] = v
        else:
            print(f"standins: unknown argument {arg!r}", file=sys.stderr)
            return 2
    server = Server(vendor, options, port=port).start()
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def watch_stdin() -> None:
        sys.stdin.read()  # returns when the parent closes it or exits
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({"port": server.port}), flush=True)
    done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
