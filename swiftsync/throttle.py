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


class ThrottledStore(object):
    """A store whose reads pass through ``bandwidth``, segments included
    (large objects read their segments from ``sibling()`` stores)."""

    def __init__(self, store, bandwidth):
        self._store = store
        self._bandwidth = bandwidth

    def __getattr__(self, name):
        return getattr(self._store, name)

    def __repr__(self):
        return repr(self._store)

    def get(self, *args, **kwargs):
        info, status, headers, body = self._store.get(*args, **kwargs)
        return info, status, headers, _Closing(self._bandwidth.wrap(body),
                                               body)

    def sibling(self, container):
        return ThrottledStore(self._store.sibling(container),
                              self._bandwidth)


class _Closing(object):
    """An iterator that closes the underlying body when closed."""

    def __init__(self, chunks, body):
        self._chunks, self._body = chunks, body

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    def close(self):
        close = getattr(self._body, 'close', None)
        if close:
            close()
