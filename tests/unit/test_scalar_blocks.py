"""Level-of-detail blocks: written by the real writer, read by the dashboard and the Api."""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest

import seetrain
from seetrain._store import BLOCK_COLUMNS, BLOCK_SIZE, DB_NAME, RunWriter
from seetrain.server.local_source import LocalSource

SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _db(run_dir: str | Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{Path(run_dir) / DB_NAME}?mode=ro", uri=True)


def _key_id(conn: sqlite3.Connection, key: str) -> int:
    return conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()[0]


def _blocks(conn: sqlite3.Connection, key: str) -> list[dict]:
    rows = conn.execute(f"SELECT {', '.join(BLOCK_COLUMNS)} FROM scalar_blocks WHERE key_id = ? ORDER BY seq_last",
                        (_key_id(conn, key),)).fetchall()
    return [dict(zip(BLOCK_COLUMNS, r)) for r in rows]


def _raw(conn: sqlite3.Connection, key: str, first: int = 0, last: int = 2**62) -> tuple[np.ndarray, ...]:
    rows = conn.execute("SELECT seq, step, ts, value, special FROM scalars WHERE key_id = ? AND seq BETWEEN ? AND ? "
                        "ORDER BY seq", (_key_id(conn, key), first, last)).fetchall()
    seq, step, ts, value, special = (list(c) for c in zip(*rows))
    vals = np.array([SPECIAL[sp] if sp else v for v, sp in zip(value, special)], dtype=np.float64)
    return np.array(seq), np.array(step), np.array(ts), vals


def assert_blocks_cover(conn: sqlite3.Connection, key: str) -> None:
    """Every block matches numpy over its raw rows; blocks tile the key's rows without gaps
    and leave fewer than BLOCK_SIZE rows as the tail."""
    seq_all = _raw(conn, key)[0]
    blocks = _blocks(conn, key)
    position = 0
    for b in blocks:
        seq, step, ts, vals = _raw(conn, key, b["seq_first"], b["seq_last"])
        assert b["n"] == len(seq) == BLOCK_SIZE
        assert seq[0] == seq_all[position] and b["seq_first"] == seq[0] and b["seq_last"] == seq[-1]
        position += len(seq)
        assert (b["step_min"], b["step_max"]) == (step.min(), step.max())
        assert (b["ts_first"], b["ts_last"]) == (ts[0], ts[-1])
        finite = np.isfinite(vals)
        if finite.any():
            fv = np.where(finite, vals, np.nan)
            i_lo, i_hi = int(np.nanargmin(fv)), int(np.nanargmax(fv))
            assert (b["v_min"], b["step_at_min"], b["ts_at_min"]) == (vals[i_lo], step[i_lo], ts[i_lo])
            assert (b["v_max"], b["step_at_max"], b["ts_at_max"]) == (vals[i_hi], step[i_hi], ts[i_hi])
        else:
            assert b["v_min"] is None and b["v_max"] is None
        assert b["nonfinite"] == int((~finite).sum())
        if b["nonfinite"]:
            i = int(np.flatnonzero(~finite)[0])
            kind = "nan" if np.isnan(vals[i]) else ("inf" if vals[i] > 0 else "-inf")
            assert (b["nonfinite_step"], b["nonfinite_ts"], b["nonfinite_kind"]) == (step[i], ts[i], kind)
        else:
            assert b["nonfinite_kind"] is None
        for name, v in (("v_first", vals[0]), ("v_last", vals[-1])):
            assert b[name] == (v if np.isfinite(v) else None)
    assert len(seq_all) - position == len(seq_all) % BLOCK_SIZE  # the tail: rows after the last block


def test_blocks_hold_the_aggregates_of_their_rows(logdir: Path) -> None:
    rng = np.random.default_rng(1)
    run = seetrain.init(project="p", logdir=str(logdir))
    a = rng.normal(size=2 * BLOCK_SIZE + 300)
    a[700] = math.nan
    a[701] = math.inf
    a[BLOCK_SIZE + 5] = -math.inf
    for i, v in enumerate(a.tolist()):
        data = {"a": v}
        if i % 2:
            data["b"] = float(i)  # interleaved keys: a block's seq range holds other keys' rows
        run.log(data, step=i if i < BLOCK_SIZE else 5000 - i)  # steps go back in the second half
        if i == 1500:
            run.flush()  # blocks cut across flushes too
    for _ in range(3):
        run.log({"nan_only": math.nan})
    run.finish()
    with _db(run.dir) as conn:
        assert_blocks_cover(conn, "a")
        assert_blocks_cover(conn, "b")
        assert len(_blocks(conn, "a")) == 2 and len(_blocks(conn, "b")) == 1
        assert _blocks(conn, "nan_only") == []
        schema = conn.execute("SELECT schema_version FROM run").fetchone()[0]
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'scalars'")}
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT step FROM scalars WHERE key_id = 1 AND seq BETWEEN 5 AND 9 "
                            "ORDER BY seq").fetchall()
    assert schema == 2 and indexes == {"scalars_by_key_seq"}
    # A block's rows are one index range: (key_id, seq), seq being the rowid; no sort step.
    assert [r[-1] for r in plan] == ["SEARCH scalars USING INDEX scalars_by_key_seq (key_id=? AND rowid>? AND rowid<?)"]
    view = seetrain.Api(logdir).run(run.id)
    got = np.array([v for _, _, v in view.scalars("a")])
    np.testing.assert_array_equal(got, a)  # every point, in logging order (NaN == NaN here)
    assert view.summary["a"]["nonfinite"] == 3 and view.summary["a"]["min"] == pytest.approx(np.nanmin(
        np.where(np.isfinite(a), a, np.nan)))


