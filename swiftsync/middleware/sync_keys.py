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
The ``sync_keys`` filter takes the chores out of Swift's container-sync keys.

**Generated keys.** A container ``PUT`` or ``POST`` that sets
``X-Container-Sync-To`` without an ``X-Container-Sync-Key``, on a container
that has no key yet, gets a fresh key: 256 random bits, URL-safe. The owner
reads it back with a ``HEAD`` exactly as with a key they set themselves;
other users never see it (Swift hides sync keys from non-owners).

**Key policy.** With ``min_key_length = N``, a key that a client sets and
that is shorter than N characters is refused with ``400 Bad Request``.

**Rotation without a gap.** When a container's key changes, the previous key
and the time of the change are kept in container sysmeta, which no client
ever sees. For ``key_grace_period`` seconds after the change, an inbound
container-sync request whose ``X-Container-Sync-Auth`` signature was made
with the previous key is accepted: the filter re-signs it with the current
key for Swift's ``container_sync`` filter, which then lets it through as
usual. Rotating the destination container first and the source second
therefore drops no row. After the grace period the previous key gets
``401 Unauthorized`` like any wrong key. The legacy
``X-Container-Sync-Key`` request header is treated the same way.

Keys never appear in a log line, a response, ``/info`` or an error text.

Place the filter right before ``container_sync``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats sync_keys container_sync ... tempauth ... proxy-server

    [filter:sync_keys]
    use = egg:swiftsync#sync_keys
    # The operator file: key_grace_period and realms_conf of its
    # [swiftsync] section are used.
    # swiftsync_conf = /etc/swift/swiftsync.conf
    # Overrides the operator file (seconds, or 30m, 2h...).
    # key_grace_period = 3600
    # Refuse client-set keys shorter than this; 0 = no policy.
    # min_key_length = 0

``/info`` shows ``sync_keys`` with ``key_grace_period``,
``min_key_length`` and ``generated_key_bits``.

