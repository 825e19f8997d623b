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

"""A bandwidth limit shared by every transfer of a run (``--bwlimit``)."""

import threading
import time


class Bandwidth(object):
    """A token bucket: ``take(n)`` sleeps until n more bytes may pass."""

    def __init__(self, bytes_per_second, sleep=time.sleep, clock=time.time):
        self.rate = float(bytes_per_second)
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self._next = clock()

    def take(self, nbytes):
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + nbytes / self.rate
            delay = start - now
        if delay > 0:
            self.sleep(delay)

    def wrap(self, chunks):
        for chunk in chunks:
            self.take(len(chunk))
            yield chunk
