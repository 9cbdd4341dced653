"""SeeTrainOptunaCallback(log_best_artifact=...): each new best trial's checkpoint becomes a version."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from integrations.optuna import SeeTrainOptunaCallback  # noqa: E402
from tests.integrations.optuna.test_optuna import QUIET, clean_env  # noqa: E402, F401

pytestmark = pytest.mark.integration


def test_best_trial_checkpoints_are_versions(tmp_path, logdir):
    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        torch.manual_seed(trial.number)
        model = torch.nn.Linear(4, 1)
        x = torch.randn(64, 4)
        y = x.sum(dim=1, keepdim=True)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for _ in range(20):
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        path = tmp_path / f"trial-{trial.number}.pt"
        torch.save(model.state_dict(), path)
        trial.set_user_attr("checkpoint", str(path))
        return float(torch.nn.functional.mse_loss(model(x), y).detach())

    study = optuna.create_study(study_name="tune lr", direction="minimize", sampler=optuna.samplers.TPESampler(seed=0))
    with SeeTrainOptunaCallback(project="hpo", logdir=logdir, metric_name="mse", log_best_artifact="checkpoint",
                                **QUIET) as callback:
        study.optimize(objective, n_trials=8, callbacks=[callback])
    values = [t.value for t in study.trials]
    new_bests = [i for i, v in enumerate(values) if v < min(values[:i], default=float("inf"))]
    api = seetrain.Api(logdir)
    versions = api.artifact_versions("hpo/tune_lr-best")
    assert [v.metadata["trial"] for v in versions] == new_bests
    best = api.artifact("hpo/tune_lr-best:best")
    assert best.metadata["trial"] == study.best_trial.number
    assert best.metadata["mse"] == pytest.approx(study.best_value)
    assert f"trial-{study.best_trial.number}" in best.aliases
    state = torch.load(f"{best.download(tmp_path / 'dl')}/{best.files[0].path}")
    model = torch.nn.Linear(4, 1)
    model.load_state_dict(state)
