"""Where a cache-off listing request goes, in process (no socket), with pyinstrument.

    .venv/bin/pip install pyinstrument
    .venv/bin/python bench/profile_listing.py bench/out/search-100000 [LIMIT]

Takes a data folder made by `bench/search.py` (copy it first: the server migrates it), times
`/healthz`, a 1-item and a 50-item first page as anonymous with the cache off, then prints the
profile of 200 pages of LIMIT items. Run on purpose, never in `make test`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
from pyinstrument import Profiler

from imagerepo.app import create_app
from imagerepo.config import Settings


async def main(data: Path, limit: str) -> None:
    settings = Settings(data_dir=data, cache_size=0, write_client_login=False)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as http,
    ):
        for _ in range(30):
            await http.get("/api/v1/images?limit=50")
        for path in ("/healthz", "/api/v1/images?limit=1", "/api/v1/images?limit=50"):
            start = time.perf_counter()
            for _ in range(200):
                await http.get(path)
            print(f"{path}: {(time.perf_counter() - start) / 200 * 1000:.2f} ms per request")
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(200):
            await http.get(f"/api/v1/images?limit={limit}")
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "50"))
