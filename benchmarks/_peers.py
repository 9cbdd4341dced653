"""One small adapter per tracker behind a common interface, for side-by-side benchmarks.

Each adapter uses the tracker's normal public API in its local/offline mode and keeps every file
under the tmp dir it is given. ``available()`` lists the ones importable here; nothing is
imported until ``setup``. ``points_read_back`` counts what the tracker's own reader (or its file
format, where it ships no reader) gives back, and returns None where there is no practical way.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import queue
import sqlite3
import struct
from typing import Any

# Environment every tracker process gets: no telemetry, no network, no files outside tmp.
QUIET_ENV = {
    "WANDB_MODE": "offline",
    "WANDB_SILENT": "true",
    "WANDB_CONSOLE": "off",
    "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "MLFLOW_ALLOW_FILE_STORE": "true",  # mlflow 3.x keeps the file store behind this opt-in
    "DO_NOT_TRACK": "1",
    "DISABLE_TELEMETRY": "1",
    "HF_HUB_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TRACKIO_SHOW_DASHBOARD": "false",
    "SWANLAB_MODE": "offline",
    "AIM_UI_TELEMETRY_ENABLED": "0",
    "SEETRAIN_SYSTEM_MONITOR": "0",
    "SEETRAIN_CAPTURE_CONSOLE": "0",
}


def tmp_env(tmpdir: str) -> dict[str, str]:
    """Per-process directories of the trackers that otherwise write under $HOME."""
    return {
        "WANDB_DIR": tmpdir,
        "WANDB_CACHE_DIR": os.path.join(tmpdir, ".wandb-cache"),
        "WANDB_CONFIG_DIR": os.path.join(tmpdir, ".wandb-config"),
        "WANDB_DATA_DIR": os.path.join(tmpdir, ".wandb-data"),
        "TRACKIO_DIR": os.path.join(tmpdir, "trackio"),
        "HF_HOME": os.path.join(tmpdir, ".hf"),
        "SWANLAB_SAVE_DIR": os.path.join(tmpdir, ".swanlab"),
        "SWANLAB_LOG_DIR": os.path.join(tmpdir, "swanlog"),
        "MPLCONFIGDIR": os.path.join(tmpdir, ".mpl"),
    }


class Tracker:
    """Common interface: ``setup(tmpdir)``, ``log(step, dict)``, ``log_image``, ``finish``."""

    name = "tracker"
    module = ""  # importable module that decides availability
    has_reader = True  # False where points_read_back() can only say None

    def available(self) -> bool:
        return not self.module or importlib.util.find_spec(self.module) is not None

    def attach(self, tmpdir: str) -> None:
        """Point at ``tmpdir`` without starting anything (readers use this after a SIGKILL)."""
        self.tmpdir = tmpdir

    def setup(self, tmpdir: str) -> None:
        self.attach(tmpdir)

    def log(self, step: int, data: dict[str, float]) -> None:
        raise NotImplementedError

    def log_image(self, step: int, key: str, image: Any) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Flush and close; the benchmark times this call."""

    def points_read_back(self) -> int | None:
        """Scalar points the tracker's reader finds (after ``finish`` or in a later process)."""
        return None

    def images_read_back(self) -> int | None:
        return None


class QueueFloor(Tracker):
    """The floor: a bare ``queue.Queue.put`` of what was passed, nothing else."""

    name = "queue.put (floor)"

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        self.q: queue.Queue[Any] = queue.Queue()
        self._put = self.q.put

    def log(self, step: int, data: dict[str, float]) -> None:
        self._put((step, data))

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._put((step, {key: image}))

    def points_read_back(self) -> int | None:
        return sum(len(d) for _, d in list(self.q.queue) if not _has_array(d))

    def images_read_back(self) -> int | None:
        return sum(1 for _, d in list(self.q.queue) if _has_array(d))


def _has_array(d: dict[str, Any]) -> bool:
    return any(hasattr(v, "shape") for v in d.values())


