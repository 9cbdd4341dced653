from __future__ import annotations

import threading
import time

import seetrain
from seetrain.insight.system_monitor import Cgroup, Gpus


def _monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "seetrain-sysmon"]


def _wait_for_samples(run, n: int, timeout: float = 10.0) -> None:
    # Waits for the background thread to have produced n samples; no assertion on timing.
    deadline = time.monotonic() + timeout
    while run._system_monitor.samples < n and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sys_metrics_are_logged_and_read_back(logdir):
    run = seetrain.init(project="p", logdir=str(logdir), system_monitor=True, monitor_interval=0.05)
    _wait_for_samples(run, 3)
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    cpu = view.scalars("sys/cpu_percent")
    assert len(cpu) >= 3
    assert all(0.0 <= v <= 100.0 * 4 for _, _, v in cpu)
    assert [s for s, _, _ in cpu] == list(range(len(cpu)))  # its own sample index as step
    rss = view.scalars("sys/proc/memory_rss_mb")
    assert rss and all(v > 1.0 for _, _, v in rss)
    used = view.scalars("sys/memory_used_mb")
    assert used and used[-1][2] > 0
    assert 0 < view.summary["sys/memory_percent"]["last"] <= 100
    hardware = view.metadata["hardware"]
    assert hardware["cpu_cores_logical"] >= 1 and hardware["memory_total_mb"] > 0
    assert hardware["cpu_model"]
    assert not _monitor_threads()


def test_user_steps_are_not_disturbed(logdir):
    run = seetrain.init(project="p", logdir=str(logdir), system_monitor=True, monitor_interval=0.02)
    for i in range(5):
        _wait_for_samples(run, 2 * (i + 1))
        seetrain.log({"loss": float(i)})
    assert run.step == 5
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [s for s, _, _ in view.scalars("loss")] == [0, 1, 2, 3, 4]
    assert len(view.scalars("sys/cpu_percent")) >= 10


def test_no_gpu_is_reported_not_raised(logdir):
    gpus = Gpus()
    try:
        sample: dict[str, float] = {}
        gpus.sample(sample)
        if not gpus.handles:  # this machine: NVML missing or no device
            assert gpus.reason and sample == {}
            run = seetrain.init(project="p", logdir=str(logdir), system_monitor=True,
                                monitor_interval=0.05)
            _wait_for_samples(run, 1)
            run.finish()
            hardware = seetrain.Api(logdir).run(run.id).metadata["hardware"]
            assert hardware["gpu_count"] == 0 and hardware["gpu_note"]
        else:
            assert any(k.startswith("sys/gpu/0/") for k in sample)
    finally:
        gpus.close()


def test_cgroup_v2_files_are_read(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    (tmp_path / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (tmp_path / "memory.current").write_text(str(512 * 1024 * 1024))
    (tmp_path / "memory.max").write_text(str(2 * 1024 * 1024 * 1024))
    cg = Cgroup(str(tmp_path))
    assert cg.version == 2
    assert cg.cpu_quota() == 1.5
    assert cg.cpu_usage_seconds() == 2.5
    assert cg.memory() == (512 * 1024 * 1024, 2 * 1024 * 1024 * 1024)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    (tmp_path / "memory.max").write_text("max\n")
    assert cg.cpu_quota() is None and cg.memory()[1] is None


def test_cgroup_v1_files_are_read(tmp_path):
    for sub in ("cpu", "cpuacct", "memory"):
        (tmp_path / sub).mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("200000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    (tmp_path / "cpuacct" / "cpuacct.usage").write_text("3000000000\n")
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text("1048576\n")
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    cg = Cgroup(str(tmp_path))
    assert cg.version == 1
    assert cg.cpu_quota() == 2.0
    assert cg.cpu_usage_seconds() == 3.0
    assert cg.memory() == (1048576, None)  # "unlimited" is a huge number in v1


def test_switched_off_by_argument_and_env(logdir, monkeypatch):
    run = seetrain.init(project="p", logdir=str(logdir), system_monitor=False)
    run.log({"a": 1})
    run.finish()
    monkeypatch.setenv("SEETRAIN_SYSTEM_MONITOR", "0")
    other = seetrain.init(project="p", logdir=str(logdir))
    other.finish()
    for ref in (run.id, other.id):
        view = seetrain.Api(logdir).run(ref)
        assert not [k for k in view.keys() if k.startswith("sys/")]
        assert "hardware" not in view.metadata


def test_several_runs_each_get_their_monitor(logdir):
    a = seetrain.init(project="p", logdir=str(logdir), system_monitor=True, monitor_interval=0.05)
    b = seetrain.init(project="p", logdir=str(logdir), system_monitor=True, monitor_interval=0.05,
                      reinit="create_new")
    _wait_for_samples(a, 2)
    _wait_for_samples(b, 2)
    assert len(_monitor_threads()) == 2
    a.finish()
    b.finish()
    assert not _monitor_threads()
    api = seetrain.Api(logdir)
    assert all(len(api.run(r.id).scalars("sys/cpu_percent")) >= 2 for r in (a, b))
