"""`imagerepo images --q/--sort/--tag/--filter`, `imagerepo tag`, `imagerepo similar`, and
`upload --tag`."""

from __future__ import annotations

import json
from pathlib import Path

from tests.client.conftest import Run, tree


async def ids_of(run: Run, *args: str) -> list[str]:
    result = await run("images", "--json", *args)
    assert result.exit_code == 0, result.output
    return [item["id"] for item in json.loads(result.stdout)]


async def test_search_tags_and_similar_from_the_command_line(run: Run, tmp_path: Path) -> None:
    photos = tree(tmp_path / "photos", ["red car.jpg", "harbour.jpg"])
    result = await run("upload", "--json", "--tag", "Sea", "--tag", "Été", str(photos))
    assert result.exit_code == 0, result.output
    uploaded = {Path(r["path"]).name: r["image_id"] for r in json.loads(result.stdout)}
    car, harbour = uploaded["red car.jpg"], uploaded["harbour.jpg"]

    assert await ids_of(run, "--q", "car") == [car]
    assert sorted(await ids_of(run, "--tag", "ete")) == sorted([harbour, car])
    assert await ids_of(run, "--sort", "size", "--filter", "media_type=image/jpeg") != []
    assert await ids_of(run, "--filter", "visibility=private") == []

    result = await run("tag", harbour, "+boats", "-sea")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{harbour}: Été, boats\n"
    assert await ids_of(run, "--q", "boats") == [harbour]

    result = await run("similar", "--json", str(photos / "harbour.jpg"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["id"] == harbour
    result = await run("similar", "--json", harbour)
    assert result.exit_code == 0, result.output
    assert harbour not in [i["id"] for i in json.loads(result.stdout)]

    for bad in (["--sort", "name"], ["--filter", "colour=red"], ["--filter", "year"]):
        assert (await run("images", *bad)).exit_code == 2
