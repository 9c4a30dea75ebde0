"""CSVRecorder: rows reach the file within ``flush_seconds``, whole, and a failed write loses or repeats none."""

import errno
import time

import pytest

from joyrl.logs import CSVRecorder, read_csv_rows


def wait_for(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the rows never reached the file"
        time.sleep(0.01)


def test_with_zero_each_row_is_in_the_file_when_write_returns(tmp_path):
    recorder = CSVRecorder(tmp_path / "res.csv", ["episode", "reward"])
    recorder.write({"episode": 1, "reward": 0.5})
    assert read_csv_rows(tmp_path / "res.csv") == [{"episode": "1", "reward": "0.5"}]
    recorder.close()


def test_rows_wait_at_most_flush_seconds(tmp_path):
    path = tmp_path / "res.csv"
    recorder = CSVRecorder(path, ["episode", "reward"], flush_seconds=0.2)
    started = time.monotonic()
    for episode in range(1, 4):
        recorder.write({"episode": episode, "reward": 1.0 / 3})
    assert path.read_bytes() == b""  # pending
    wait_for(lambda: len(read_csv_rows(path)) == 3)
    assert time.monotonic() - started >= 0.2
    recorder.write({"episode": 4, "reward": 2.0})
    recorder.flush()
    assert [row["episode"] for row in read_csv_rows(path)] == ["1", "2", "3", "4"]
    assert read_csv_rows(path)[0]["reward"] == "0.333333"
    recorder.write({"episode": 5})
    recorder.close()
    assert path.read_bytes().endswith(b"\r\n")
    assert [row["reward"] for row in read_csv_rows(path)][-2:] == ["2", ""]


class FailingOnce:
    """A file whose first write writes ``written`` bytes then raises ENOSPC, the next ones all."""

    def __init__(self, file, written: int) -> None:
        self.file, self.written, self.failed = file, written, False

    def write(self, data) -> int:
        if not self.failed:
            self.failed = True
            if self.written:
                return self.file.write(data[: self.written])
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(data)

    def close(self) -> None:
        self.file.close()


@pytest.mark.parametrize("written", [0, 7])
def test_a_failed_timed_write_is_raised_by_the_next_write_and_close_writes_every_row_once(tmp_path, written):
    path = tmp_path / "res.csv"
    recorder = CSVRecorder(path, ["episode"], flush_seconds=0.05)
    recorder.write({"episode": 1})
    recorder._file = FailingOnce(recorder._file, written)
    recorder.write({"episode": 2})
    if written:  # a short write: the rest follows in the same flush
        wait_for(lambda: len(read_csv_rows(path)) == 2)
    else:
        time.sleep(0.3)
        with pytest.raises(OSError, match="No space left"):
            recorder.write({"episode": 3})
    recorder.close()
    episodes = [row["episode"] for row in read_csv_rows(path)]
    assert episodes == ["1", "2"]
