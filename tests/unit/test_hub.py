"""The hub itself: registry, errors, unified log/finish, with_integration, graceful degradation.
Adapters for real frameworks are tested in tests/integrations/."""

from __future__ import annotations

import pytest

import seetrain
from integrations import errors, main, registry
from integrations._base import Integration


class PlainIntegration(Integration):
    """A framework-free adapter (the stdlib 'json' module stands in as its framework)."""

    name = "plain_test"
    mode = "callback"

    def get_callback(self):
        return self.log


@pytest.fixture(autouse=True)
def plain_adapter():
    registry.register(registry.AdapterSpec("plain_test", "callback", f"{__name__}:PlainIntegration",
                                           ("json",), "plain", "0"))
    yield
    registry.unregister("plain_test")


def test_every_builtin_row_is_complete():
    expected = {"pytorch_lightning", "keras", "transformers", "ultralytics", "accelerate", "ray_tune", "optuna",
                "wandb", "mmengine", "mmdetection", "tensorboard", "mlflow", "openai", "zhipuai", "anthropic",
                "xgboost", "lightgbm", "catboost", "sklearn", "stable_baselines3", "hydra", "peft", "trl",
                "sentence_transformers", "mistral", "ollama", "google_genai", "cohere", "dashscope", "torch"}
    assert expected <= set(registry.names()) and len(registry.builtin()) >= 30
    # Every built-in row has its docs page and an init_<name> / enable_<name>_autolog in the facade.
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "integrations"
    index = (docs / "index.md").read_text()
    for spec in registry.builtin():
        factory = f"enable_{spec.name}_autolog" if spec.mode == "autolog" and spec.name != "torch" else \
            f"init_{spec.name}"
        assert callable(getattr(main, factory, None)), factory
        assert f"(`{spec.name}`)" in index, spec.name
    for name in expected:
        spec = registry.get_spec(name)
        assert spec.mode in registry.MODES and ":" in spec.target and spec.packages


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(errors.UnknownIntegrationError, match="known integrations: .*pytorch_lightning"):
        main.init("pytorch-lighting")


def test_missing_framework_names_install_command_and_min_version():
    registry.register(registry.AdapterSpec("ghost", "tracker", "integrations.ghost:Ghost",
                                           ("surely_not_installed_pkg",), "ghost", "1.2"))
    try:
        with pytest.raises(errors.FrameworkNotInstalledError) as info:
            main.init("ghost")
        message = str(info.value)
        assert "pip install 'seetrain[ghost]'" in message and ">=1.2" in message
        assert isinstance(info.value, ImportError)
    finally:
        registry.unregister("ghost")


def test_too_old_framework_is_reported():
    registry.register(registry.AdapterSpec("old", "tracker", "integrations.old:Old", ("pytest",), "old", "999.0"))
    try:
        with pytest.raises(errors.FrameworkNotInstalledError, match="older than the minimum 999.0"):
            main.init("old")
    finally:
        registry.unregister("old")


def test_unified_log_reaches_every_active_run_once(logdir):
    a = main.init("plain_test", project="multi", experiment_name="a", logdir=str(logdir))
    main.init("plain_test", project="multi", experiment_name="b", logdir=str(logdir))
    shared = main.init("plain_test", project="multi", run=a.run)  # same run through two integrations
    main.log({"loss": 0.5}, step=1)
    main.log_scalar("lr", 0.1, step=1)
    main.update_config({"seed": 7})
    main.finish()
    assert main.active_integrations() == []
    runs = {r.name: r for r in seetrain.Api(logdir).runs("multi")}
    assert set(runs) == {"a", "b"}
    for view in runs.values():
        assert [(s, v) for s, _, v in view.scalars("loss")] == [(1, 0.5)]
        assert view.config["seed"] == 7
        assert view.config["framework"]["name"] == "plain_test"
        assert view.status == "finished" and "plain_test" in view.tags
    # The run shared by `a` and `shared` got the record once, through one of them.
    assert a.get_stats()["records_sent"] + shared.get_stats()["records_sent"] == 2


def test_with_integration_marks_failure(logdir):
    with pytest.raises(ValueError):
        with main.with_integration("plain_test", project="ctx", logdir=str(logdir)) as integration:
            integration.log({"x": 1.0})
            raise ValueError("inside")
    (view,) = seetrain.Api(logdir).runs("ctx")
    assert view.status == "failed"


def test_internal_failure_is_counted_not_raised(logdir, monkeypatch):
    integration = main.init("plain_test", project="p", logdir=str(logdir))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(integration.run, "log", broken)
    integration.get_callback()({"x": 1.0})  # the user's training calls this: must not raise
    integration.log({"x": 2.0})
    stats = integration.get_stats()
    assert stats["degraded_calls"] == 2 and stats["errors"] == {"OSError": 2}
    assert errors.get_integration_error_stats()["global"]["degraded_calls"] >= 2
    integration.finish()
    integration.finish()  # twice is harmless


