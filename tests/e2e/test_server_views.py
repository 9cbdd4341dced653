"""Saved views, panel layouts and run edits on a real `seetrain server` process (SQLite and
PostgreSQL): the same API as the local dashboard, stored in the server's database, writes
behind the server's token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

import seetrain
from tests.servers import ServerProcess, serve_both

pytestmark = pytest.mark.e2e
TOKEN = "views-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from serve_both(request.param, tmp_path_factory.mktemp(request.param), TOKEN)


def _two_runs(srv: ServerProcess, logdir) -> list[str]:
    ids = []
    for lr in (0.1, 0.01):
        run = seetrain.init(project="sweep", logdir=str(logdir), mode="online", host=srv.url, upload_timeout=30,
                            config={"lr": lr}, reinit="create_new")
        run.log({"loss": lr})
        run.finish()
        ids.append(run.id)
    return ids


def test_views_layout_and_run_edits_live_in_the_server_database(srv, tmp_path, monkeypatch):
    monkeypatch.setenv("SEETRAIN_API_KEY", TOKEN)
    ids = _two_runs(srv, tmp_path / "logs")
    api = f"{srv.url}/api/v1"
    state = {"q": "lr>=0.05", "group": "config.lr"}
    assert httpx.put(f"{api}/projects/sweep/views/best lr", json=state).status_code == 401  # writes need the token
    saved = httpx.put(f"{api}/projects/sweep/views/best lr", json=state, headers=AUTH).json()
    assert saved["name"] == "best lr" and saved["state"] == state
    assert [v["name"] for v in httpx.get(f"{api}/projects/sweep/views", headers=AUTH).json()] == ["best lr"]
    layout = {"panels": [{"metrics": ["loss"], "pinned": True}]}
    assert httpx.put(f"{api}/projects/sweep/layout", json=layout, headers=AUTH).json() == {"layout": layout}
    assert httpx.get(f"{api}/projects/sweep/layout", headers=AUTH).json() == {"layout": layout}
    assert httpx.get(f"{api}/projects/nope/views", headers=AUTH).status_code == 404
    assert httpx.delete(f"{api}/projects/sweep/views/best lr", headers=AUTH).json() == {"deleted": "best lr"}
    assert httpx.get(f"{api}/projects/sweep/views", headers=AUTH).json() == []

    edited = httpx.patch(f"{api}/runs/sweep/{ids[0]}", json={"name": "baseline", "notes": "keep",
                                                             "tags": ["best"], "archived": True},
                         headers=AUTH).json()
    assert (edited["name"], edited["notes"], edited["tags"], edited["archived"]) == ("baseline", "keep", ["best"], True)
    listed = {r["id"]: r for r in httpx.get(f"{api}/projects/sweep/runs", headers=AUTH).json()}
    assert listed[ids[0]]["name"] == "baseline" and listed[ids[1]]["archived"] is False
    assert httpx.patch(f"{api}/runs/sweep/{ids[0]}", json={"color": "red"}, headers=AUTH).status_code == 400

    assert httpx.delete(f"{api}/runs/sweep/{ids[1]}", params={"confirm": "wrong"}, headers=AUTH).status_code == 400
    gone = httpx.delete(f"{api}/runs/sweep/{ids[1]}", params={"confirm": ids[1]}, headers=AUTH)
    assert gone.status_code == 200 and gone.json()["deleted"] == ids[1]
    assert httpx.get(f"{api}/runs/sweep/{ids[1]}", headers=AUTH).status_code == 404
    assert [r["id"] for r in httpx.get(f"{api}/projects/sweep/runs", headers=AUTH).json()] == [ids[0]]
