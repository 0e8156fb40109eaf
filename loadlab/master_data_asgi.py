"""master-data's HTTP app (Connect, gRPC-Web, the admin API, probes) as a plain ASGI app, for a
third-party server to run in the HTTP/2 server comparison (`loadlab.http2_servers`):

    MASTER_DATA_DB=... granian --interface asgi --http 2 loadlab.master_data_asgi:app
    MASTER_DATA_DB=... pyvoy loadlab.master_data_asgi:app

Settings come from the environment as `master-data serve` reads them; the repository is opened
at the first request (no server here needs to speak lifespan). The guards our own servers add
around the app (connection caps, header limits, the flood guard) are not here: a server run so
does less work per call than master-data's own.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from services.master_data.server import assemble
from services.master_data.settings import MasterDataSettings
from services.master_data.storage import open_repository


class _OpenedAtFirstCall:
    def __init__(self) -> None:
        self._app: ASGIApp | None = None
        self._opening = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        app = self._app
        if app is None:
            async with self._opening:
                if self._app is None:
                    settings = MasterDataSettings()
                    repository = await open_repository(settings)
                    self._app = assemble(repository, settings).http_app
                app = self._app
        await app(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


app = _OpenedAtFirstCall()