class SeeTrain(Tracker):
    name = "seetrain"
    module = "seetrain"

    def attach(self, tmpdir: str) -> None:
        super().attach(tmpdir)
        self.logdir = os.path.join(tmpdir, "seetrain")

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import seetrain

        self.st = seetrain
        self.run = seetrain.init(project="bench", logdir=self.logdir, system_monitor=False,
                                 capture_console=False)
        self._log = seetrain.log

    def log(self, step: int, data: dict[str, float]) -> None:
        self._log(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._log({key: self.st.Image(image)}, step=step)

    def finish(self) -> None:
        self.st.finish()

    def _view(self) -> Any:
        import seetrain

        runs = seetrain.Api(self.logdir).runs("bench")
        return runs[-1] if runs else None

    def points_read_back(self) -> int | None:
        view = self._view()
        return 0 if view is None else view.point_count()

    def images_read_back(self) -> int | None:
        view = self._view()
        return 0 if view is None else len(view.media(kind="image"))


class WandbOffline(Tracker):
    name = "wandb (offline)"
    module = "wandb"

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project="bench", mode="offline", dir=tmpdir,
                              settings=wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                                      disable_git=True, save_code=False))
        self._log = self.run.log

    def log(self, step: int, data: dict[str, float]) -> None:
        self._log(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._log({key: self.wandb.Image(image)}, step=step)

    def finish(self) -> None:
        self.run.finish()

    def _records(self) -> list[list[Any]]:
        files = glob.glob(os.path.join(self.tmpdir, "wandb", "offline-run-*", "run-*.wandb"))
        return [record for path in files for record in _wandb_history(path)]

    def points_read_back(self) -> int | None:
        total = 0
        for items in self._records():
            # Media are flattened into "<key>/_type", "<key>/width" ...: not scalar points.
            media = {it.key.rsplit("/", 1)[0] for it in items if it.key.endswith("/_type")}
            total += sum(1 for it in items if not it.key.startswith("_") and _is_number_json(it.value_json)
                         and it.key.rsplit("/", 1)[0] not in media)
        return total

    def images_read_back(self) -> int | None:
        return sum(1 for items in self._records() for it in items
                   if it.key.endswith("/_type") and it.value_json == '"image-file"')


def _is_number_json(text: str) -> bool:
    try:
        value = json.loads(text)
    except ValueError:
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wandb_history(path: str) -> list[list[Any]]:
    """Read a ``.wandb`` transaction log (LevelDB log format: 32 KiB blocks of CRC-framed
    chunks after a 7-byte ':W&B' header); W&B ships no Python reader for it any more."""
    from wandb.proto import wandb_internal_pb2

    block = 32768
    with open(path, "rb") as fh:
        raw = fh.read()
    records: list[list[Any]] = []
    pos, pending = 7, b""
    while pos + 7 <= len(raw):
        left = block - pos % block
        if left < 7:  # block trailer padding
            pos += left
            continue
        _crc, length, kind = struct.unpack_from("<IHB", raw, pos)
        chunk = raw[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):  # FULL or LAST: one whole record
            record = wandb_internal_pb2.Record()
            try:
                record.ParseFromString(pending)
            except Exception:  # noqa: BLE001 - a torn tail after SIGKILL ends the log
                break
            if record.WhichOneof("record_type") == "history":
                items = list(record.history.item)
                for item in items:  # recent versions write nested_key instead of key
                    if not item.key and item.nested_key:
                        item.key = "/".join(item.nested_key)
                records.append(items)
            pending = b""
    return records


class _MLflow(Tracker):
    module = "mlflow"
    uri_kind = "file"

    def attach(self, tmpdir: str) -> None:
        super().attach(tmpdir)
        if self.uri_kind == "file":
            self.uri = "file:" + os.path.join(tmpdir, "mlruns")
        else:
            self.uri = "sqlite:///" + os.path.join(tmpdir, "mlflow.db")

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_experiment("bench")
        self.run = mlflow.start_run()
        self._log = mlflow.log_metrics

    def log(self, step: int, data: dict[str, float]) -> None:
        self._log(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self.mlflow.log_image(image, key=key, step=step)

    def finish(self) -> None:
        self.mlflow.end_run()

    def points_read_back(self) -> int | None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(self.uri)
        experiment = client.get_experiment_by_name("bench")
        if experiment is None:
            return 0
        total = 0
        for run in client.search_runs([experiment.experiment_id]):
            total += sum(len(client.get_metric_history(run.info.run_id, key)) for key in run.data.metrics)
        return total

    def images_read_back(self) -> int | None:
        # log_image(key=, step=) stores each step's image (plus a thumbnail) under images/.
        root = os.path.join(self.tmpdir, "mlruns") if self.uri_kind == "file" else self.tmpdir
        return len([p for p in glob.glob(os.path.join(root, "**", "images", "*.png"), recursive=True)
                    if "compressed" not in os.path.basename(p)])


class MLflowFile(_MLflow):
    name = "mlflow (file)"
    uri_kind = "file"


class MLflowSqlite(_MLflow):
    name = "mlflow (sqlite)"
    uri_kind = "sqlite"


class TensorBoardX(Tracker):
    name = "tensorboardX"
    module = "tensorboardX"

    def attach(self, tmpdir: str) -> None:
        super().attach(tmpdir)
        self.logdir = os.path.join(tmpdir, "tb")

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(logdir=self.logdir)
        self._add = self.writer.add_scalar

    def log(self, step: int, data: dict[str, float]) -> None:
        add = self._add
        for key, value in data.items():
            add(key, value, step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self.writer.add_image(key, image, step, dataformats="HWC")

    def finish(self) -> None:
        self.writer.close()

    def _values(self) -> list[Any]:
        from tensorboardX.proto import event_pb2

        out: list[Any] = []
        for path in glob.glob(os.path.join(self.logdir, "**", "events.out.tfevents.*"), recursive=True):
            with open(path, "rb") as fh:
                raw = fh.read()
            pos = 0
            # TFRecord framing: u64 length, u32 crc, payload, u32 crc.
            while pos + 12 <= len(raw):
                (length,) = struct.unpack_from("<Q", raw, pos)
                payload = raw[pos + 12:pos + 12 + length]
                if len(payload) < length:
                    break  # torn tail after SIGKILL
                pos += 12 + length + 4
                event = event_pb2.Event.FromString(payload)
                if event.HasField("summary"):
                    out.extend(event.summary.value)
        return out

    def points_read_back(self) -> int | None:
        return sum(1 for v in self._values() if v.WhichOneof("value") == "simple_value")

    def images_read_back(self) -> int | None:
        return sum(1 for v in self._values() if v.WhichOneof("value") == "image")


class Trackio(Tracker):
    name = "trackio"
    module = "trackio"

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import trackio

        self.trackio = trackio
        self.run = trackio.init(project="bench", embed=False, auto_log_cpu=False, auto_log_gpu=False)
        self._log = trackio.log

    def log(self, step: int, data: dict[str, float]) -> None:
        self._log(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._log({key: self.trackio.Image(image)}, step=step)

    def finish(self) -> None:
        self.trackio.finish()

    def _rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for path in glob.glob(os.path.join(self.tmpdir, "trackio", "*.db")):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows.extend(json.loads(r[0]) for r in conn.execute("SELECT metrics FROM metrics"))
            except sqlite3.OperationalError:
                continue
            finally:
                conn.close()
        return rows

    def points_read_back(self) -> int | None:
        return sum(1 for row in self._rows() for v in row.values()
                   if isinstance(v, (int, float)) and not isinstance(v, bool))

    def images_read_back(self) -> int | None:
        return sum(1 for row in self._rows() for v in row.values() if isinstance(v, dict))


class SwanLab(Tracker):
    name = "swanlab (offline)"
    module = "swanlab"
    has_reader = False

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import swanlab

        self.swanlab = swanlab
        self.run = swanlab.init(project="bench", mode="offline", log_dir=os.path.join(tmpdir, "swanlog"))
        self._log = swanlab.log

    def log(self, step: int, data: dict[str, float]) -> None:
        self._log(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._log({key: self.swanlab.Image(image)}, step=step)

    def finish(self) -> None:
        self.swanlab.finish()


class Aim(Tracker):
    name = "aim"
    module = "aim"
    # Aim 3.29's reader (Repo.iter_runs, Run(hash, read_only=True).get_metric) gave back no
    # metrics of a closed run here, even in a fresh process, so read back is reported n/a.
    has_reader = False

    def attach(self, tmpdir: str) -> None:
        super().attach(tmpdir)
        self.repo = os.path.join(tmpdir, "aim")

    def setup(self, tmpdir: str) -> None:
        super().setup(tmpdir)
        import aim

        self.aim = aim
        os.makedirs(self.repo, exist_ok=True)
        aim.Repo.from_path(self.repo, init=True)
        self.run = aim.Run(repo=self.repo, experiment="bench", system_tracking_interval=None,
                           capture_terminal_logs=False)
        self._track = self.run.track

    def log(self, step: int, data: dict[str, float]) -> None:
        self._track(data, step=step)

    def log_image(self, step: int, key: str, image: Any) -> None:
        self._track(self.aim.Image(image), name=key, step=step)

    def finish(self) -> None:
        self.run.close()


# Order of the table rows: floor, SeeTrain, then the peers.
TRACKERS: dict[str, type[Tracker]] = {
    "queue": QueueFloor,
    "seetrain": SeeTrain,
    "wandb": WandbOffline,
    "mlflow-file": MLflowFile,
    "mlflow-sqlite": MLflowSqlite,
    "tensorboardx": TensorBoardX,
    "trackio": Trackio,
    "swanlab": SwanLab,
    "aim": Aim,
}
PEERS = [k for k in TRACKERS if k not in ("queue", "seetrain")]


def available() -> list[str]:
    """Tracker ids importable in this interpreter, in table order."""
    return [key for key, cls in TRACKERS.items() if cls().available()]