def test_non_zero_rank_logs_nothing(logdir, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    integration = main.init("plain_test", project="ranks", logdir=str(logdir))
    integration.log({"x": 1.0})
    integration.finish()
    assert seetrain.Api(logdir).runs("ranks") == []
    every = main.init("plain_test", project="ranks", experiment_name="job", log_all_ranks=True,
                      logdir=str(logdir))
    every.log({"x": 1.0})
    every.finish()
    (view,) = seetrain.Api(logdir).runs("ranks")
    assert view.name == "job-rank1" and view.group == "job"


def test_resilience_primitives_are_tenacity_and_pybreaker():
    import pybreaker

    calls = []

    @errors.with_retry(max_retries=2, base_delay=0.001)
    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return "ok"

    assert flaky() == "ok" and len(calls) == 3

    @errors.with_circuit_breaker(failure_threshold=2, recovery_timeout=60)
    def down():
        raise ConnectionError("down")

    for _ in range(2):
        with pytest.raises((ConnectionError, pybreaker.CircuitBreakerError)):
            down()
    with pytest.raises(pybreaker.CircuitBreakerError):
        down()
    assert down.breaker.current_state == "open"

    @errors.with_graceful_degradation(fallback_func=lambda x: -1)
    def fails(x):
        raise RuntimeError("internal")

    assert fails(3) == -1


# ---- LazyModule ---------------------------------------------------------------------------------
def test_lazy_module_imports_on_first_attribute_access():
    import subprocess
    import sys

    code = ("import sys, integrations; from integrations import LazyModule, is_loaded, is_available; "
            "from integrations.main import LazyModule as Same; assert Same is LazyModule; "
            "m = LazyModule('colorsys'); assert 'colorsys' not in sys.modules; "
            "assert not is_loaded(m) and is_available(m) and 'not imported' in repr(m); "
            "assert m.rgb_to_hsv(1, 0, 0) == (0.0, 1.0, 1); assert is_loaded(m) and 'colorsys' in sys.modules; "
            "assert not is_available(LazyModule('surely_not_installed_pkg')); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_lazy_module_missing_raises_at_first_use_and_runs_on_import_once():
    from integrations import LazyModule, resolve

    missing = LazyModule("surely_not_installed_pkg")
    with pytest.raises(ImportError):
        _ = missing.anything
    seen = []
    lazy = LazyModule("json", on_import=seen.append)
    assert lazy.dumps({"a": 1}) == '{"a": 1}' and lazy.loads("[1]") == [1]
    import json

    assert seen == [json] and resolve(lazy) is json and "dumps" in dir(lazy)


def test_registry_rows_name_their_adapter_module_lazily():
    from integrations import LazyModule

    spec = registry.get_spec("keras")
    assert isinstance(spec.adapter_module, LazyModule) and spec.adapter_module is spec.adapter_module
    # The Lightning row answers to the module's and the extra's name too.
    assert registry.get_spec("lightning") is registry.get_spec("pytorch_lightning")


# ---- the hub facade -----------------------------------------------------------------------------
def test_get_config_and_get_stats_of_the_facade(logdir):
    first = main.init("plain_test", project="facade", config={"lr": 0.1}, logdir=str(logdir))
    second = main.init("plain_test", project="facade", config={"lr": 0.2}, logdir=str(logdir))
    main.log({"loss": 1.0}, step=0)
    assert main.get_config()["lr"] == 0.2 and main.get_config(first)["lr"] == 0.1
    assert main.get_config("plain_test")["framework"]["name"] == "plain_test"
    stats = main.get_stats()
    assert set(stats) == {"plain_test#0", "plain_test#1"}
    assert stats["plain_test#0"]["records_sent"] == 1 and stats["plain_test#1"]["degraded_calls"] == 0
    assert errors.get_integration_error_stats()["integrations"] == stats
    second.finish()
    assert set(main.get_stats()) == {"plain_test#0"}
    main.finish()
    assert main.get_config() == {} and main.get_stats() == {}


def test_init_docstring_says_what_is_imported_when():
    doc = main.init.__doc__
    assert "imported now, not before" not in doc and "without importing" in doc


# ---- graceful degradation on the hub path ----------------------------------------------------------
def _uncreatable(tmp_path) -> str:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    return str(blocker / "logs")  # a directory below a regular file cannot be made


def test_hub_path_degrades_instead_of_raising(tmp_path, caplog):
    errors.reset_error_stats()
    with caplog.at_level("WARNING", logger="seetrain"):
        with main.with_integration("plain_test", project="p", logdir=_uncreatable(tmp_path)) as integration:
            integration.log({"loss": 1.0}, step=0)  # training goes on
            integration.get_callback()({"loss": 2.0})
            stats = integration.get_stats()
            global_stats = errors.get_integration_error_stats()
    assert stats["enabled"] is False and stats["records_sent"] == 0
    assert stats["degraded_calls"] == 1 and stats["errors"] == {"NotADirectoryError": 1}
    assert global_stats["global"]["degraded_calls"] == 1
    assert list(global_stats["integrations"].values()) == [stats]
    warnings = [r for r in caplog.records if "NotADirectoryError" in r.getMessage()]
    assert len(warnings) == 1 and "logging is off" in warnings[0].getMessage()


def test_a_run_passed_in_is_flushed_not_finished_by_the_integration(logdir):
    run = seetrain.init(project="own", logdir=str(logdir), reinit="create_new")
    integration = main.init("plain_test", run=run)
    integration.log({"x": 1.0}, step=0)
    integration.finish()
    assert not run.finished
    (view,) = seetrain.Api(logdir).runs("own")
    assert [v for _, _, v in view.scalars("x")] == [1.0]  # on disk although the run is open
    run.finish()