def test_resume_continues_the_open_block_without_orphans(logdir: Path) -> None:
    run = seetrain.init(project="p", logdir=str(logdir))
    for i in range(BLOCK_SIZE + 500):
        run.log({"x": float(i)})
    run.finish()
    with _db(run.dir) as conn:
        assert len(_blocks(conn, "x")) == 1
    again = seetrain.init(project="p", logdir=str(logdir), resume=run.id)
    for i in range(BLOCK_SIZE):
        again.log({"x": float(-i)})
    again.finish()
    with _db(run.dir) as conn:
        blocks = _blocks(conn, "x")
        assert len(blocks) == 2
        # The second block starts with the first row the first session left open.
        seq = _raw(conn, "x")[0]
        assert blocks[1]["seq_first"] == seq[BLOCK_SIZE] and blocks[1]["step_min"] == BLOCK_SIZE
        assert_blocks_cover(conn, "x")
    steps = [s for s, _, _ in seetrain.Api(logdir).run(run.id).scalars("x")]
    assert steps == list(range(2 * BLOCK_SIZE + 500))


def test_a_failed_write_leaves_blocks_consistent(tmp_path: Path) -> None:
    store = RunWriter(str(tmp_path))
    kid = store.key_id("x")
    ts = time.time()

    def rows(first_seq: int, count: int, step0: int) -> list[tuple]:
        return [(first_seq + i, kid, step0 + i, ts + i, float(i), None) for i in range(count)]

    store.write_batch(rows(store.next_seq, 1000, 0), [], [])
    bad = rows(store.next_seq, 100, 1000)
    bad[50] = bad[50][:3] + (None,) + bad[50][4:]  # ts NULL: the whole transaction fails
    with pytest.raises(sqlite3.IntegrityError):
        store.write_batch(bad, [], [])
    assert store.next_seq == 1001 and store.open_counts == {kid: 1000}
    store.write_batch(rows(store.next_seq, 100, 1000), [], [])
    assert store.open_counts == {kid: 1100 - BLOCK_SIZE}
    store.close()
    with _db(tmp_path) as conn:
        assert_blocks_cover(conn, "x")
        assert len(_blocks(conn, "x")) == 1


@pytest.fixture(scope="module")
def big_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """200,000 points with one spike, one NaN and one -inf dip, through seetrain.log."""
    logdir = tmp_path_factory.mktemp("big")
    n = 200_000
    rng = np.random.default_rng(0)
    values = np.exp(-np.arange(n) / n * 5) + rng.normal(0, 0.01, n)
    values[123_457] = 50.0
    values[150_001] = math.nan
    values[77_777] = -math.inf
    run = seetrain.init(project="big", logdir=str(logdir), reinit="create_new")
    log = run.log
    for i, v in enumerate(values.tolist()):
        log({"loss": v}, step=i)
    run.finish()
    points = seetrain.Api(logdir).run(f"big/{run.id}").scalars("loss")
    return {"logdir": logdir, "id": run.id, "values": values, "ts": np.array([t for _, t, _ in points])}


