"""Put and get of 1 MB and 20 MB objects against an S3 endpoint: obstore (what storage/s3.py uses)
and, when importable, aioboto3 (kept out of the project's venv: it pins botocore tightly).

    scripts/services/seaweedfs.sh start            # prints the endpoint
    .venv/bin/python bench/s3_clients.py http://127.0.0.1:28306
    VENV/bin/python bench/s3_clients.py ENDPOINT   # a throwaway venv: pip install aioboto3 obstore
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable

ACCESS, SECRET, BUCKET = "imagerepo", "imagerepo-secret", "imagerepo"
SIZES = {"1 MB": 1 << 20, "20 MB": 20 << 20}
ROUNDS = 5


async def timed(label: str, run: Callable[[], Awaitable[object]]) -> None:
    await run()  # warm-up (connections)
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - start)
    print(f"{label:32s} median {statistics.median(samples) * 1000:7.1f} ms")


async def with_obstore(endpoint: str, data: dict[str, bytes]) -> None:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET,
        prefix="bench-obstore",
        endpoint=endpoint,
        access_key_id=ACCESS,
        secret_access_key=SECRET,
        region="us-east-1",
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    for name, body in data.items():
        await timed(f"obstore put {name}", lambda b=body, n=name: obstore.put_async(store, n, b))

        async def get(n: str = name) -> bytes:
            result = await obstore.get_async(store, n)
            return bytes(await result.bytes_async())

        await timed(f"obstore get {name}", get)


async def with_aioboto3(endpoint: str, data: dict[str, bytes]) -> None:
    try:
        import aioboto3
    except ImportError:
        print("aioboto3 not installed here: skipped")
        return
    session = aioboto3.Session()
    async with session.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
    ) as s3:
        for name, body in data.items():
            key = f"bench-boto/{name}"
            await timed(
                f"aioboto3 put {name}",
                lambda b=body, k=key: s3.put_object(Bucket=BUCKET, Key=k, Body=b),
            )

            async def get(k: str = key) -> bytes:
                answer = await s3.get_object(Bucket=BUCKET, Key=k)
                async with answer["Body"] as stream:
                    return bytes(await stream.read())

            await timed(f"aioboto3 get {name}", get)


async def main(endpoint: str) -> None:
    data = {name: os.urandom(size) for name, size in SIZES.items()}
    await with_obstore(endpoint, data)
    await with_aioboto3(endpoint, data)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:28306"))
