"""Run the localstripe emulator for tests, with the test-only extension mounted.

    python -m tests.support.localstripe_server --port 8420

Differences from ``python -m localstripe``:

* it listens on 127.0.0.1 only (localstripe itself binds every interface);
* it starts empty and keeps its state in memory, so no run sees another's objects
  (localstripe pickles its store to the fixed path /tmp/localstripe.pickle);
* ``--port 0`` picks a free port, and ``--ready-file`` receives the base URL once the
  server accepts connections, so a test fixture can wait for it;
* the routes of ``tests.support.localstripe_ext`` (Connect, idempotency, corrections).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from aiohttp import web

HOST = "127.0.0.1"


def build_app() -> web.Application:
    from localstripe import server as ls_server

    from tests.support import localstripe_ext

    localstripe_ext.install(ls_server.app)
    return ls_server.app


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


async def serve(port: int, ready_file: Path | None, exit_with_parent: bool) -> None:
    app = build_app()
    access_log = logging.getLogger("aiohttp.access")
    runner = web.AppRunner(app, access_log=access_log)
    await runner.setup()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    site = web.SockSite(runner, sock)
    await site.start()

    url = f"http://{HOST}:{sock.getsockname()[1]}"
    print(f"localstripe listening on {url}", flush=True)
    if ready_file is not None:
        _write_atomically(ready_file, url + "\n")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if exit_with_parent:
        parent = os.getppid()

        async def watch_parent() -> None:
            # A test run killed with SIGKILL must not leave the emulator behind.
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
            stop.set()

        watcher = asyncio.ensure_future(watch_parent())
    try:
        await stop.wait()
    finally:
        if exit_with_parent:
            watcher.cancel()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8420, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help="receives the base URL once listening")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the parent process dies"
    )
    # Accepted for compatibility with localstripe's own command line; always the case here.
    parser.add_argument("--from-scratch", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    asyncio.run(serve(args.port, args.ready_file, args.exit_with_parent))


if __name__ == "__main__":
    main()