def _point(res: dict, step: int) -> tuple:
    i = res["step"].index(step)
    return res["value"][i], res["flag"][i]


def test_spike_and_nonfinite_visible_at_every_zoom(big_run: dict) -> None:
    source = LocalSource(big_run["logdir"])
    rid = big_run["id"]
    full = source.metric("big", rid, "loss", max_points=500)
    assert full["total"] == full["in_range"] == 200_000 and full["downsampled"]
    assert len(full["step"]) <= 520 and full["step"] == sorted(full["step"])
    assert full["step"][0] == 0 and full["step"][-1] == 199_999
    assert _point(full, 123_457) == (50.0, None)
    assert _point(full, 150_001) == (None, "nan")
    assert _point(full, 77_777) == (None, "-inf")
    # A zoom too wide to read raw (block extremes) and one narrow enough to read every point.
    wide = source.metric("big", rid, "loss", x_min=100_000, x_max=160_000, max_points=500)
    assert wide["in_range"] == 60_001 and _point(wide, 123_457) == (50.0, None)
    assert _point(wide, 150_001) == (None, "nan")
    assert 123_457 in source.metric("big", rid, "loss", x_min=123_000, x_max=124_000, max_points=500)["step"]
    narrow = source.metric("big", rid, "loss", x_min=150_000.5, x_max=152_000, max_points=5000)
    assert not narrow["downsampled"] and narrow["in_range"] == 2000
    assert narrow["step"] == list(range(150_000, 152_002))  # every raw point, one neighbour each side
    expected = big_run["values"][150_000:152_002]
    got = np.array([math.nan if v is None else v for v in narrow["value"]])
    np.testing.assert_array_equal(got, expected)
    # The same on the time axis.
    t_spike = big_run["ts"][123_457]
    timed = source.metric("big", rid, "loss", x_axis="time", x_min=t_spike - 1.0, x_max=t_spike + 1.0)
    assert _point(timed, 123_457) == (50.0, None)
    rel = source.metric("big", rid, "loss", x_axis="relative", max_points=300)
    assert _point(rel, 123_457) == (50.0, None) and _point(rel, 150_001) == (None, "nan")


def test_live_poll_reads_only_new_points(logdir: Path) -> None:
    run = seetrain.init(project="live", logdir=str(logdir))
    try:
        source = LocalSource(logdir)
        for i in range(BLOCK_SIZE - 24):
            run.log({"x": float(i)})
        run.flush()
        first = source.metric("live", run.id, "x")
        assert first["total"] == BLOCK_SIZE - 24 and first["last_step"] == BLOCK_SIZE - 25
        for i in range(BLOCK_SIZE - 24, BLOCK_SIZE + 76):  # completes a block, starts a tail
            run.log({"x": float(i)})
        run.flush()
        live = source.metric("live", run.id, "x", after_step=first["last_step"], max_points=4000)
        assert live["step"] == list(range(BLOCK_SIZE - 24, BLOCK_SIZE + 76))
        assert live["value"] == [float(i) for i in live["step"]]
        whole = source.metric("live", run.id, "x", max_points=5000)
        assert whole["total"] == BLOCK_SIZE + 76 and whole["step"] == list(range(BLOCK_SIZE + 76))
    finally:
        run.finish()


def test_steps_going_backwards_lose_no_points(logdir: Path) -> None:
    n = 10_000  # two passes of 10,000: more than one request reads raw, so blocks stand in
    run = seetrain.init(project="p", logdir=str(logdir))
    for i in range(n):
        run.log({"loss": 1.0 + i / n}, step=i)
    for i in range(n):  # a restart from step 0 with the same logger
        run.log({"loss": 99.0 if i == 1500 else -1.0 - i / n}, step=i)
    run.finish()
    source = LocalSource(logdir)
    full = source.metric("p", run.id, "loss", max_points=200)
    assert full["total"] == full["in_range"] == 2 * n and full["downsampled"]
    assert 99.0 in full["value"] and min(full["value"]) == pytest.approx(-2.0, abs=1e-3)
    assert full["step"] == sorted(full["step"]) and full["step"][-1] == n - 1
    zoom = source.metric("p", run.id, "loss", x_min=1400, x_max=1600, max_points=2000)
    assert zoom["in_range"] == 402 and not zoom["downsampled"]
    # Both passes, every point, and one neighbour beyond each edge.
    assert zoom["step"] == [1399, *sorted([*range(1400, 1601)] * 2), 1601]
    assert 99.0 in zoom["value"] and min(zoom["value"]) < 0 < max(zoom["value"])


