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
The ``autosync`` filter makes several Swift clusters one namespace.

Every cluster taking part is a ``[cluster:NAME]`` section of the operator
file (``swiftsync.conf``), the same list on every cluster, and
``cluster = NAME`` in ``[swiftsync]`` says which one this proxy belongs to.
Clients keep talking to their usual endpoint with their usual token.

**Namespace changes are mirrored.** A container ``PUT``, ``POST`` or
``DELETE`` (and an account ``PUT``, ``POST`` or ``DELETE`` by a reseller
admin) is done on the local cluster first, under the client's own
authorization; only when Swift allowed and did it is the same change sent,
in parallel, to every other cluster of the container's placement.

**Container sync is set up on every copy.** A mirrored container gets a
realm-form ``X-Container-Sync-To`` (``//REALM/CLUSTER/ACCOUNT/CONTAINER``,
with the ``realm`` and ``sync_name`` of the ``[cluster:NAME]`` sections) and
one strong generated key shared by all its copies. The copies form a ring
in cluster-name order (``c1 -> c2 -> c3 -> c1``; two clusters sync both
ways), so Swift's container-sync daemon carries an object written anywhere
to every copy. A client that sets ``X-Container-Sync-To`` or
``X-Container-Sync-Key`` itself keeps its own sync settings: the container
is still mirrored, but autosync leaves its sync configuration alone.

**Versioned containers.** Swift refuses object versioning
(``X-Versions-Enabled``) on a container-sync source, because container-sync
carries current objects only. A versioned copy therefore has no
``X-Container-Sync-To``: a new container ``PUT`` with ``X-Versions-Enabled``
gets none, and enabling (or suspending) versioning on a mirrored container
first removes the sync the filter set up there, here and on every peer, in a
request of its own, so that Swift's ``object_versioning`` accepts the change
(a ``Sync-To`` the client set itself stays, and Swift's ``400`` with it).
``X-Versions-Enabled`` is mirrored like the other container settings; the
versions themselves are carried by ``swiftsync reconcile`` (see
:mod:`swiftsync.versions`).

**Placement.** ``X-Container-Placement: c1,c3`` on a container ``PUT`` picks
the clusters holding the container; ``-c2`` excludes a cluster from the
default placement (the clusters with ``placement_default = true``). An
unknown cluster, or a placement that leaves no cluster, is ``400 Bad
Request``. The placement is kept as container sysmeta and shown to the owner
as ``X-Container-Placement``. A request for a container that is not on this
cluster is authorized here (with the container's ACLs as the peer holding it
reports them) and then forwarded to that peer, so every endpoint serves the
whole namespace. An account ``GET`` lists the containers of every cluster,
merged, each once, with the usual ``marker``, ``end_marker``, ``prefix``,
``delimiter``, ``limit`` and ``reverse``.

**Read-through.** An object ``GET`` or ``HEAD`` that is ``404`` locally in a
mirrored container is tried on the other clusters of its placement before
the client gets the ``404``: the object may not have been synced yet.

A request with the header ``X-Swiftsync-Local-Only`` (any value) is served
by this cluster alone, as if the filter were not there: sync tools that
``HEAD`` an object to decide whether to copy it (Swift's container-sync is
recognized by itself) must see this cluster's own objects.

**Emptiness.** A container ``DELETE`` succeeds only when the container is
empty on every cluster of its placement. A peer whose copy still lists
objects only because container-sync has not carried this cluster's deletes
yet (``swift delete CONTAINER`` right after an upload) gets those deletes
now, signed, with the time of each local tombstone (see
:mod:`swiftsync.middleware.emptying`); an object there that is newer than
the local delete, or was never here, makes the ``DELETE`` a ``409
Conflict`` naming the cluster and the count, and nothing is deleted.

**Consistency.** Each ``[cluster:NAME]`` has ``consistency = strict`` or
``eventual``. When a *strict* peer fails (refused, timed out, 5xx, or
any refusal), the change is rolled back where it was done and the client gets
``503 Service Unavailable`` naming the cluster; a peer that gave no answer
(down, or gone mid-request) may have done the change, so its rollback is
queued as below. When an *eventual* peer
fails, the client gets its success once the local cluster has the change,
the peer's operation is queued durably in the local Swift (account
``.swiftsync``, container ``queue``), and the response header
``X-Swiftsync-Pending`` names the clusters still to do; ``swiftsync
reconcile`` replays the queue.

**Signed peer requests.** Clusters talk to each other with requests signed
with the ``secret`` of the pair (HMAC-SHA256 over method, path, timestamp,
nonce and both cluster names; see :mod:`swiftsync.signing`), without any
user token. The filter checks the signature first: a request that carries
any ``X-Swiftsync-Peer*`` header and is unsigned, forged, replayed, or
outside the replay window gets ``401 Unauthorized``. The nonces seen are
kept in memcached, which every proxy of the cluster shares, and in each
proxy process: while memcached is down, a replay is refused by the proxy
process that saw the request, not by the others. A valid peer request is
authorized as the cluster itself (it is past auth in the pipeline, so it
overrides ``swift.authorize``), applied locally and never sent on again, so
requests cannot loop. A peer's container ``PUT`` arrives addressed to the
account (``PUT /v1/AUTH_test`` in the proxy log, the container named in the
signed header ``X-Swiftsync-Peer-Container``): Swift's ``container_sync``
filter, which comes before auth, would otherwise ``HEAD`` the container
server for a container about to be created.

Place the filter right after the auth filter::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
        listing_formats sync_keys container_sync bulk tempurl ratelimit
        tempauth autosync shunt copy ... proxy-server

    [filter:autosync]
    use = egg:swiftsync#autosync
    # The operator file: [swiftsync] cluster and the [cluster:NAME] sections.
    # swiftsync_conf = /etc/swift/swiftsync.conf
    # Peer requests older or newer than this (seconds) are refused.
    # replay_window = 60
    # A container DELETE carries this cluster's object deletes to a peer
    # copy that lists at most this many objects (see "Emptiness").
    # carry_deletes_max = 10000

