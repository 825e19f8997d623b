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

"""Plain HTTP for the remote stores: keep-alive connection pools and one
request function, shared by the Swift store and the S3 store's read path.

``http.client`` is green under eventlet's monkey patching (the proxy's
filters) and light next to urllib3 (``swiftsync mirror``'s worker threads).
"""

import http.client
from urllib.parse import urlsplit

from swiftsync.stores.base import (
    CHUNK_SIZE, SourceChanged, StoreError, close_iter)


def wsgi_to_str(text):
    """http.client's latin-1 header text as the UTF-8 sent: swob's helper
    (importing swob would load eventlet and much of Swift into every
    process that talks to a remote Swift, ``swiftsync mirror`` too)."""
    return text.encode('latin1').decode('utf8', errors='surrogateescape')


def read_all(body, limit=1 << 20):
    out = []
    n = 0
    try:
        for chunk in body:
            n += len(chunk)
            if n > limit * 64:
                raise StoreError('response too large', None, False)
            out.append(chunk)
    finally:
        close_iter(body)
    return b''.join(out)


class _Response:
    """A streaming response body; gives its connection back when done."""

    def __init__(self, resp, conn, pool):
        self.resp = resp
        self.conn = conn
        self.pool = pool

    def __iter__(self):
        return self

    def __next__(self):
        if self.resp is None:
            raise StopIteration
        try:
            chunk = self.resp.read(CHUNK_SIZE)
        except Exception:
            self.close(reuse=False)
            raise StoreError('connection lost while reading', None, True)
        if not chunk:
            self.close(reuse=True)
            raise StopIteration
        return chunk

    def close(self, reuse=False):
        if self.resp is None:
            return
        resp, self.resp = self.resp, None
        if reuse and resp.isclosed() and not resp.will_close:
            self.pool.release(self.conn)
        else:
            self.conn.close()


class _Response8(http.client.HTTPResponse):
    """http.client stops parsing headers at the first name that is not
    ASCII (Swift metadata names may be UTF-8) and leaves the rest in the
    message payload: recover them, as swift's bufferedhttp does."""

    @property
    def headers(self):
        return self._hdrs

    @headers.setter
    def headers(self, msg):
        payload = msg.get_payload() if msg is not None else None
        if isinstance(payload, str) and payload:
            for line in payload.rstrip('\r\n').split('\n'):
                if ':' not in line or line[:1] in ' \t':
                    break
                name, value = line.split(':', 1)
                msg.add_header(name, value.strip(' \t\r\n'))
            msg.set_payload(None)
        self._hdrs = msg


class _Connection(http.client.HTTPConnection):
    response_class = _Response8


class _SConnection(http.client.HTTPSConnection):
    response_class = _Response8


class ConnectionPool:
    def __init__(self, url, timeout=10.0, max_idle=32, verify=True):
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.netloc = parts.netloc
        self.timeout = timeout
        self.max_idle = max_idle
        self.verify = verify
        self.idle = []

    def get(self):
        if self.idle:
            return self.idle.pop(), True
        if self.scheme == 'https':
            import ssl
            ctx = ssl.create_default_context()
            if not self.verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            return _SConnection(
                self.netloc, timeout=self.timeout, context=ctx), False
        return _Connection(self.netloc,
                                          timeout=self.timeout), False

    def release(self, conn):
        if len(self.idle) < self.max_idle:
            self.idle.append(conn)
        else:
            conn.close()

    def close(self):
        while self.idle:
            self.idle.pop().close()


def http_request(pool, method, path, headers, body=None, size=None):
    """One request; ``body`` an iterator of bytes. Returns
    (status, headers dict lower-case native, body iterator)."""
    for attempt in (0, 1):
        conn, reused = pool.get()
        sent_body = False
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in headers.items():
                conn.putheader(k.encode('utf-8'), str(v).encode('utf-8'))
            if body is not None:
                conn.putheader('Content-Length', str(size))
            elif method in ('PUT', 'POST'):
                conn.putheader('Content-Length', '0')
            conn.endheaders()
            if body is not None:
                sent_body = True
                for chunk in body:
                    conn.send(chunk)
            resp = conn.getresponse()
        except (SourceChanged, StoreError):
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            if reused and not sent_body and attempt == 0:
                continue  # a stale keep-alive connection: try a fresh one
            raise StoreError('%s %s: %s' % (
                method, pool.netloc, type(e).__name__), None, True) from None
        rheaders = {wsgi_to_str(k).lower(): wsgi_to_str(v)
                for k, v in resp.getheaders()}
        if method == 'HEAD':
            resp.read()
            if not resp.will_close:
                pool.release(conn)
            else:
                conn.close()
            return resp.status, rheaders, iter(())
        return resp.status, rheaders, _Response(resp, conn, pool)
    raise AssertionError('unreachable')
