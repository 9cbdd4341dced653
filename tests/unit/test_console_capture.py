from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import textwrap

import seetrain
from seetrain.insight.console import capturing_runs

SCRIPT = textwrap.dedent("""
    import logging, sys
    import seetrain

    run = seetrain.init(project="p", logdir=sys.argv[1], capture_console=True, system_monitor=False)
    print("hello from the child", 42)
    print("to stderr", file=sys.stderr)
    sys.stdout.write("progress 10%\\rprogress 50%\\rprogress 100%\\n")
    logging.getLogger("child").warning("a logging warning")
    quiet = logging.getLogger("filed")
    quiet.propagate = False
    quiet.addHandler(logging.FileHandler(sys.argv[2]))
    quiet.error("only in a file")
    sys.stdout.write("no newline at the end")
    run.finish()
    print("after finish")
    print(run.id)
""")


def _lines(logdir, run_id):
    return [(r["stream"], r["line"]) for r in seetrain.Api(logdir).run(run_id).console()]


def test_subprocess_output_is_stored_and_still_printed(logdir, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(logdir), str(tmp_path / "f.log")],
                          capture_output=True, text=True, timeout=60, check=True)
    out_lines = proc.stdout.splitlines()
    assert "hello from the child 42" in out_lines  # still printed as usual
    assert "to stderr" in proc.stderr and "a logging warning" in proc.stderr
    run_id = out_lines[-1]
    lines = _lines(logdir, run_id)
    assert ("stdout", "hello from the child 42") in lines
    assert ("stderr", "to stderr") in lines
    assert ("stdout", "progress 100%") in lines  # a redrawn line keeps its final state
    assert ("stderr", "a logging warning") in lines  # printed by logging's last-resort handler
    assert ("logging", "ERROR filed: only in a file") in lines  # not printed, stored as a record
    assert ("stdout", "no newline at the end") in lines
    assert not any("after finish" in line for _, line in lines)
    rows = seetrain.Api(logdir).run(run_id).console()
    assert all(r["timestamp"] > 0 for r in rows)
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)


def test_in_process_capture_with_pytest_capture_and_restore(logdir, capsys):
    before_out, before_err = sys.stdout, sys.stderr
    run = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
    assert sys.stdout is not before_out and isinstance(sys.stdout, type(before_out))
    print("line one")
    print("line two", file=sys.stderr)
    run.finish()
    assert sys.stdout is before_out and sys.stderr is before_err
    captured = capsys.readouterr()
    assert "line one" in captured.out and "line two" in captured.err
    assert _lines(logdir, run.id) == [("stdout", "line one"), ("stderr", "line two")]
    assert capturing_runs() == []


def test_several_runs_share_the_console(logdir):
    a = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
    b = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False,
                      reinit="create_new")
    print("both see this")
    a.finish()
    print("only b sees this")
    b.finish()
    print("nobody stores this")
    assert _lines(logdir, a.id) == [("stdout", "both see this")]
    assert _lines(logdir, b.id) == [("stdout", "both see this"), ("stdout", "only b sees this")]


def test_size_limit_stores_a_counted_notice(logdir, monkeypatch):
    monkeypatch.setenv("SEETRAIN_CONSOLE_MAX_LINES", "5")
    run = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
    for i in range(20):
        print(f"line {i}")
    run.finish()
    lines = _lines(logdir, run.id)
    assert [ln for s, ln in lines if s == "stdout"] == [f"line {i}" for i in range(5)]
    notices = [ln for s, ln in lines if s == "stderr"]
    assert any("limit reached" in n for n in notices)
    assert any(n.startswith("[seetrain] 15 console lines") for n in notices)
    stats = seetrain.Api(logdir).run(run.id).stats
    assert stats["console_lines"] == 5 and stats["console_dropped_lines"] == 15


def test_logging_records_without_terminal_handler(logdir):
    logger = logging.getLogger("seetrain_test_quiet")
    logger.propagate = False
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        run = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
        logger.warning("kept %d", 7)
        logger.debug("below the level: not stored")
        run.finish()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert _lines(logdir, run.id) == [("logging", "WARNING seetrain_test_quiet: kept 7")]
    assert logging.getLogRecordFactory() is logging.LogRecord


def test_switched_off(logdir):
    before = sys.stdout
    run = seetrain.init(project="p", logdir=str(logdir), capture_console=False, system_monitor=False)
    assert sys.stdout is before
    print("not stored")
    run.finish()
    assert _lines(logdir, run.id) == []


def test_stream_replaced_by_someone_else_is_left_alone(logdir, capsys):
    before = sys.stdout
    run = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        print("into the buffer")
        run.finish()  # finishing while redirected: the redirect stays in place
        assert sys.stdout is buffer
    # redirect_stdout puts back the (now inactive) tee: it passes writes through, stores nothing.
    print("after")
    assert "after" in capsys.readouterr().out
    assert buffer.getvalue() == "into the buffer\n"
    assert _lines(logdir, run.id) == []
    sys.stdout = before


def test_handler_made_before_init_is_stored_as_printed(logdir, capsys):
    logger = logging.getLogger("seetrain_test_early")
    handler = logging.StreamHandler(sys.stderr)  # holds the real stream, not the tee
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        run = seetrain.init(project="p", logdir=str(logdir), capture_console=True, system_monitor=False)
        logger.error("disk %s full", "/tmp")
        run.finish()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert "[ERROR] disk /tmp full" in capsys.readouterr().err
    assert _lines(logdir, run.id) == [("stderr", "[ERROR] disk /tmp full")]