With fewer than two ``[cluster:NAME]`` sections or no ``cluster =`` the
filter mirrors nothing (and still refuses every peer claim).

Proxy log lines of the filter's own subrequests carry the source ``AS``.
"""

import collections
import json
import time
import uuid
from urllib.parse import urlsplit, urlencode

# swift first: it filters eventlet's deprecation warning
from swift.common.constraints import (
    check_metadata, check_utf8, valid_api_version)
from swift.common.request_helpers import get_sys_meta_prefix
from swift.common.swob import (
    HTTPBadRequest, HTTPConflict, HTTPServiceUnavailable, HTTPUnauthorized,
    Response, wsgi_quote, wsgi_to_str, wsgify)
from swift.common.utils import (
    Timestamp, cache_from_env, close_if_possible, get_logger,
    register_swift_info)
from swift.common.wsgi import make_pre_authed_request
from swift.proxy.controllers.base import clear_info_cache, \
    get_container_info

from eventlet import GreenPile, Timeout, sleep  # noqa: I100
from eventlet.green.http import client as green_http

from swiftsync import config as ss_config
from swiftsync import listing
from swiftsync import signing
from swiftsync import synckeys
from swiftsync.middleware.emptying import PeerEmptier

SWIFT_SOURCE = 'AS'
PLACEMENT_HEADER = 'X-Container-Placement'
PENDING_HEADER = 'X-Swiftsync-Pending'
#: a request with it is served by this cluster alone, as without autosync
LOCAL_ONLY_HEADER = 'X-Swiftsync-Local-Only'
#: container sysmeta (as get_container_info names it)
PLACEMENT_SYSMETA = 'swiftsync-placement'
PLACEMENT_SYSMETA_HEADER = (get_sys_meta_prefix('container') +
                            PLACEMENT_SYSMETA)
QUEUE_ACCOUNT = '.swiftsync'
QUEUE_CONTAINER = 'queue'
#: the most objects a peer's copy may still list for a container DELETE
#: to carry this cluster's deletes there (see emptying.py)
CARRY_DELETES_MAX = 10000

#: request headers of a container/account change that peers get too
_MIRRORED_PREFIXES = ('x-container-meta-', 'x-remove-container-meta-',
                      'x-account-meta-', 'x-remove-account-meta-')
_MIRRORED = frozenset((
    'x-container-read', 'x-container-write', 'x-remove-container-read',
    'x-remove-container-write', 'x-storage-policy', 'x-versions-location',
    'x-history-location', 'x-remove-versions-location',
    'x-remove-history-location', 'x-account-access-control',
    'x-versions-enabled', 'content-type'))
#: Swift's object_versioning header (any value: enabling or suspending)
VERSIONS_ENABLED = 'X-Versions-Enabled'
_CLIENT_SYNC = ('x-container-sync-to', 'x-container-sync-key')
#: request headers never passed on when forwarding or reading through
_NOT_FORWARDED = frozenset((
    'x-auth-token', 'x-storage-token', 'x-service-token', 'host',
    'connection', 'content-length', 'transfer-encoding', 'keep-alive',
    'authorization', 'expect')) | frozenset(
        h.lower() for h in signing.PEER_HEADERS)
#: the identity Keystone's authtoken puts in the request (for
#: keystoneauth): this cluster's, not a client header; a peer's authtoken
#: would remove them anyway. Also ``X-Service-`` + each.
_IDENTITY_HEADERS = frozenset((
    'x-identity-status', 'x-domain-id', 'x-domain-name', 'x-project-id',
    'x-project-name', 'x-project-domain-id', 'x-project-domain-name',
    'x-user-id', 'x-user-name', 'x-user-domain-id', 'x-user-domain-name',
    'x-roles', 'x-service-catalog', 'x-is-admin-project', 'x-system-scope',
    'x-tenant-id', 'x-tenant-name', 'x-tenant', 'x-user', 'x-role',
    'x-trust-id', 'x-trustee-user-id', 'x-trustor-user-id',
    'x-app-cred-id', 'x-auth-roles'))


def forwardable(headers):
    """The client's headers of a request to send on to a peer: neither
    credentials nor this cluster's hop and identity headers (nor the ones
    a middleware emptied)."""
    out = {}
    for k, v in headers.items():
        kl = k.lower()
        if v is None or kl in _NOT_FORWARDED or kl in _IDENTITY_HEADERS or (
                kl.startswith('x-service-') and
                'x-' + kl[len('x-service-'):] in _IDENTITY_HEADERS):
            continue
        out[k] = v
    return out
_HOP_BY_HOP = frozenset(('connection', 'keep-alive', 'transfer-encoding',
                         'proxy-authenticate', 'proxy-authorization', 'te',
                         'trailers', 'upgrade'))
_CHUNK = 65536


class PeerError(Exception):
    """A peer request that did not get an answer (refused, timed out)."""


class PeerResult(object):
    """What one peer answered (or why it did not)."""

    def __init__(self, cluster, status=None, headers=None, body=b'',
                 error=None):
        self.cluster = cluster
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error

    @property
    def ok(self):
        return self.status is not None and 200 <= self.status < 300

    def reason(self):
        if self.error:
            return self.error
        return 'answered %d' % self.status

    def header(self, name, default=None):
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return default


def parse_placement(value, clusters, default):
    """The sorted cluster names of an ``X-Container-Placement`` value.

    ``c1,c3`` names the clusters; ``-c2`` removes one from ``default``.

    :raises ValueError: with a one-line reason
    """
    names = [n.strip() for n in value.split(',') if n.strip()]
    if not names:
        raise ValueError('X-Container-Placement names no cluster')
    include, exclude = set(), set()
    for name in names:
        bare = name[1:] if name.startswith('-') else name
        if bare not in clusters:
            raise ValueError('X-Container-Placement: unknown cluster %r '
                             '(clusters: %s)' % (bare[:64],
                                                 ', '.join(sorted(clusters))))
        (exclude if name.startswith('-') else include).add(bare)
    chosen = (include or set(default)) - exclude
    if not chosen:
        raise ValueError('X-Container-Placement excludes every cluster')
    return sorted(chosen)


def sync_ring(placement):
    """{cluster: the cluster it syncs to}: a ring in name order."""
    names = sorted(placement)
    if len(names) < 2:
        return {}
    return {n: names[(i + 1) % len(names)] for i, n in enumerate(names)}


class AutosyncMiddleware(object):
    """One namespace across the ``[cluster:NAME]`` clusters."""

    def __init__(self, app, conf, logger=None):
        self.app = app
        self.logger = logger or get_logger(conf, log_route='autosync')
        path = conf.get('swiftsync_conf') or ss_config.DEFAULT_PATH
        self.conf = ss_config.load(path)
        self.window = float(conf.get('replay_window',
                                     signing.DEFAULT_WINDOW))
        self.me = self.conf.globals.cluster
        self.clusters = dict(self.conf.clusters)
        self.enabled = bool(self.me) and len(self.clusters) > 1
        self.peers = {n: c for n, c in self.clusters.items()
                      if n != self.me} if self.enabled else {}
        self.secrets = {n: c.secret for n, c in self.peers.items()}
        self.default_placement = sorted(
            n for n, c in self.clusters.items() if c.placement_default) \
            or sorted(self.clusters)
        self.nonces = signing.NonceCache()
        self.pool = PeerPool()
        self.emptier = PeerEmptier(
            app, self.peer_request,
            _positive_int(conf, 'carry_deletes_max', CARRY_DELETES_MAX),
            self.logger, SWIFT_SOURCE)

    # -- entry ---------------------------------------------------------
    @wsgify
    def __call__(self, req):
        if not check_utf8(wsgi_to_str(req.path_info)):
            return self.app  # Swift's proxy answers 412, as without us
        try:
            # WSGI strings (as in PATH_INFO), like every path below
            vrs, account, container, obj = req.split_path(1, 4, True)
        except ValueError:
            return self.app
        if not valid_api_version(vrs):
            return self.app  # /info, /auth... are not namespace requests
        if signing.is_peer_claim(req.environ):
            return self.handle_peer(req, account, container, obj)
        if not self.enabled or not account:
            return self.app
        if account.startswith('.') or (container or '').startswith('\x00'):
            return self.app
        if 'x-container-sync-auth' in req.headers or \
                req.headers.pop(LOCAL_ONLY_HEADER, None) is not None:
            # Swift's container-sync (or another sync tool) writing here:
            # it must see this cluster's own objects only, since its HEAD
            # decides what to send
            return self.app
        return self.handle_client(req, account, container, obj)

    # -- peer requests -------------------------------------------------
    def handle_peer(self, req, account, container, obj):
        # one cache for the process: it remembers nonces when memcache
        # is down too
        self.nonces.memcache = cache_from_env(req.environ, allow_none=True)
        try:
            # a container PUT may come addressed to its account: see
            # peer_request(to_account=True)
            path = signing.signed_path(req.path_info, req.headers)
            if path != req.path_info and (
                    req.method != 'PUT' or not account or container):
                raise signing.SignatureError('bad peer container header')
            peer, flags = signing.verify(
                req.headers, req.method, path, self.me,
                self.secrets, self.nonces, window=self.window)
            if path != req.path_info and 'forward' in flags:
                raise signing.SignatureError('bad peer container header')
        except signing.SignatureError as e:
            self.logger.warning('autosync: refused peer request %s %s: %s',
                                req.method, wsgi_quote(req.path_info), e)
            return HTTPUnauthorized(body=('autosync: %s\n' % e).encode(),
                                    content_type='text/plain',
                                    request=req)
        flags = set(f for f in flags.split(',') if f)
        env = req.environ
        for k in signing.PEER_ENVIRON:
            env.pop(k, None)
        if path != req.path_info:
            env['PATH_INFO'] = path
            container = path.rsplit('/', 1)[1]
        env['swift.authorize'] = lambda r: None
        env['swift.authorize_override'] = True
        env['swiftsync.peer'] = peer
        if 'forward' in flags:
            # authorized by the cluster that forwarded it, as that user
            env['swift_owner'] = 'owner' in flags
            env['swiftsync.forwarded'] = True
            if not account:
                return self.app
            return self.handle_client(req, account, container, obj,
                                      forwarded=True)
        env['swift_owner'] = True
        env['reseller_request'] = True
        if 'X-Backend-Inbound-X-Timestamp' in req.headers:
            # the gatekeeper set aside the timestamp the peer gave (as for
            # container-sync, whose filter puts it back): a carried object
            # version keeps its time, and so its version id
            req.headers['X-Timestamp'] = req.headers.pop(
                'X-Backend-Inbound-X-Timestamp')
        if container and not obj and req.method in ('GET', 'HEAD'):
            info = get_container_info(env, self.app,
                                      swift_source=SWIFT_SOURCE)
            return self.show_placement(req, self.placement_of(info))
        if container and not obj and req.method in ('PUT', 'POST') and \
                PLACEMENT_HEADER in req.headers:
            try:
                placement = parse_placement(req.headers[PLACEMENT_HEADER],
                                            self.clusters,
                                            self.default_placement)
            except ValueError as e:
                return HTTPBadRequest(body=str(e).encode(), request=req)
            del req.headers[PLACEMENT_HEADER]
            req.headers[PLACEMENT_SYSMETA_HEADER] = ','.join(placement)
        if container and not obj and req.method in ('PUT', 'POST') and \
                VERSIONS_ENABLED in req.headers and \
                req.headers.get('X-Container-Sync-To') == '':
            # the peer that mirrors a versioning change tells us to drop
            # the sync it set up here, before Swift sees the change
            del req.headers['X-Container-Sync-To']
            self.drop_sync(req, account, container)
        return self.app

    # -- client requests -----------------------------------------------
    def handle_client(self, req, account, container, obj, forwarded=False):
        if not container:
            if req.method == 'GET' and not forwarded:
                return self.account_listing(req, account)
            if req.method in ('PUT', 'POST', 'DELETE'):
                return self.mirror_account(req, account)
            return self.app
        if req.method == 'PUT' and not obj:
            return self.container_put(req, account, container)
        info = get_container_info(req.environ, self.app,
                                  swift_source=SWIFT_SOURCE)
        if info.get('status') == 404 and not forwarded:
            resp = self.forward(req, account, container, obj)
            if resp is not None:
                return resp
            return self.app
        placement = self.placement_of(info)
        if not obj:
            if req.method == 'POST':
                return self.container_post(req, account, container, info,
                                           placement)
            if req.method == 'DELETE':
                return self.container_delete(req, account, container, info,
                                             placement)
            if req.method in ('GET', 'HEAD'):
                return self.show_placement(req, placement)
            return self.app
        if req.method in ('GET', 'HEAD') and len(placement) > 1:
            return self.read_through(req, placement)
        return self.app

    def placement_of(self, info):
        value = (info.get('sysmeta') or {}).get(PLACEMENT_SYSMETA)
        if not value:
            return []
        return sorted(n for n in value.split(',') if n in self.clusters)

    def show_placement(self, req, placement):
        resp = req.get_response(self.app)
        if placement and resp.is_success and req.environ.get('swift_owner'):
            resp.headers[PLACEMENT_HEADER] = ','.join(placement)
        return resp

    # -- peer I/O --------------------------------------------------------
    def peer_request(self, name, method, path, headers=None, query=None,
                     body=None, flags='', stream=False, to_account=False):
        """One signed request to a peer; see :func:`peer_request`."""
        r = peer_request(self.clusters[name], self.me, method, path,
                         headers, query, body, flags, stream, self.pool,
                         to_account)
        if to_account and r.status == 401:
            # a peer whose autosync knows no requests sent to the account
            r = peer_request(self.clusters[name], self.me, method, path,
                             headers, query, body, flags, stream, self.pool)
        return r

    def on_peers(self, names, method, path, headers_for, query=None,
                 to_account=False):
        """The same request on every peer in parallel; {name: PeerResult}."""
        names = list(names)
        if not names:
            return {}
        pile = GreenPile(len(names))
        for name in names:
            pile.spawn(self.peer_request, name, method, path,
                       headers_for(name) if callable(headers_for)
                       else headers_for, query, to_account=to_account)
        return {r.cluster: r for r in pile}

    # -- mirroring ------------------------------------------------------
    @staticmethod
    def mirrored_headers(req):
        out = {}
        for k, v in req.headers.items():
            kl = k.lower()
            if kl in _MIRRORED or kl.startswith(_MIRRORED_PREFIXES):
                out[k] = v
        return out

    def sync_headers(self, account, container, placement, key):
        """{cluster: {Sync-To, Sync-Key}} for a mirrored container."""
        out = {}
        for src, dst in sync_ring(placement).items():
            target = self.clusters[dst]
            if not target.realm:
                continue
            out[src] = {
                'X-Container-Sync-To': synckeys.realm_sync_to(
                    target.realm, target.sync_name, wsgi_to_str(account),
                    wsgi_to_str(container)),
                'X-Container-Sync-Key': key}
        return out

    def settle(self, req, results, method, path, headers_for,
               undo_local=None, undo_peer=None):
        """Apply the consistency mode to the peer ``results``.

        On a strict failure the change is taken back: ``undo_local()`` here,
        ``undo_peer(name) -> (method, headers)`` on every peer that did it
        and, queued, on every peer that gave no answer: it may still do it
        (timed out), or have done it before going away mid-request.

        :returns: (error response or None, pending cluster names)
        """
        failed = [r for r in results.values() if not r.ok]
        strict = [r for r in failed
                  if self.clusters[r.cluster].consistency == 'strict']
        pending = []
        if not strict:
            for r in failed:
                if self.enqueue(req, r.cluster, method, path,
                                headers_for(r.cluster)):
                    pending.append(r.cluster)
                else:
                    strict.append(r)
        if strict:
            self.undo(req, path, results, undo_local, undo_peer)
            worst = sorted(strict, key=lambda r: r.cluster)[0]
            msg = ('autosync: cluster %s failed: %s; the change was rolled '
                   'back\n' % (worst.cluster, worst.reason()))
            self.logger.error(msg.strip())
            return HTTPServiceUnavailable(
                body=msg.encode(), content_type='text/plain',
                headers={'X-Swiftsync-Failed-Cluster': worst.cluster},
                request=req), []
        for r in failed:
            self.logger.warning('autosync: %s %s queued for %s: %s', method,
                                wsgi_quote(path), r.cluster, r.reason())
        return None, sorted(pending)

    def undo(self, req, path, results, undo_local, undo_peer):
        if undo_local is not None:
            undo_local()
        if undo_peer is None:
            return
        ops = {}
        for name, r in results.items():
            op = undo_peer(name)
            if op is None:
                continue
            if r.ok:
                ops[name] = op
            elif r.status is None:
                self.enqueue(req, name, op[0], path, op[1])
        if ops:
            pile = GreenPile(len(ops))
            for name, (method, headers) in ops.items():
                pile.spawn(self.peer_request, name, method, path, headers)
            for r in pile:
                if not r.ok:
                    self.enqueue(req, r.cluster, ops[r.cluster][0], path,
                                 ops[r.cluster][1])

    def enqueue(self, req, cluster, method, path, headers):
        """Queue a peer operation durably in the local Swift."""
        record = json.dumps({
            'cluster': cluster, 'method': method, 'path': path,
            'headers': headers, 'origin': self.me,
            'queued_at': time.time()}).encode()
        return enqueue_local(req.environ, self.app, queue_name(cluster),
                             record)

    def container_put(self, req, account, container):
        path = '/v1/%s/%s' % (account, container)
        info = get_container_info(req.environ, self.app,
                                  swift_source=SWIFT_SOURCE)
        existed = info.get('status', 404) // 100 == 2
        old_placement = self.placement_of(info) if existed else []
        if PLACEMENT_HEADER in req.headers:
            try:
                placement = parse_placement(req.headers[PLACEMENT_HEADER],
                                            self.clusters,
                                            self.default_placement)
            except ValueError as e:
                return HTTPBadRequest(body=(str(e) + '\n').encode(),
                                      content_type='text/plain',
                                      request=req)
            del req.headers[PLACEMENT_HEADER]
        else:
            placement = old_placement or self.default_placement
        client_sync = any(h in req.headers for h in _CLIENT_SYNC)
        key = (info.get('sync_key') if existed and old_placement else None) \
            or synckeys.generate_key()
        versioning = VERSIONS_ENABLED in req.headers
        versioned = versioning or (existed and is_versioned(info))
        sync = {} if client_sync or versioned else self.sync_headers(
            account, container, placement, key)
        base = self.mirrored_headers(req)
        if versioning and existed and not client_sync:
            self.unsync_for_versioning(req, info, account, container,
                                       old_placement, base)

        def headers_for(name):
            h = dict(base)
            h[PLACEMENT_HEADER] = ','.join(placement)
            h.update(sync.get(name, {}))
            return h

        peers = [n for n in placement if n != self.me]
        if self.me not in placement or not existed:
            # Authorized by the auth filter, as the proxy would, before any
            # peer is touched; Swift's own checks of the request too.
            if not self.env_authorized(req):
                return req.environ['swift.authorize'](req)
            bad = check_metadata(req, 'container')
            if bad:
                return bad
        local = None
        if self.me in placement and existed:
            # an update: the local cluster decides first, then the peers
            local = self.local_put(req, placement, sync)
            if not local.is_success:
                return local
            results = self.on_peers(peers, 'PUT', path, headers_for,
                                    to_account=True)
        elif self.me in placement:
            # a new container: here and on the peers at the same time
            pile = GreenPile(max(1, len(peers)))
            for name in peers:
                pile.spawn(self.peer_request, name, 'PUT', path,
                           headers_for(name), to_account=True)
            # the peer requests go out before the local one takes this
            # process through the rest of the pipeline: theirs is the
            # longer way
            sleep(0)
            local = self.local_put(req, placement, sync)
            results = {r.cluster: r for r in pile} if peers else {}
            if not local.is_success:
                self.undo(req, path, results, None,
                          lambda name: ('DELETE', {}))
                return local
        else:
            results = self.on_peers(peers, 'PUT', path, headers_for,
                                    to_account=True)

        def undo_local():
            if local is not None and not existed:
                self.local_request(req, 'DELETE', path)

        def undo_peer(name):
            # a PUT of an existing container changes no data: keep it
            return None if existed else ('DELETE', {})

        error, pending = self.settle(req, results, 'PUT', path, headers_for,
                                     undo_local, undo_peer)
        if error:
            return error
        if local is None:
            local = Response(status=201 if not existed else 202,
                             request=req)
        if pending:
            local.headers[PENDING_HEADER] = ','.join(pending)
        if len(placement) > 1 or local is not None:
            local.headers[PLACEMENT_HEADER] = ','.join(placement)
        return local

    def local_put(self, req, placement, sync):
        req.headers[PLACEMENT_SYSMETA_HEADER] = ','.join(placement)
        req.headers.update(sync.get(self.me, {}))
        return req.get_response(self.app)

    def env_authorized(self, req):
        """Ask the auth filter whether the client may do ``req`` here."""
        authorize = req.environ.get('swift.authorize')
        return authorize is None or authorize(req) is None

    def unsync_for_versioning(self, req, info, account, container,
                              placement, peer_headers):
        """Drop the sync set up here before a versioning change, and
        have the peers drop theirs (``Sync-To: ''`` in the headers they
        get)."""
        if self.ring_synced(info, account, container, placement):
            self.drop_sync(req, account, container)
        peer_headers['X-Container-Sync-To'] = ''

    def ring_synced(self, info, account, container, placement):
        """Whether the container's Sync-To here is the one the filter set
        up (and not the owner's own)."""
        sync_to = info.get('sync_to')
        if not sync_to:
            return False
        mine = self.sync_headers(account, container, placement, '').get(
            self.me, {})
        return mine.get('X-Container-Sync-To') == sync_to

    def drop_sync(self, req, account, container):
        """Remove the container's Sync-To ahead of a versioning change:
        Swift's object_versioning, further down, refuses one on a
        container-sync source, looking at the container info."""
        path = '/v1/%s/%s' % (account, container)
        resp = self.local_request(req, 'POST', path,
                                  {'X-Container-Sync-To': ''})
        close_if_possible(resp.app_iter)
        clear_info_cache(req.environ, account, container)
        if not resp.is_success:
            self.logger.warning('autosync: could not drop the sync of %s '
                                'for versioning: %s', wsgi_quote(path),
                                resp.status)

    def local_request(self, req, method, path, headers=None):
        sub = make_pre_authed_request(req.environ, method, wsgi_quote(path),
                                      headers=headers,
                                      swift_source=SWIFT_SOURCE)
        # the proxy drops ACL and sync headers of a non-owner's request
        sub.environ['swift_owner'] = True
        return sub.get_response(self.app)

    def container_post(self, req, account, container, info, placement):
        if PLACEMENT_HEADER in req.headers:
            return HTTPBadRequest(
                body=b'X-Container-Placement can only be set on PUT\n',
                content_type='text/plain', request=req)
        if len(placement) < 2:
            return self.app
        path = '/v1/%s/%s' % (account, container)
        base = self.mirrored_headers(req)
        previous = previous_values(info, base)
        if VERSIONS_ENABLED in req.headers and \
                'X-Container-Sync-To' not in req.headers:
            self.unsync_for_versioning(req, info, account, container,
                                       placement, base)
        local = req.get_response(self.app)
        if not local.is_success:
            return local
        peers = [n for n in placement if n != self.me]
        results = self.on_peers(peers, 'POST', path, base)

        error, pending = self.settle(
            req, results, 'POST', path, lambda n: base,
            lambda: self.local_request(req, 'POST', path, previous),
            lambda name: ('POST', previous))
        if error:
            return error
        if pending:
            local.headers[PENDING_HEADER] = ','.join(pending)
        return local

    def container_delete(self, req, account, container, info, placement):
        if len(placement) < 2:
            return self.app
        path = '/v1/%s/%s' % (account, container)
        if not self.env_authorized(req):
            return req.environ['swift.authorize'](req)
        peers = [n for n in placement if n != self.me]
        heads = self.on_peers(peers, 'HEAD', path, {})
        for name in sorted(heads):
            count = heads[name].header('X-Container-Object-Count')
            if heads[name].ok and count not in (None, '0'):
                # objects this cluster deleted, container-sync not there
                # yet: carried now, so that `swift delete CONT` works
                done = self.emptier.empty(req, name, path, int(count))
                if not done.emptied:
                    resp_class = HTTPServiceUnavailable \
                        if done.error_status == 503 else HTTPConflict
                    return resp_class(
                        body=('autosync: %s\n' % done.reason()).encode(),
                        content_type='text/plain', request=req)
        reachable = [n for n, r in heads.items()
                     if r.ok or r.status == 404]
        unreachable = {n: r for n, r in heads.items() if n not in reachable}
        restore = restore_headers(info)
        ring_sync = self.sync_headers(account, container, placement,
                                      info['sync_key']) \
            if info.get('sync_key') else {}
        if any(self.clusters[n].consistency == 'strict'
               for n in unreachable):
            # emptiness unknown there: nothing is deleted anywhere
            error, _ = self.settle(req, unreachable, 'DELETE', path,
                                   lambda n: {})
            return error
        local = req.get_response(self.app)
        if not local.is_success and local.status_int != 404:
            return local
        targets = [n for n in reachable if heads[n].ok]
        results = self.on_peers(targets, 'DELETE', path, {})
        results = {n: r for n, r in results.items() if r.status != 404}
        results.update(unreachable)  # eventual peers: queued below

        error, pending = self.settle(
            req, results, 'DELETE', path, lambda n: {},
            lambda: self.local_request(req, 'PUT', path, restore),
            lambda name: ('PUT', dict(restore_headers(info, peer=True),
                                      **ring_sync.get(name, {}))))
        if error:
            return error
        if pending:
            local.headers[PENDING_HEADER] = ','.join(pending)
        return local

    def mirror_account(self, req, account):
        path = '/v1/%s' % account
        base = self.mirrored_headers(req)
        local = req.get_response(self.app)
        if not local.is_success:
            return local
        results = self.on_peers(sorted(self.peers), req.method, path, base)
        failed = [r for r in results.values() if not r.ok]
        pending = []
        for r in failed:
            # an account change cannot be taken back: always queue
            if self.enqueue(req, r.cluster, req.method, path, base):
                pending.append(r.cluster)
        if pending:
            local.headers[PENDING_HEADER] = ','.join(sorted(pending))
        return local

    # -- namespace reads -------------------------------------------------
    def account_listing(self, req, account):
        local = req.get_response(self.app)
        if local.status_int not in (200, 204):
            return local
        # req.params are WSGI strings (latin-1 of the UTF-8 bytes): the
        # merge compares them with the names of the JSON listings, and the
        # peer query encodes them again, so both need the real text
        params = {k: wsgi_to_str(v) for k, v in req.params.items()}
        try:
            page = listing.ListingParams.from_query(params)
        except ValueError:
            return local  # the local cluster accepted it: keep its answer
        query = {k: v for k, v in params.items() if k in (
            'marker', 'end_marker', 'prefix', 'delimiter', 'limit',
            'reverse')}
        query['format'] = 'json'
        results = self.on_peers(sorted(self.peers), 'GET',
                                '/v1/%s' % account, {}, query=query)
        listings = [json.loads(local.body or b'[]')]
        missing = []
        for name in sorted(results):
            r = results[name]
            if r.status == 200:
                listings.append(json.loads(r.body or b'[]'))
            elif r.status not in (204, 404):
                missing.append(name)
        merged = listing.merge_page(listings, page)
        body = json.dumps(merged).encode()
        local.status = 200 if merged or local.status_int == 200 else 204
        # a 200 is json, '[]' when empty: listing_formats makes it a 204
        # (plain) or an empty <account> (xml), as Swift answers
        local.body = body if local.status_int == 200 else b''
        local.content_type = 'application/json'
        if missing:
            local.headers['X-Swiftsync-Unreachable'] = ','.join(missing)
        return local

    def read_through(self, req, placement):
        # the headers as they came: the local attempt adds its own to the
        # request (X-Timestamp, X-Trans-Id, X-Backend-*)
        headers = forwardable(req.headers)
        local = req.get_response(self.app)
        if local.status_int != 404:
            return local
        for name in placement:
            if name == self.me:
                continue
            r = self.peer_request(name, req.method, req.path_info, headers,
                                  query=req.query_string or None,
                                  stream=True)
            if r.status is None:
                continue
            if not (r.ok or r.status in (304, 412, 416)):
                r.resp.read()  # 404 there too, or a peer problem
                r.release()
                continue
            self.logger.debug('autosync: read %s through %s',
                              wsgi_quote(req.path_info), name)
            close_if_possible(local.app_iter)  # the local 404 is not sent
            resp = streamed_response(req, r)
            resp.headers['X-Swiftsync-Read-Through'] = name
            return resp
        return local

    def forward(self, req, account, container, obj):
        """Serve a request for a container held by another cluster only.

        :returns: the peer's response, or None when no peer has it
        """
        path = '/v1/%s/%s' % (account, container)
        heads = self.on_peers(sorted(self.peers), 'HEAD', path, {})
        holders = [n for n in sorted(heads) if heads[n].ok]
        if not holders:
            return None
        holder = heads[holders[0]]
        read = req.method in ('GET', 'HEAD')
        # as in Swift's proxy: the ACLs open objects and the listing; a
        # container POST or DELETE is the owner's alone
        req.acl = holder.header('X-Container-Read' if read
                                else 'X-Container-Write') \
            if obj or read else None
        authorize = req.environ.get('swift.authorize')
        if authorize is not None:
            denied = authorize(req)
            if denied is not None:
                return denied
        flags = 'forward,owner' if req.environ.get('swift_owner') \
            else 'forward'
        headers = forwardable(req.headers)
        body = None
        if req.method in ('PUT', 'POST') or req.content_length:
            body = req.environ['wsgi.input']
            if req.content_length is not None:
                headers['Content-Length'] = str(req.content_length)
        r = self.peer_request(holder.cluster, req.method, req.path_info,
                              headers, query=req.query_string or None,
                              body=body, flags=flags, stream=True)
        if r.status is None or r.status == 401:
            if r.status is not None:
                r.resp.read()
                r.release()
            return HTTPServiceUnavailable(
                body=('autosync: cluster %s holding the container is %s\n'
                      % (r.cluster, r.reason())).encode(),
                content_type='text/plain', request=req)
        resp = streamed_response(req, r)
        if not req.environ.get('swift_owner'):
            for h in ('X-Container-Sync-Key', 'X-Container-Sync-To',
                      'X-Container-Read', 'X-Container-Write'):
                resp.headers.pop(h, None)
        resp.headers['X-Swiftsync-Forwarded-To'] = r.cluster
        return resp


class PeerPool(object):
    """Idle keep-alive connections to the peers, for one proxy process:
    a read-through or a mirrored change need not pay a new connection."""

    def __init__(self, per_peer=8):
        self.per_peer = per_peer
        self.idle = collections.defaultdict(list)

    def get(self, cluster):
        """(connection, whether it was used before)."""
        idle = self.idle[cluster.name]
        if idle:
            return idle.pop(), True
        return _connect(cluster), False

    def put(self, cluster, conn):
        idle = self.idle[cluster.name]
        if len(idle) < self.per_peer:
            idle.append(conn)
        else:
            conn.close()


def _connect(cluster):
    url = urlsplit(cluster.proxy_url)
    conn_cls = (green_http.HTTPSConnection if url.scheme == 'https'
                else green_http.HTTPConnection)
    return conn_cls(url.hostname, url.port, timeout=cluster.timeout)


def peer_request(cluster, me, method, path, headers=None, query=None,
                 body=None, flags='', stream=False, pool=None,
                 to_account=False):
    """One request from cluster ``me`` to the peer ``cluster`` (a
    :class:`swiftsync.config.Cluster`), signed with their secret.

    ``path`` is a WSGI string (as in PATH_INFO: unquoted), without the
    query string (``query``: a str or a dict). ``pool``: a
    :class:`PeerPool` to take the connection from and give it back to.

    ``to_account`` sends a container ``PUT`` to the path of its account,
    the container named in a signed header: Swift's ``container_sync``
    filter, ahead of auth in the peer's pipeline, looks up the container
    info of every container path it sees, which for a container about to
    be created costs a HEAD of the container server on the way; the peer's
    autosync puts the container path back once the signature is checked.

    :returns: a :class:`PeerResult`; with ``stream`` the caller reads
              ``.resp`` and then calls ``.release()``
    """
    name = cluster.name
    hdrs = dict(headers or {})
    signed = path
    if to_account:
        path, _, container = path.rpartition('/')
        hdrs[signing.CONTAINER] = wsgi_quote(container)
    full = (urlsplit(cluster.proxy_url).path or '') + wsgi_quote(path)
    if query:
        full += '?' + (query if isinstance(query, str)
                       else urlencode(query))
    conn = None
    # an upload stream is bounded by the socket timeout of each read
    replayable = body is None or isinstance(body, bytes)
    timer = Timeout(cluster.timeout if replayable else None)
    try:
        for attempt in (1, 2):
            if pool is not None and replayable and attempt == 1:
                conn, reused = pool.get(cluster)
            else:
                conn, reused = _connect(cluster), False
            # signed anew each time: the peer may have seen the first nonce
            hdrs.update(signing.sign_headers(cluster.secret, method, signed,
                                             me, name, flags=flags))
            try:
                # a stream without Content-Length goes chunked
                conn.request(method, full, body=body, headers=hdrs)
                resp = conn.getresponse()
                break
            except (OSError, green_http.HTTPException):
                conn.close()
                conn = None
                if not reused:
                    raise
                # the peer closed it while it was idle: once more, on a new
                # connection (the other idle ones may be as stale)
        result = PeerResult(name, resp.status, dict(resp.getheaders()))
        keep, conn = conn, None

        def release(complete=True):
            """Give the connection back (once the whole response was read)
            or close it."""
            if complete and pool is not None and replayable and \
                    not resp.will_close:
                pool.put(cluster, keep)
            else:
                keep.close()
        result.release = release
        if stream:
            result.resp = resp
            return result
        result.body = resp.read()
        release()
        return result
    except Timeout as t:
        if t is not timer:
            raise
        return PeerResult(name, error='timed out after %gs'
                          % cluster.timeout)
    except (OSError, green_http.HTTPException) as e:
        return PeerResult(name, error='unreachable (%s)'
                          % e.__class__.__name__)
    finally:
        timer.cancel()
        if conn is not None:
            conn.close()


def streamed_response(req, result):
    """A swob Response streaming an open peer response."""
    presp = result.resp

    def body():
        complete = False
        try:
            while True:
                chunk = presp.read(_CHUNK)
                if not chunk:
                    complete = True
                    break
                yield chunk
        finally:
            result.release(complete)

    headers = [(k, v) for k, v in presp.getheaders()
               if k.lower() not in _HOP_BY_HOP and
               not k.lower().startswith('x-swiftsync-peer')]
    resp = Response(request=req, status=result.status, headers=headers,
                    conditional_response=False)
    if req.method == 'HEAD':
        presp.read()
        result.release()
        return resp
    resp.app_iter = body()
    return resp


def is_versioned(info):
    """Whether Swift's object_versioning keeps versions of the container
    (enabled or suspended): it then cannot be a container-sync source."""
    return bool((info.get('sysmeta') or {}).get('versions-container'))


def previous_values(info, headers):
    """Headers that set back what ``headers`` (of a POST) change."""
    meta = info.get('meta') or {}
    out = {}
    was = (info.get('sysmeta') or {}).get('versions-enabled')
    if VERSIONS_ENABLED in headers and was is not None:
        out[VERSIONS_ENABLED] = was
    for k in headers:
        kl = k.lower()
        for prefix in ('x-container-meta-', 'x-remove-container-meta-'):
            if kl.startswith(prefix):
                name = kl[len(prefix):]
                out['X-Container-Meta-' + name] = meta.get(name, '')
        if kl in ('x-container-read', 'x-remove-container-read'):
            out['X-Container-Read'] = info.get('read_acl') or ''
        if kl in ('x-container-write', 'x-remove-container-write'):
            out['X-Container-Write'] = info.get('write_acl') or ''
    return out


def restore_headers(info, peer=False):
    """Headers re-creating a deleted container as ``info`` described it."""
    out = {'X-Container-Meta-' + k: v
           for k, v in (info.get('meta') or {}).items()}
    for key, header in (('read_acl', 'X-Container-Read'),
                        ('write_acl', 'X-Container-Write'),
                        ('sync_to', 'X-Container-Sync-To'),
                        ('sync_key', 'X-Container-Sync-Key')):
        if info.get(key):
            out[header] = info[key]
    placement = (info.get('sysmeta') or {}).get(PLACEMENT_SYSMETA)
    if placement:
        out[PLACEMENT_HEADER if peer else PLACEMENT_SYSMETA_HEADER] = \
            placement
    if peer:
        out.pop('X-Container-Sync-To', None)  # each copy syncs elsewhere
    return out


def queue_name(cluster):
    """A queue object's name: ``<timestamp>-<cluster>-<32 hex digits>``,
    in the order the operations were queued."""
    return '%s-%s-%s' % (Timestamp.now().internal, cluster, uuid.uuid4().hex)


def queue_entry(name):
    """(queued_at or None, cluster) of a :func:`queue_name`."""
    stamp, _, rest = name.partition('-')
    cluster = rest.rpartition('-')[0] or rest
    try:
        return float(stamp.partition('_')[0]), cluster
    except ValueError:
        return None, cluster


def enqueue_local(env, app, name, record):
    """PUT one queue record into the local ``.swiftsync/queue``; False when
    the local Swift did not take it."""
    obj = '/v1/%s/%s/%s' % (QUEUE_ACCOUNT, QUEUE_CONTAINER, name)
    for attempt in range(3):
        sub = make_pre_authed_request(
            env, 'PUT', obj, body=record,
            headers={'Content-Type': 'application/json'},
            swift_source=SWIFT_SOURCE)
        resp = sub.get_response(app)
        if resp.is_success:
            return True
        if resp.status_int != 404 or attempt == 2:
            return False
        # the queue container (or account) does not exist yet
        for path in ('/v1/%s' % QUEUE_ACCOUNT,
                     '/v1/%s/%s' % (QUEUE_ACCOUNT, QUEUE_CONTAINER)):
            make_pre_authed_request(env, 'PUT', path,
                                    swift_source=SWIFT_SOURCE).get_response(
                                        app)
    return False


def _positive_int(conf, key, default):
    value = conf.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError('autosync: %s must be a positive integer, not %r'
                         % (key, value))
    return number


def filter_factory(global_conf, **local_conf):
    conf = global_conf.copy()
    conf.update(local_conf)
    loaded = ss_config.load(conf.get('swiftsync_conf') or
                            ss_config.DEFAULT_PATH)
    register_swift_info(
        'autosync', cluster=loaded.globals.cluster,
        clusters=sorted(loaded.clusters),
        replay_window=float(conf.get('replay_window',
                                     signing.DEFAULT_WINDOW)))

    def autosync_filter(app):
        return AutosyncMiddleware(app, conf)
    return autosync_filter
