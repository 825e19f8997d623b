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
import select
import threading
from urllib.parse import urlsplit

from swiftsync.stores.base import (
    CHUNK_SIZE, SourceChanged, StoreError, close_iter)


def wsgi_to_str(text):
    """http.client's latin-1 header text as the UTF-8 sent: swob's helper
    (importing swob would load eventlet and much of Swift into every
    process that talks to a remote Swift, ``swiftsync mirror`` too)."""
    if text.isascii():
        return text  # nearly every header: the same text either way
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


class _Headers(list):
    """Response headers, (name, value) pairs in the order received, with
    the part of ``http.client.HTTPMessage`` that ``HTTPResponse`` uses."""

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self:
            if k.lower() == name:
                return v
        return default

    def get_all(self, name, default=None):
        name = name.lower()
        return [v for k, v in self if k.lower() == name] or default

    def items(self):
        return list(self)


def _parse_headers(fp):
    """The header block of a response, read as http.client reads it (same
    line and count limits) but without the email package, which spends
    several times the CPU of the rest of a small request on it; a name
    that is not ASCII (Swift metadata names may be UTF-8) is kept, as
    swift's bufferedhttp keeps it."""
    headers = _Headers()
    for line in http.client._read_headers(fp):
        text = line.decode('iso-8859-1').rstrip('\r\n')
        if not text:
            break
        if text[0] in ' \t' and headers:  # a folded continuation line
            name, value = headers.pop()
            headers.append((name, value + ' ' + text.strip(' \t')))
        elif ':' in text:
            name, value = text.split(':', 1)
            headers.append((name, value.strip(' \t')))
    return headers


class _Response8(http.client.HTTPResponse):
    """``HTTPResponse`` with headers read by :func:`_parse_headers`."""

    def begin(self):
        # http.client's begin(), but for the header parser
        if self.headers is not None:
            return
        while True:
            version, status, reason = self._read_status()
            if status != http.client.CONTINUE:
                break
            http.client._read_headers(self.fp)
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ('HTTP/1.0', 'HTTP/0.9'):
            self.version = 10
        elif version.startswith('HTTP/1.'):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = _parse_headers(self.fp)
        tr_enc = self.headers.get('transfer-encoding')
        self.chunked = bool(tr_enc and tr_enc.lower() == 'chunked')
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get('content-length')
        if length and not self.chunked:
            try:
                self.length = int(length)
            except ValueError:
                pass
            else:
                if self.length < 0:
                    self.length = None
        if status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED) or \
                100 <= status < 200 or self._method == 'HEAD':
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True


class _Connection(http.client.HTTPConnection):
    response_class = _Response8


class _SConnection(http.client.HTTPSConnection):
    response_class = _Response8


def _alive(conn):
    """Whether an idle keep-alive connection is still open: a server that
    closed it (its idle timeout) has left it readable at EOF. A request
    whose body was sent on a dead connection could not be sent again, so
    dead ones are dropped before use, as urllib3 does."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class ConnectionPool:
    """Idle keep-alive connections to one ``scheme://host:port``."""

    def __init__(self, url, timeout=10.0, max_idle=32, verify=True):
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.netloc = parts.netloc
        self.timeout = timeout
        self.max_idle = max_idle
        self.verify = verify
        self.idle = []
        self._ssl_context = None

    def get(self):
        """(connection, whether it was used before)."""
        while True:
            try:
                conn = self.idle.pop()
            except IndexError:  # none idle (another thread took the last)
                break
            if _alive(conn):
                return conn, True
            conn.close()
        if self.scheme == 'https':
            return _SConnection(self.netloc, timeout=self.timeout,
                                context=self._ssl()), False
        return _Connection(self.netloc, timeout=self.timeout), False

    def _ssl(self):
        """One TLS context for the pool: building one loads the system's
        CA certificates, milliseconds of CPU per new connection."""
        if self._ssl_context is None:
            import ssl
            ctx = ssl.create_default_context()
            if not self.verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._ssl_context = ctx
        return self._ssl_context

    def release(self, conn):
        if len(self.idle) < self.max_idle:
            self.idle.append(conn)
        else:
            conn.close()

    def close(self):
        while self.idle:
            self.idle.pop().close()


class Pools:
    """A :class:`ConnectionPool` per ``scheme://host:port``, made on first
    use; safe to share between threads."""

    def __init__(self, timeout=10.0, max_idle=32, verify=True):
        self.timeout = timeout
        self.max_idle = max_idle
        self.verify = verify
        self._pools = {}
        self._lock = threading.Lock()

    def get(self, url):
        parts = urlsplit(url)
        k = (parts.scheme, parts.netloc)
        with self._lock:
            pool = self._pools.get(k)
            if pool is None:
                pool = self._pools[k] = ConnectionPool(
                    url, self.timeout, self.max_idle, self.verify)
            return pool

    def close(self):
        with self._lock:
            for pool in self._pools.values():
                pool.close()


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
