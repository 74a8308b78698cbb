"""Interruptions and a dead stage end in one line, not a traceback (issue 17, item 4)."""

import io
import pickle
import signal

from latentlab.cli import run_stage


def test_ctrl_c_in_a_stage_is_one_line_and_the_shells_exit_code(capsys):
    def main(argv):
        raise KeyboardInterrupt

    assert run_stage(main) == 128 + signal.SIGINT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: interrupted (Ctrl-C)")
    assert "Traceback" not in err


class DeadPipe(io.BytesIO):
    """The stage's end of the reply pipe after the stage was killed."""

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_the_tracking_worker_outlives_a_killed_stage_quietly(monkeypatch, capsys):
    from latentlab.tracking import worker

    monkeypatch.setattr(worker, "open_client", lambda: (_ for _ in ()).throw(
        RuntimeError("no store in this test")))
    inbox = io.BytesIO(pickle.dumps(("open", {"name": "s", "params": {}, "tags": {}})))
    # the opening fails, the worker replies "error" into a dead pipe, stdin ends: no traceback
    assert worker.serve(inbox, DeadPipe()) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_a_reader_that_stops_early_ends_the_command_quietly():
    """`rerun_status --json | head -1`: exit 141 as for SIGPIPE, no BrokenPipe traceback."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    script = ("import sys; from latentlab.pipeline.stdout import emit; "
              "sys.exit(emit('{\\n' + 'x' * 200000))")
    done = subprocess.run([sys.executable, "-c", script], stdout=write_end,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    os.close(write_end)
    assert done.returncode == 128 + signal.SIGPIPE
    assert done.stderr == ""
