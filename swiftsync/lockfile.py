# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""An exclusive run lock (what cron users wrapped in ``lockrun``).

``flock`` on the file: the kernel drops the lock when the holder dies, so
a crashed run never leaves a stale lock behind.
"""

import contextlib
import fcntl
import os
import time


class LockBusy(Exception):
    pass


@contextlib.contextmanager
def run_lock(path, wait=0):
    """Hold ``path`` exclusively; wait up to ``wait`` seconds, else LockBusy."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.time() + max(0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() >= deadline:
                    raise LockBusy('%s is held by another run' % path)
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, b'%d\n' % os.getpid())
        yield
    finally:
        os.close(fd)
