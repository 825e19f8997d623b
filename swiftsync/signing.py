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

"""
Signed requests between autosync clusters.

A request one cluster sends another carries four headers::

    X-Swiftsync-Peer:           c1            (the sending cluster)
    X-Swiftsync-Peer-Timestamp: 1763750000.123456
    X-Swiftsync-Peer-Nonce:     <32 random hex digits>
    X-Swiftsync-Peer-Signature: <hex HMAC-SHA256>

The signature is an HMAC-SHA256, keyed with the secret of the
``[cluster:NAME]`` pair, over the method, the path (unquoted, without the
query string), the timestamp, the nonce, the sending and the receiving
cluster names and a short flags string. The receiving cluster accepts a
request only when the peer is known, the timestamp is within the replay
window (60 s by default) of its own clock, the signature matches (compared
in constant time) and the nonce has not been seen within the window.

Nothing here talks to a server; :class:`NonceCache` uses memcache when the
proxy has one (``cache_from_env``) and a local LRU always.
"""

import collections
import hashlib
import hmac
import secrets
import threading
import time
from urllib.parse import unquote

__all__ = ['PEER', 'TIMESTAMP', 'NONCE', 'SIGNATURE', 'FLAGS',
           'PEER_HEADERS', 'DEFAULT_WINDOW', 'SignatureError', 'sign',
           'sign_headers', 'verify', 'NonceCache', 'is_peer_claim',
           'signed_path', 'PEER_ENVIRON']

PEER = 'X-Swiftsync-Peer'
TIMESTAMP = 'X-Swiftsync-Peer-Timestamp'
NONCE = 'X-Swiftsync-Peer-Nonce'
SIGNATURE = 'X-Swiftsync-Peer-Signature'
#: Signed, optional: what the sender asks of the receiver (e.g. ``forward``).
FLAGS = 'X-Swiftsync-Peer-Flags'
#: Optional: the (quoted) container of a request sent to its account's path;
#: the signed path is then the container's (see :func:`signed_path`).
CONTAINER = 'X-Swiftsync-Peer-Container'
PEER_HEADERS = (PEER, TIMESTAMP, NONCE, SIGNATURE, FLAGS, CONTAINER)

DEFAULT_WINDOW = 60.0
_NONCE_LEN = 32
_MAX_NONCE_LEN = 128


class SignatureError(Exception):
    """A peer request that must be refused; ``str()`` is a one-line reason
    that never contains a secret or a signature."""


def _message(method, path, timestamp, nonce, sender, receiver, flags):
    return '\n'.join((method.upper(), path, timestamp, nonce, sender,
                      receiver, flags)).encode('utf-8', 'surrogateescape')


def sign(secret, method, path, timestamp, nonce, sender, receiver,
         flags=''):
    """The hex HMAC-SHA256 of one request."""
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    return hmac.new(key, _message(method, path, timestamp, nonce, sender,
                                  receiver, flags),
                    hashlib.sha256).hexdigest()


def sign_headers(secret, method, path, sender, receiver, flags='',
                 now=None):
    """The headers that make a request from ``sender`` to ``receiver`` a
    signed peer request. ``path`` is the unquoted path, no query string."""
    timestamp = '%.6f' % (time.time() if now is None else now)
    nonce = secrets.token_hex(_NONCE_LEN // 2)
    headers = {PEER: sender, TIMESTAMP: timestamp, NONCE: nonce,
               SIGNATURE: sign(secret, method, path, timestamp, nonce,
                               sender, receiver, flags)}
    if flags:
        headers[FLAGS] = flags
    return headers


def signed_path(path, headers):
    """The path a peer request was signed for: its own ``path`` (unquoted,
    as in PATH_INFO), or, when it carries the ``CONTAINER`` header, the path
    of that container under the account path ``path``.

    :raises SignatureError: when the header names no single container
    """
    quoted = headers.get(CONTAINER)
    if quoted is None:
        return path
    name = unquote(quoted, encoding='latin-1')  # a WSGI string, as path
    if not name or '/' in name:
        raise SignatureError('bad peer container header')
    return path.rstrip('/') + '/' + name


#: the WSGI environ keys of the peer headers
PEER_ENVIRON = tuple('HTTP_' + h.upper().replace('-', '_')
                     for h in PEER_HEADERS)


def is_peer_claim(environ):
    """Whether any peer header is present in a WSGI ``environ`` (asked of
    every request a proxy sees: no header name is converted for it)."""
    return any(k in environ for k in PEER_ENVIRON)


def verify(headers, method, path, receiver, secrets_by_peer, nonces,
           window=DEFAULT_WINDOW, now=None):
    """Check a peer request.

    :param headers: case-insensitive mapping of the request headers
    :param secrets_by_peer: {peer cluster name: pair secret}
    :param nonces: a :class:`NonceCache` (or anything with ``.add(nonce,
                   ttl)`` returning False for a nonce already seen)
    :returns: (peer name, flags)
    :raises SignatureError: for an unknown peer, a missing header, a stale
        or future timestamp, a bad signature or a replayed nonce
    """
    peer = headers.get(PEER)
    timestamp = headers.get(TIMESTAMP)
    nonce = headers.get(NONCE)
    signature = headers.get(SIGNATURE)
    flags = headers.get(FLAGS) or ''
    if not (peer and timestamp and nonce and signature):
        raise SignatureError('incomplete peer signature headers')
    if peer == receiver or peer not in secrets_by_peer:
        raise SignatureError('unknown peer cluster')
    try:
        sent = float(timestamp)
    except ValueError:
        raise SignatureError('bad peer timestamp') from None
    now = time.time() if now is None else now
    if not sent == sent or abs(now - sent) > window:  # NaN never passes
        raise SignatureError('peer timestamp outside the %g s window '
                             '(clock skew or replay)' % window)
    if len(nonce) > _MAX_NONCE_LEN:
        raise SignatureError('bad peer nonce')
    expected = sign(secrets_by_peer[peer], method, path, timestamp, nonce,
                    peer, receiver, flags)
    if not hmac.compare_digest(expected.encode('ascii'),
                               signature.encode('utf-8', 'replace')):
        raise SignatureError('bad peer signature')
    # Only a correctly signed request may take a slot in the cache.
    if not nonces.add('%s/%s' % (peer, nonce), int(2 * window) + 1):
        raise SignatureError('replayed peer request')
    return peer, flags


class NonceCache(object):
    """Nonces seen recently.

    ``memcache`` (a Swift MemcacheRing) is shared by every proxy of the
    cluster. Every nonce is also kept in a bounded in-process LRU, which is
    all there is without memcache (or while it is down): one proxy process
    then still refuses what it saw itself, before, during and after an
    outage of memcache, but a replay to another proxy process is caught by
    memcache only.
    """

    PREFIX = 'swiftsync/nonce/'

    def __init__(self, memcache=None, max_entries=100000):
        self.memcache = memcache
        self.max_entries = max_entries
        self._seen = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, nonce, ttl):
        """Record ``nonce``; False when it was already seen (a replay)."""
        fresh = self._add_local(nonce, ttl)
        if self.memcache is not None:
            try:
                return self.memcache.incr(self.PREFIX + nonce, delta=1,
                                          time=ttl) == 1 and fresh
            except Exception:
                pass  # memcache down: this process's memory only
        return fresh

    def _add_local(self, nonce, ttl):
        now = time.time()
        with self._lock:
            expires = self._seen.get(nonce)
            if expires is not None and expires > now:
                return False
            self._seen[nonce] = now + ttl
            self._seen.move_to_end(nonce)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)
            return True
