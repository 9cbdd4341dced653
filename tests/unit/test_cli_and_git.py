from __future__ import annotations

import csv
import io
import json
import subprocess

from click.testing import CliRunner

import seetrain
from seetrain.cli import main
from tests.helpers import run_python


def _make_runs(logdir):
    run = seetrain.init(project="proj", experiment_name="alpha", config={"lr": 0.1}, logdir=str(logdir))
    for i in range(3):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 3})
    run.finish()
    return run


def test_ls_lists_projects_and_runs(logdir):
    run = _make_runs(logdir)
    runner = CliRunner()
    out = runner.invoke(main, ["ls", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "proj" in out.output and "1 runs" in out.output
    out = runner.invoke(main, ["ls", "proj", "--logdir", str(logdir)])
    assert out.exit_code == 0 and run.id in out.output and "finished" in out.output and "alpha" in out.output


def test_export_csv_and_json(logdir):
    run = _make_runs(logdir)
    runner = CliRunner()
    out = runner.invoke(main, ["export", f"proj/{run.id}", "--format", "csv", "--logdir", str(logdir)])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert [float(r["loss"]) for r in rows] == [1.0, 0.5, 1.0 / 3]
    out = runner.invoke(main, ["export", "alpha", "--format", "json", "--logdir", str(logdir)])
    doc = json.loads(out.output)
    assert doc["run"]["config"] == {"lr": 0.1} and len(doc["history"]) == 3
    out = runner.invoke(main, ["export", "nope", "--logdir", str(logdir)])
    assert out.exit_code != 0 and "no run" in out.output


def test_status_shows_running_runs(logdir):
    run = seetrain.init(project="proj", experiment_name="live", logdir=str(logdir))
    run.log({"loss": 0.5}, step=41)
    run.flush()
    out = CliRunner().invoke(main, ["status", "--logdir", str(logdir)])
    assert out.exit_code == 0 and "live" in out.output and "running" in out.output and "step      41" in out.output
    run.finish()
    out = CliRunner().invoke(main, ["status", "--logdir", str(logdir)])
    assert "no running runs" in out.output


def test_demo_runs_a_real_training(logdir):
    out = CliRunner().invoke(main, ["demo", "--logdir", str(logdir), "--runs", "2", "--epochs", "120"])
    assert out.exit_code == 0, out.output
    runs = seetrain.Api(logdir).runs("demo")
    assert len(runs) == 2
    for r in runs:
        assert r.status == "finished"
        loss = [v for _, _, v in r.scalars("train/loss")]
        assert len(loss) == 120 and loss[-1] < loss[0]  # it really learns
        kinds = {m.kind for m in r.media()}
        assert kinds == {"image", "histogram", "text", "audio"}


def test_git_commit_and_dirty_flag_are_recorded(tmp_path, logdir):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    (repo / "train.py").write_text("print(2)\n")
    run_python(f"""
import seetrain
run = seetrain.init(project="g", logdir={str(logdir)!r})
run.finish()
""", cwd=repo, check=True)
    (view,) = seetrain.Api(logdir).runs("g")
    assert view.metadata["git"]["commit"] == head
    assert view.metadata["git"]["dirty"] is True
