"""System monitor: a daemon thread that samples CPU, memory, disk, network and GPUs.

Values are logged as ``sys/...`` metrics through ``Run.log_side``: each metric's step is the
monitor's own sample index (0, 1, 2 ...), and the user's step counter is never read, advanced or
disturbed. Plot them against the timestamp.

Inside a container the CPU and memory figures follow the cgroup (v1 or v2) limits when there are
any. GPUs are read through NVML (``nvidia-ml-py``) when a driver is present; without one the
monitor says so once (info level) and goes on with the rest.
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from typing import Any

from seetrain._exit import background_thread
from seetrain._settings import default, setting

log = logging.getLogger("seetrain.system_monitor")

DEFAULT_INTERVAL = default("SEETRAIN_MONITOR_INTERVAL")
MIN_INTERVAL = 0.01
_MB = 1024.0 * 1024.0
_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a huge number near 2**63
_CG = "/sys/fs/cgroup"
_said_no_gpu = False


# ---- cgroup (v2 first, then v1) -------------------------------------------------------------
def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.read().strip()
    except OSError:
        return None


class Cgroup:
    """CPU quota, CPU usage and memory limit/usage of the cgroup this process lives in."""

    def __init__(self, root: str = _CG) -> None:
        self.root = root
        self.version = 2 if os.path.isfile(os.path.join(root, "cgroup.controllers")) else (
            1 if os.path.isdir(os.path.join(root, "cpu")) or os.path.isdir(os.path.join(root, "memory"))
            else 0)

    def _p(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def cpu_quota(self) -> float | None:
        """CPUs granted by the quota, or None when unlimited / unknown."""
        if self.version == 2:
            text = _read(self._p("cpu.max"))
            if text:
                quota, _, period = text.partition(" ")
                if quota != "max" and period:
                    return int(quota) / int(period)
            return None
        if self.version == 1:
            quota_us = _read(self._p("cpu", "cpu.cfs_quota_us"))
            period_us = _read(self._p("cpu", "cpu.cfs_period_us"))
            if quota_us and period_us and int(quota_us) > 0 and int(period_us) > 0:
                return int(quota_us) / int(period_us)
        return None

    def cpu_usage_seconds(self) -> float | None:
        """Total CPU time used by the cgroup so far."""
        if self.version == 2:
            text = _read(self._p("cpu.stat"))
            for line in (text or "").splitlines():
                name, _, value = line.partition(" ")
                if name == "usage_usec":
                    return int(value) / 1e6
            return None
        if self.version == 1:
            for sub in ("cpuacct", "cpu,cpuacct", "cpu"):
                text = _read(self._p(sub, "cpuacct.usage"))
                if text:
                    return int(text) / 1e9
        return None

    def memory(self) -> tuple[float | None, float | None]:
        """(used bytes, limit bytes); the limit is None when unlimited."""
        if self.version == 2:
            used, limit = _read(self._p("memory.current")), _read(self._p("memory.max"))
        elif self.version == 1:
            used = _read(self._p("memory", "memory.usage_in_bytes"))
            limit = _read(self._p("memory", "memory.limit_in_bytes"))
        else:
            return None, None
        used_b = float(used) if used and used.isdigit() else None
        limit_b = float(limit) if limit and limit.isdigit() and int(limit) < _UNLIMITED else None
        return used_b, limit_b


# ---- GPUs through NVML ------------------------------------------------------------------------
class Gpus:
    """Per-GPU utilisation, memory, temperature and power; empty when NVML is unavailable."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.nvml: Any = None
        self.reason: str | None = None
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self.nvml = pynvml
        except ImportError:
            self.reason = "nvidia-ml-py is not installed"
        except Exception as exc:  # noqa: BLE001 - NVMLError subclasses: no driver, no device
            self.reason = f"NVML unavailable ({exc})"
        if not self.handles and self.reason is None:
            self.reason = "no GPU found by NVML"

    def describe(self) -> list[dict[str, Any]]:
        out = []
        for i, h in enumerate(self.handles):
            info: dict[str, Any] = {"index": i}
            info["name"] = self._call(self.nvml.nvmlDeviceGetName, h)
            mem = self._call(self.nvml.nvmlDeviceGetMemoryInfo, h)
            if mem is not None:
                info["memory_total_mb"] = round(mem.total / _MB, 1)
            out.append(info)
        if self.nvml is not None:
            driver = self._call(self.nvml.nvmlSystemGetDriverVersion)
            for info in out:
                info["driver"] = driver
        return out

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            value = fn(*args)
        except Exception:  # noqa: BLE001 - a field this GPU does not support is left out
            return None
        return value.decode() if isinstance(value, bytes) else value

    def sample(self, out: dict[str, float]) -> None:
        nv = self.nvml
        for i, h in enumerate(self.handles):
            prefix = f"sys/gpu/{i}/"
            util = self._call(nv.nvmlDeviceGetUtilizationRates, h)
            if util is not None:
                out[prefix + "utilization"] = float(util.gpu)
                out[prefix + "memory_utilization"] = float(util.memory)
            mem = self._call(nv.nvmlDeviceGetMemoryInfo, h)
            if mem is not None and mem.total:
                out[prefix + "memory_used_mb"] = mem.used / _MB
                out[prefix + "memory_percent"] = 100.0 * mem.used / mem.total
            temp = self._call(nv.nvmlDeviceGetTemperature, h, getattr(nv, "NVML_TEMPERATURE_GPU", 0))
            if temp is not None:
                out[prefix + "temperature_c"] = float(temp)
            power = self._call(nv.nvmlDeviceGetPowerUsage, h)
            if power is not None:
                out[prefix + "power_w"] = power / 1000.0

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception as exc:  # noqa: BLE001
                log.debug("seetrain: nvmlShutdown failed: %s", exc)