SCHEMA_1 = """
CREATE TABLE run (
    id TEXT PRIMARY KEY, project TEXT NOT NULL, name TEXT, description TEXT, tags TEXT,
    group_name TEXT, status TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL,
    heartbeat_at REAL, pid INTEGER, hostname TEXT, config TEXT, metadata TEXT, summary TEXT,
    stats TEXT, error TEXT, schema_version INTEGER
);
CREATE TABLE metric_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE scalars (
    seq INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, step INTEGER NOT NULL, ts REAL NOT NULL,
    value REAL, special TEXT
);
CREATE INDEX scalars_by_key ON scalars (key_id, step);
CREATE TABLE media (
    seq INTEGER PRIMARY KEY, key TEXT NOT NULL, step INTEGER NOT NULL, ts REAL NOT NULL,
    kind TEXT NOT NULL, path TEXT, caption TEXT, payload TEXT
);
CREATE INDEX media_by_key ON media (kind, key, step);
CREATE TABLE console (seq INTEGER PRIMARY KEY, ts REAL NOT NULL, stream TEXT NOT NULL, line TEXT NOT NULL);
CREATE TABLE replication (
    target TEXT PRIMARY KEY, scalars_seq INTEGER NOT NULL DEFAULT 0,
    media_seq INTEGER NOT NULL DEFAULT 0, console_seq INTEGER NOT NULL DEFAULT 0, run_synced_at REAL
);
"""


def _schema1_run(logdir: Path, n: int) -> tuple[Path, np.ndarray]:
    run_dir = logdir / "old" / "r1"
    run_dir.mkdir(parents=True)
    conn = sqlite3.connect(run_dir / DB_NAME)
    conn.executescript(SCHEMA_1)
    t0 = time.time() - 100
    conn.execute("INSERT INTO run (id, project, name, status, created_at, finished_at, schema_version) "
                 "VALUES ('r1', 'old', 'legacy', 'finished', ?, ?, 1)", (t0, t0 + 50))
    conn.executemany("INSERT INTO metric_keys (id, name) VALUES (?, ?)", [(1, "loss"), (2, "acc")])
    values = np.sin(np.arange(n) / 50.0)
    values[1234] = 40.0
    rows = []
    for i, v in enumerate(values.tolist()):
        rows.append((1, i, t0 + i * 0.01, None if i == 2000 else v, "nan" if i == 2000 else None))
        rows.append((2, i, t0 + i * 0.01, i / n, None))
    conn.executemany("INSERT INTO scalars (key_id, step, ts, value, special) VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    values[2000] = math.nan
    return run_dir, values


def test_schema_1_database_reads_everywhere_and_upgrades_on_resume(logdir: Path) -> None:
    run_dir, values = _schema1_run(logdir, 3000)

    def check_readers() -> None:
        view = seetrain.Api(logdir).run("old/r1")
        np.testing.assert_array_equal([v for _, _, v in view.scalars("loss")], values)
        assert len(view.history()) == 3000
        source = LocalSource(logdir)
        full = source.metric("old", "r1", "loss", max_points=100)
        assert full["total"] == 3000 and 40.0 in full["value"] and "nan" in full["flag"]
        zoom = source.metric("old", "r1", "loss", x_min=1000, x_max=1100, max_points=500)
        assert zoom["step"] == list(range(999, 1102)) and zoom["in_range"] == 101
        assert source.metric("old", "r1", "loss", after_step=2995)["step"] == [2996, 2997, 2998, 2999]

    check_readers()
    with _db(run_dir) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'scalar_blocks'").fetchone() is None
    # A writer opened on it (a resumed run) upgrades it in place: blocks for the old rows.
    store = RunWriter(str(run_dir))
    assert store.next_seq == 6001 and store.open_counts == {1: 3000 % BLOCK_SIZE, 2: 3000 % BLOCK_SIZE}
    store.close()
    with _db(run_dir) as conn:
        assert_blocks_cover(conn, "loss")
        assert len(_blocks(conn, "loss")) == 3000 // BLOCK_SIZE
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                                              "AND tbl_name = 'scalars'")}
        assert indexes == {"scalars_by_key_seq"}
        assert conn.execute("SELECT schema_version FROM run").fetchone()[0] == 2
    check_readers()
