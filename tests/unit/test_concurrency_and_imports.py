from __future__ import annotations

import subprocess
import sys

import seetrain
from tests.helpers import ROOT, run_python

WORKER = """
import os, sys, seetrain
run = seetrain.init(project="shared", experiment_name="w" + sys.argv[1], logdir=os.environ["LOGDIR"])
for i in range(2000):
    run.log({"loss": 1.0 / (i + 1), "worker": float(sys.argv[1])})
    if i % 500 == 0:
        run.log({"img": seetrain.Image([[0, 255], [255, 0]])})
run.finish()
"""


def test_four_processes_into_one_logdir(logdir):
    env = {"PYTHONPATH": str(ROOT), "LOGDIR": str(logdir), "SEETRAIN_SYSTEM_MONITOR": "0"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i)], env=env, stderr=subprocess.PIPE, text=True)
             for i in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "locked" not in err
    runs = seetrain.Api(logdir).runs("shared")
    assert sorted(r.name for r in runs) == ["w0", "w1", "w2", "w3"]
    for r in runs:
        assert r.status == "finished"
        assert r.point_count() == 4000 and len(r.media(kind="image")) == 4


def test_threads_logging_into_one_run(logdir):
    import threading

    run = seetrain.init(project="p", logdir=str(logdir))

    def work(n: int) -> None:
        for i in range(1000):
            run.log({f"t{n}": float(i)}, step=i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert view.point_count() == 4000
    assert all(view.summary[f"t{n}"]["count"] == 1000 for n in range(4))


def test_import_seetrain_and_integrations_import_no_framework():
    code = """
import sys
import seetrain, integrations, integrations.main, integrations.registry, integrations.errors, resolvers
heavy = ["torch", "numpy", "lightning", "pytorch_lightning", "keras", "transformers", "accelerate",
         "ray", "optuna", "wandb", "mlflow", "mmengine", "tensorboardX", "tensorboard", "openai",
         "anthropic", "zhipuai", "pandas", "fastapi", "uvicorn", "sqlalchemy", "httpx", "PIL", "matplotlib"]
print(",".join(m for m in heavy if m in sys.modules))
"""
    proc = run_python(code, check=True)
    assert proc.stdout.strip() == ""