# ---- the sampler ----------------------------------------------------------------------------
def _cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


class Sampler:
    """Turns counters into rates and percentages between two calls of :meth:`sample`."""

    def __init__(self, disk_path: str | None = None) -> None:
        import psutil

        self.psutil = psutil
        self.process = psutil.Process()
        self.cgroup = Cgroup()
        self.gpus = Gpus()
        self.disk_path = disk_path
        self.quota = self.cgroup.cpu_quota()
        try:
            affinity = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            affinity = psutil.cpu_count() or 1
        # The CPUs this process may use: the cgroup quota if any, else its affinity mask.
        self.cpus = min(self.quota, affinity) if self.quota else float(affinity)
        self._last_t = time.monotonic()
        self._last_cg = self.cgroup.cpu_usage_seconds()
        self._last_disk = self._disk_counters()
        self._last_net = self._net_counters()
        psutil.cpu_percent(None)  # prime: the next call reports usage since now
        self.process.cpu_percent(None)

    def _disk_counters(self) -> Any:
        try:
            return self.psutil.disk_io_counters()
        except (OSError, RuntimeError):
            return None

    def _net_counters(self) -> Any:
        try:
            return self.psutil.net_io_counters()
        except (OSError, RuntimeError):
            return None

    def hardware(self) -> dict[str, Any]:
        ps = self.psutil
        cg_used, cg_limit = self.cgroup.memory()
        info: dict[str, Any] = {
            "cpu_model": _cpu_model(), "cpu_cores_logical": ps.cpu_count(),
            "cpu_cores_physical": ps.cpu_count(logical=False), "cpus_available": self.cpus,
            "cgroup_version": self.cgroup.version or None, "cgroup_cpu_quota": self.quota,
            "memory_total_mb": round(ps.virtual_memory().total / _MB, 1),
            "memory_limit_mb": round(cg_limit / _MB, 1) if cg_limit else None,
            "gpus": self.gpus.describe(), "gpu_count": len(self.gpus.handles),
        }
        if not self.gpus.handles:
            info["gpu_note"] = self.gpus.reason
        return info

    def sample(self) -> dict[str, float]:
        ps = self.psutil
        now = time.monotonic()
        elapsed = max(now - self._last_t, 1e-6)
        self._last_t = now
        out: dict[str, float] = {}
        host_cpu = ps.cpu_percent(None)
        out["sys/host/cpu_percent"] = host_cpu
        cg = self.cgroup.cpu_usage_seconds()
        if cg is not None and self._last_cg is not None:
            # Share of the CPUs this container may use, 0-100, like `docker stats` divided by the quota.
            out["sys/cpu_percent"] = 100.0 * (cg - self._last_cg) / (elapsed * self.cpus)
        else:
            out["sys/cpu_percent"] = host_cpu
        self._last_cg = cg
        try:
            with self.process.oneshot():
                out["sys/proc/cpu_percent"] = self.process.cpu_percent(None)
                out["sys/proc/memory_rss_mb"] = self.process.memory_info().rss / _MB
                out["sys/proc/threads"] = float(self.process.num_threads())
        except ps.Error as exc:
            log.debug("seetrain: process metrics unavailable: %s", exc)
        vm = ps.virtual_memory()
        out["sys/host/memory_percent"] = vm.percent
        cg_used, cg_limit = self.cgroup.memory()
        if cg_used is not None and cg_limit:
            out["sys/memory_used_mb"] = cg_used / _MB
            out["sys/memory_percent"] = 100.0 * cg_used / cg_limit
        else:
            out["sys/memory_used_mb"] = (vm.total - vm.available) / _MB
            out["sys/memory_percent"] = vm.percent
        disk = self._disk_counters()
        if disk is not None and self._last_disk is not None:
            out["sys/disk/read_mb_s"] = (disk.read_bytes - self._last_disk.read_bytes) / _MB / elapsed
            out["sys/disk/write_mb_s"] = (disk.write_bytes - self._last_disk.write_bytes) / _MB / elapsed
        self._last_disk = disk
        if self.disk_path:
            try:
                out["sys/disk/used_percent"] = ps.disk_usage(self.disk_path).percent
            except OSError as exc:
                log.debug("seetrain: disk usage unavailable: %s", exc)
        net = self._net_counters()
        if net is not None and self._last_net is not None:
            out["sys/net/recv_mb_s"] = (net.bytes_recv - self._last_net.bytes_recv) / _MB / elapsed
            out["sys/net/sent_mb_s"] = (net.bytes_sent - self._last_net.bytes_sent) / _MB / elapsed
        self._last_net = net
        self.gpus.sample(out)
        return out

    def close(self) -> None:
        self.gpus.close()