Proxy log lines of requests let through with the previous key carry
``sk:prev-key`` in their log info field; a previous key refused because its
grace period is over shows ``sk:prev-key-expired``.
"""

import os
import time

from swift.common.constraints import check_utf8, valid_api_version
from swift.common.container_sync_realms import ContainerSyncRealms
from swift.common.registry import register_swift_info
from swift.common.request_helpers import append_log_info
from swift.common.swob import (
    HTTPBadRequest, str_to_wsgi, wsgi_to_str, wsgify)
from swift.common.utils import get_logger, streq_const_time
from swift.proxy.controllers.base import (
    clear_info_cache, get_container_info)

from swiftsync import config
from swiftsync.synckeys import (
    DEFAULT_GRACE_PERIOD, KEY_CHANGED_SYSMETA, PREV_KEY_SYSMETA,
    generate_key, sysmeta_header)

SWIFT_SOURCE = 'SK'
GENERATED_KEY_BITS = 256


def load_settings(conf):
    """(key_grace_period, min_key_length, realms_conf path) of a filter conf.

    :raises ValueError: for a bad option, or config.ConfigError for a bad
                        operator file
    """
    path = conf.get('swiftsync_conf')
    grace = DEFAULT_GRACE_PERIOD
    realms = os.path.join(conf.get('swift_dir', '/etc/swift'),
                          'container-sync-realms.conf')
    if path or os.path.exists(config.DEFAULT_PATH):
        globals_ = config.load(path or config.DEFAULT_PATH).globals
        grace = globals_.key_grace_period
        realms = globals_.realms_conf
    if conf.get('key_grace_period'):
        try:
            grace = config.parse_duration(conf['key_grace_period'])
        except ValueError as e:
            raise ValueError('sync_keys: key_grace_period: %s' % e) from None
    raw = str(conf.get('min_key_length') or '0').strip()
    if not raw.isdigit():
        raise ValueError('sync_keys: min_key_length: not a whole number >= 0;'
                         ' got %r' % raw)
    return grace, int(raw), realms


class SyncKeysMiddleware(object):
    """Generates container-sync keys and honours the previous key of a
    container for a grace period after a rotation."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='sync_keys')
        self.key_grace_period, self.min_key_length, realms_path = \
            load_settings(conf)
        self.realms_conf = ContainerSyncRealms(realms_path, self.logger)

    @wsgify
    def __call__(self, req):
        if not check_utf8(wsgi_to_str(req.path_info)):
            return self.app  # Swift's proxy answers 412, as without us
        try:
            version, account, container, obj = req.split_path(3, 4, True)
        except ValueError:
            return self.app
        if not valid_api_version(version):
            return self.app
        if obj is None and req.method in ('PUT', 'POST'):
            error = self.container_update(req)
            if error:
                return error
        elif obj is not None:
            if req.headers.get('x-container-sync-auth'):
                self.inbound_realm_sync(req)
            elif req.headers.get('x-container-sync-key'):
                self.inbound_legacy_sync(req)
        return self.app

    # -- owners setting keys ----------------------------------------------
    def container_update(self, req):
        """Check, generate and remember keys of a container PUT/POST.

        :returns: an error response, or None to pass the request on
        """
        new_key = req.headers.get('x-container-sync-key')
        removing = (new_key == '' or
                    'x-remove-container-sync-key' in req.headers)
        sync_to = req.headers.get('x-container-sync-to')
        if new_key and self.min_key_length and \
                len(new_key) < self.min_key_length:
            return HTTPBadRequest(
                body='X-Container-Sync-Key is too short: this cluster '
                     'requires at least %d characters.\n'
                     % self.min_key_length,
                content_type='text/plain', request=req)
        if not (new_key or removing or sync_to):
            return None
        info = get_container_info(req.environ, self.app,
                                  swift_source=SWIFT_SOURCE)
        current = info.get('sync_key')
        if sync_to and new_key is None and not removing and not current:
            req.headers['X-Container-Sync-Key'] = generate_key()
            append_log_info(req.environ, 'sk:generated')
            self.logger.info('generated a %d-bit container-sync key for %s',
                             GENERATED_KEY_BITS, req.path)
        elif new_key and current and not streq_const_time(
                wsgi_to_str(new_key), current):
            # info values are native strings, headers WSGI strings
            req.headers[sysmeta_header(PREV_KEY_SYSMETA)] = \
                str_to_wsgi(current)
            req.headers[sysmeta_header(KEY_CHANGED_SYSMETA)] = \
                '%.5f' % time.time()
            append_log_info(req.environ, 'sk:rotated')
        elif removing and info.get('sysmeta', {}).get(PREV_KEY_SYSMETA):
            # sync switched off: the previous key goes with the current one
            req.headers[sysmeta_header(PREV_KEY_SYSMETA)] = ''
            req.headers[sysmeta_header(KEY_CHANGED_SYSMETA)] = ''
        return None

    # -- inbound container-sync requests ----------------------------------
    def container_keys(self, req, fresh=False):
        """(current key, previous key, seconds since the change) of the
        request's container; the previous key is None when unset."""
        if fresh:
            _ver, account, container, _obj = req.split_path(4, 4, True)
            clear_info_cache(req.environ, account, container)
        info = get_container_info(req.environ, self.app,
                                  swift_source=SWIFT_SOURCE)
        sysmeta = info.get('sysmeta') or {}
        prev = sysmeta.get(PREV_KEY_SYSMETA) or None
        try:
            age = time.time() - float(sysmeta.get(KEY_CHANGED_SYSMETA))
        except (TypeError, ValueError):
            prev = age = None
        return info.get('sync_key'), prev, age

    def match_key(self, req, signed_with):
        """Which key of the request's container ``signed_with`` accepts.

        Cached container info may be stale (a request running across a key
        change can cache the old info), so a request that matches no key is
        checked once more against fresh info.

        :returns: ('current' or 'previous' or None, current key,
                   previous key, seconds since the change)
        """
        for fresh in (False, True):
            current, prev, age = self.container_keys(req, fresh)
            if current and signed_with(current):
                return 'current', current, prev, age
            if current and prev and signed_with(prev):
                return 'previous', current, prev, age
        return None, None, None, None

    def inbound_realm_sync(self, req):
        parts = req.headers['x-container-sync-auth'].split()
        if len(parts) != 3:
            return  # container_sync refuses it
        realm, nonce, sig = parts
        realm_keys = [k for k in (self.realms_conf.key(realm),
                                  self.realms_conf.key2(realm)) if k]
        if not realm_keys:
            return
        # the same timestamp container_sync will use
        if 'x-backend-inbound-x-timestamp' in req.headers:
            timestamp = req.headers['x-backend-inbound-x-timestamp']
        else:
            timestamp = req.headers.get('x-timestamp', '0')

        def sign(realm_key, user_key):
            return self.realms_conf.get_sig(req.method, req.path, timestamp,
                                            nonce, realm_key, user_key)

        def realm_key_of(user_key):
            for realm_key in realm_keys:
                if streq_const_time(sig, sign(realm_key, user_key)):
                    return realm_key
            return None

        which, current, prev, age = self.match_key(
            req, lambda user_key: realm_key_of(user_key) is not None)
        if which == 'previous' and self.accept_previous(req, age):
            req.headers['X-Container-Sync-Auth'] = '%s %s %s' % (
                realm, nonce, sign(realm_key_of(prev), current))

    def inbound_legacy_sync(self, req):
        offered = wsgi_to_str(req.headers['x-container-sync-key'])
        which, current, _prev, age = self.match_key(
            req, lambda user_key: streq_const_time(offered, user_key))
        if which == 'previous' and self.accept_previous(req, age):
            req.headers['X-Container-Sync-Key'] = str_to_wsgi(current)

    def accept_previous(self, req, age):
        if age <= self.key_grace_period:
            append_log_info(req.environ, 'sk:prev-key')
            self.logger.debug('%s %s: previous sync key accepted (rotated '
                              '%ds ago)', req.method, req.path, age)
            return True
        append_log_info(req.environ, 'sk:prev-key-expired')
        self.logger.info('%s %s: previous sync key refused: rotated %ds ago, '
                         'grace period is %ds', req.method, req.path, age,
                         self.key_grace_period)
        return False


def filter_factory(global_conf, **local_conf):
    conf = global_conf.copy()
    conf.update(local_conf)
    grace, min_length, _realms = load_settings(conf)
    register_swift_info('sync_keys', key_grace_period=grace,
                        min_key_length=min_length,
                        generated_key_bits=GENERATED_KEY_BITS)

    def sync_keys_filter(app):
        return SyncKeysMiddleware(app, conf)
    return sync_keys_filter
