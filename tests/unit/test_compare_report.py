from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import seetrain
from seetrain.cli import main
from seetrain.compare_report import build_report, series_stats

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image")


def _make_run(logdir, name: str, scale: float, with_batch_time: bool) -> str:
    run = seetrain.init(project="cmp", experiment_name=name, logdir=str(logdir), system_monitor=False)
    for step in range(20):
        data = {"loss": scale * (1.0 / (step + 1)), "acc": 1.0 - scale / (step + 2)}
        if with_batch_time:
            data["batch_time"] = 0.01 * scale + 0.001 * (step % 3)
        run.log(data)
    # System metrics as the monitor stores them: side channel, own sample index.
    for i in range(4):
        run.log_side({"sys/cpu_percent": 10.0 * (i + 1) * scale, "sys/memory_percent": 20.0 + i}, i)
    run.log({"loss": math.nan}, step=20)
    run.finish()
    return run.id


def test_series_stats():
    stats = series_stats([3.0, math.nan, 1.0, 2.0])
    assert stats == {"count": 4, "initial": 3.0, "final": 2.0, "nonfinite": 1,
                     "min": 1.0, "max": 3.0, "mean": 2.0}


def test_cli_writes_summary_and_plots(logdir, tmp_path):
    base = _make_run(logdir, "baseline", 2.0, with_batch_time=True)
    fast = _make_run(logdir, "optimised", 1.0, with_batch_time=False)
    out = tmp_path / "report"
    result = CliRunner().invoke(main, ["compare", base, f"cmp/{fast}", "--logdir", str(logdir),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.output and "wrote" in result.output

    summary = json.loads((out / "summary.json").read_text())
    assert summary["baseline"] == base
    assert [r["name"] for r in summary["runs"]] == ["baseline", "optimised"]
    assert all(r["total_time_s"] > 0 and r["steps"] == 21 for r in summary["runs"])
    loss = summary["metrics"]["loss"]
    assert loss[base]["initial"] == 2.0 and loss[base]["min"] == pytest.approx(2.0 / 20)
    assert loss[base]["final"] is None and loss[base]["nonfinite"] == 1  # NaN kept visible
    assert loss[fast]["max"] == 1.0 and loss[fast]["mean"] == pytest.approx(sum(1 / (s + 1) for s in range(20)) / 20)
    assert "sys/cpu_percent" not in summary["metrics"]
    bt_base, bt_fast = summary["batch_time"][base], summary["batch_time"][fast]
    assert bt_base["source"] == "batch_time" and bt_base["count"] == 20
    assert bt_base["min"] == pytest.approx(0.02) and bt_base["max"] == pytest.approx(0.022)
    assert bt_fast["source"] == "timestamps" and bt_fast["count"] == 20
    cpu = summary["resources"][base]["sys/cpu_percent"]
    assert cpu["samples"] == 4 and cpu["mean"] == pytest.approx(50.0) and cpu["max"] == 80.0
    assert summary["vs_baseline"][fast]["speedup"] > 0
    assert summary["vs_baseline"][fast]["final"]["acc"]["delta"] == pytest.approx((1 - 1 / 21) - (1 - 2 / 21))

    assert "| baseline" in (out / "report.md").read_text()
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert {"metric_loss.png", "metric_acc.png", "metric_batch_time.png", "resources.png",
            "batch_time.png"} <= set(pngs)
    assert set(summary["files"]) >= {"summary.json", "report.md", "plots/resources.png"}
    for name in pngs:
        with PIL.open(out / "plots" / name) as img:
            img.verify()
        with PIL.open(out / "plots" / name) as img:
            assert img.format == "PNG" and img.size[0] > 100 and img.size[1] > 100


def test_build_report_metric_filter_and_unknown_run(logdir, tmp_path):
    a = _make_run(logdir, "a", 1.0, with_batch_time=False)
    report = build_report([seetrain.Api(logdir).run(a)], metrics=["acc"])
    assert list(report["metrics"]) == ["acc"] and report["vs_baseline"] == {}
    json.dumps(report, allow_nan=False)
    result = CliRunner().invoke(main, ["compare", a, "nope", "--logdir", str(logdir),
                                       "--out", str(tmp_path / "r"), "--no-plots"])
    assert result.exit_code != 0 and "no run 'nope'" in result.output


def test_timing_table_from_seetrain_timer(logdir, tmp_path):
    from seetrain.compare_report import write_report

    for name, sleep_steps in (("fast", 1), ("slow", 3)):
        seetrain.init(project="timing-cmp", experiment_name=name, logdir=str(logdir))
        for step in range(sleep_steps):
            with seetrain.timer("data_loading"):
                pass
            seetrain.log({"loss": 1.0 / (step + 1)})
        seetrain.finish()
    views = sorted(seetrain.Api(logdir).runs("timing-cmp"), key=lambda r: r.name)
    report = write_report(views, str(tmp_path / "out"), plots=False)
    counts = {r.name: report["timing"][r.id]["data_loading"]["count"] for r in views}
    assert counts == {"fast": 1, "slow": 3}
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "Timing (seetrain.timer" in markdown and "| data_loading |" in markdown and "(3)" in markdown