class SystemMonitor:
    """The background thread. Started by ``init``; stopped by the run's ``finish``."""

    def __init__(self, run: Any, interval: float) -> None:
        self.run = run
        self.interval = max(float(interval), MIN_INTERVAL)
        self.samples = 0
        self.errors = 0
        self._stop = threading.Event()
        # A resumed run continues its sample index instead of writing over old steps.
        last = run.summary.get("sys/cpu_percent", {}).get("step")
        self._index = int(last) + 1 if last is not None else 0
        self._thread = background_thread(self._loop, "seetrain-sysmon")

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        try:
            sampler = Sampler(disk_path=getattr(self.run, "dir", None))
        except Exception:  # noqa: BLE001 - no psutil or no /proc: the run goes on unmonitored
            log.warning("seetrain: system monitor could not start", exc_info=True)
            return
        try:
            hardware = sampler.hardware()
            global _said_no_gpu
            if not sampler.gpus.handles and not _said_no_gpu:
                _said_no_gpu = True  # once per process, not once per run
                log.info("seetrain: no GPU metrics: %s", sampler.gpus.reason)
            self.run.set_metadata(hardware=hardware)
            while not self._stop.wait(self.interval):
                self._sample(sampler)
            self._sample(sampler)  # a last point, so even a short run has one
        finally:
            sampler.close()

    def _sample(self, sampler: Sampler) -> None:
        try:
            values = sampler.sample()
        except Exception:  # noqa: BLE001 - counted; logged once
            self.errors += 1
            if self.errors == 1:
                log.warning("seetrain: system metrics sampling failed", exc_info=True)
            return
        # The sample index is the step: Run.log_side never touches the user's step counter.
        self.run.log_side({k: v for k, v in values.items() if v == v}, self._index)
        self._index += 1
        self.samples += 1

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)


def start_system_monitor(run: Any, interval: float | None = None) -> SystemMonitor | None:
    """Start sampling for ``run`` every ``interval`` seconds (default ``$SEETRAIN_MONITOR_INTERVAL``
    or 2 s). Returns the monitor; it stops itself when the run finishes."""
    if interval is None:
        interval = setting("SEETRAIN_MONITOR_INTERVAL")
    if getattr(run, "_writer", None) is None:  # a disabled run
        return None
    monitor = SystemMonitor(run, interval)
    run.on_finish(lambda _run: monitor.stop())
    run._system_monitor = monitor
    monitor.start()
    return monitor
