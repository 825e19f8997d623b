import multiprocessing
import time

import pytest

from swiftsync.lockfile import LockBusy, run_lock
from swiftsync.throttle import Bandwidth

# not fork: eventlet (imported by other tests) warns against it
SPAWN = multiprocessing.get_context('spawn')


def _hold(path, ready, release):
    with run_lock(path):
        ready.set()
        release.wait(10)


def _holder(path):
    """A process holding the lock until ``release`` is set."""
    ready, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(target=_hold, args=(path, ready, release))
    holder.start()
    assert ready.wait(10)
    return holder, release


def test_second_run_exits_or_waits(tmp_path):
    path = str(tmp_path / 'mirror.lock')
    holder, release = _holder(path)
    try:
        with pytest.raises(LockBusy) as e:
            with run_lock(path, wait=0):
                pass
        assert 'held by another run' in str(e.value)
        start = time.time()
        release.set()
        with run_lock(path, wait=10):
            assert time.time() - start < 5
    finally:
        release.set()
        holder.join(10)


def test_lock_is_released_when_the_holder_dies(tmp_path):
    path = str(tmp_path / 'mirror.lock')
    holder, _ = _holder(path)
    holder.kill()
    holder.join(10)
    with run_lock(path, wait=0):
        pass


def test_bandwidth_limits_bytes_per_second():
    clock = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        clock[0] += s
    bw = Bandwidth(1000, sleep=sleep, clock=lambda: clock[0])
    chunks = list(bw.wrap([b'x' * 500] * 6))
    assert len(chunks) == 6
    # 3000 bytes at 1000 B/s: the last chunk may start at t = 2.5 s
    assert clock[0] == pytest.approx(2.5)
