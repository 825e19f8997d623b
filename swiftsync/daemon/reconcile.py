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
``swiftsync reconcile``: repair what autosync left different.

The daemon runs on a node of each autosync cluster, next to the ``autosync``
filter, with the same operator file. Each pass:

1. **Drains the queue.** Operations the ``autosync`` filter could not do on
   an ``eventual`` peer are objects in the local account ``.swiftsync``,
   container ``queue``, named so that they list oldest first. Each is sent
   to its peer as a signed request, in order; it is removed once the peer
   did it (or answered that it no longer applies: a ``DELETE`` of a
   container already gone). A peer that still cannot be reached keeps its
   remaining operations, in order, for the next pass; an operation the peer
   refuses for good (for example ``409``: the container is no longer empty
   there) is dropped with an error in the log.

2. **Compares the namespace.** For every account whose database lives on
   this node's devices (or the ``--account`` given), the container listings
   of all the clusters are compared. For each container with an autosync
   placement, the copy on this cluster (or, when this cluster does not hold
   it, the first holding cluster by name) is the reference: a cluster of the
   placement that lacks the container gets it; a copy whose user metadata,
   ACLs, placement, sync target or sync key differ from what the reference
   and the sync ring say is updated. Nothing is ever deleted by this step:
   a copy on a cluster outside the placement is reported only.

3. **Carries versions.** A container with Swift's object versioning
   enabled has no container sync (Swift refuses both on one container):
   the versions written on this cluster that a copy with versioning
   enabled does not list are sent to it, oldest first, with their version
   ids (see :mod:`swiftsync.versions`). Each cluster's reconcile sends its
   own; a version the peer lists is not sent again.

``--once`` runs one pass and prints its report (JSON); ``--dry-run`` only
reports the queue depth and the differences.
"""

import json
import os
import time
from swift.common.internal_client import UnexpectedResponse
from swift.common.swob import str_to_wsgi, wsgi_quote
from swift.common.utils import close_if_possible, config_true_value

from swiftsync import synckeys, versions
from swiftsync.middleware.autosync import (
    PLACEMENT_HEADER, PLACEMENT_SYSMETA_HEADER, QUEUE_ACCOUNT,
    QUEUE_CONTAINER, peer_request, queue_entry, sync_ring)

#: container request headers compared between copies
_ACL_HEADERS = ('X-Container-Read', 'X-Container-Write')
_META = 'x-container-meta-'
#: object headers a carried version keeps (with the user metadata)
_VERSION_HEADERS = ('content-type', 'content-encoding', 'content-disposition',
                    'content-language', 'x-object-manifest', 'etag')


def _lower(headers):
    return {k.lower(): v for k, v in (headers or {}).items()}


def _as_owner(app):
    """The internal client's pipeline, its requests made as the account
    owner: the proxy hides ACLs and sync settings from anyone else and
    drops them from their container PUTs and POSTs."""
    def owner_app(env, start_response):
        env['swift_owner'] = True
        return app(env, start_response)
    return owner_app


class Copy(object):
    """One cluster's view of a container."""

    def __init__(self, cluster, status, headers=None):
        self.cluster = cluster
        self.status = status
        h = _lower(headers)
        self.exists = status is not None and 200 <= status < 300
        self.reachable = status is not None and (self.exists or
                                                 status == 404)
        self.placement = sorted(
            n for n in (h.get(PLACEMENT_HEADER.lower()) or h.get(
                PLACEMENT_SYSMETA_HEADER.lower()) or '').split(',') if n)
        self.sync_to = h.get('x-container-sync-to') or ''
        self.sync_key = h.get('x-container-sync-key') or ''
        self.acls = {k: h.get(k.lower()) or '' for k in _ACL_HEADERS}
        self.meta = {k[len(_META):]: v for k, v in h.items()
                     if k.startswith(_META)}
        # object_versioning shows the setting to the owner; the internal
        # client (no such filter) sees the sysmeta it keeps
        enabled = h.get('x-versions-enabled',
                        h.get('x-container-sysmeta-versions-enabled'))
        self.versioning = None if enabled is None else \
            config_true_value(enabled)


class Reconciler(object):

    def __init__(self, conf, logger, swift=None, accounts=None,
                 dry_run=False):
        g = conf.globals
        if not g.cluster or len(conf.clusters) < 2:
            raise ValueError('%s: autosync needs [swiftsync] cluster and at '
                             'least two [cluster:NAME] sections' % conf.path)
        self.conf = conf
        self.logger = logger
        self.me = g.cluster
        self.clusters = dict(conf.clusters)
        self.peers = sorted(n for n in self.clusters if n != self.me)
        self.interval = g.interval
        self.only_accounts = list(accounts or [])
        self.dry_run = dry_run
        if swift is None:
            from swiftsync.daemon.sync import make_internal_client
            swift = make_internal_client(g, 'swiftsync-reconcile')
            swift.app = _as_owner(swift.app)
        self.swift = swift

    # -- passes ---------------------------------------------------------
    def run_forever(self):
        self.logger.info('swiftsync reconcile started: every %gs',
                         self.interval)
        while True:
            begin = time.time()
            try:
                self.run_once()
            except Exception:
                self.logger.exception('swiftsync reconcile: pass failed')
            time.sleep(max(0.5, self.interval - (time.time() - begin)))

    def run_once(self):
        begin = time.time()
        report = {'cluster': self.me, 'dry_run': self.dry_run,
                  'queue': self.drain_queue(), 'differences': [],
                  'unreachable': []}
        unreachable = set()
        for account in self.accounts():
            diffs, down = self.reconcile_account(account)
            report['differences'] += diffs
            unreachable |= down
        report['unreachable'] = sorted(unreachable)
        report['seconds'] = round(time.time() - begin, 3)
        self.logger.info('swiftsync reconcile: %s', json.dumps(report))
        return report

    # -- the queue --------------------------------------------------------
    def queued(self):
        try:
            return [o['name'] for o in self.swift.iter_objects(
                QUEUE_ACCOUNT, QUEUE_CONTAINER)]
        except UnexpectedResponse as e:
            if e.resp.status_int == 404:
                return []
            raise

    def drain_queue(self):
        names = self.queued()
        out = {'depth': len(names), 'replayed': 0, 'dropped': 0,
               'pending': len(names), 'by_cluster': {},
               'oldest_seconds': None}
        for name in names:
            queued_at, cluster = queue_entry(name)
            out['by_cluster'][cluster] = out['by_cluster'].get(cluster,
                                                               0) + 1
            if queued_at is not None:
                age = round(max(0.0, time.time() - queued_at), 1)
                out['oldest_seconds'] = max(out['oldest_seconds'] or 0, age)
        if self.dry_run:
            return out
        blocked = set()
        for name in names:
            path = '/v1/%s/%s/%s' % (QUEUE_ACCOUNT, QUEUE_CONTAINER, name)
            try:
                resp = self.swift.make_request('GET', path, {}, (2, 404))
                if resp.status_int == 404:
                    out['pending'] -= 1
                    continue
                record = json.loads(resp.body)
            except (UnexpectedResponse, ValueError) as e:
                self.logger.error('reconcile: unreadable queue entry %s: %s',
                                  name, e)
                continue
            peer = record.get('cluster')
            if peer in blocked:
                continue
            if peer not in self.clusters or peer == self.me:
                self.logger.error('reconcile: queue entry %s for unknown '
                                  'cluster %r dropped', name, peer)
                outcome = 'dropped'
            else:
                outcome = self.replay(record)
            if outcome == 'retry':
                blocked.add(peer)
                continue
            out['replayed' if outcome == 'done' else 'dropped'] += 1
            out['pending'] -= 1
            self.swift.make_request('DELETE', path, {}, (2, 404))
        return out

    def replay(self, record):
        method, path = record['method'], record['path']
        r = peer_request(self.clusters[record['cluster']], self.me, method,
                         path, record.get('headers') or {})
        if r.ok or (method == 'DELETE' and r.status == 404):
            self.logger.info('reconcile: replayed %s %s on %s', method,
                             wsgi_quote(path), r.cluster)
            return 'done'
        if r.status is None or r.status >= 500 or r.status in (401, 429):
            # 401: clocks or secrets being fixed; keep it
            self.logger.warning('reconcile: %s %s on %s still failing: %s',
                                method, wsgi_quote(path), r.cluster,
                                r.reason())
            return 'retry'
        self.logger.error('reconcile: %s %s on %s refused (%s); dropped',
                          method, wsgi_quote(path), r.cluster, r.reason())
        return 'dropped'

    # -- the namespace ----------------------------------------------------
    def accounts(self):
        if self.only_accounts:
            return self.only_accounts
        from swift.account.backend import AccountBroker
        found = set()
        devices = self.conf.globals.devices
        for device in sorted(os.listdir(devices)) if os.path.isdir(
                devices) else []:
            root = os.path.join(devices, device, 'accounts')
            for dirpath, _dirs, files in os.walk(root):
                for f in files:
                    if not f.endswith('.db'):
                        continue
                    try:
                        broker = AccountBroker(os.path.join(dirpath, f))
                        if broker.is_deleted():
                            continue
                        account = broker.get_info()['account']
                    except Exception:
                        continue
                    if not account.startswith('.'):
                        found.add(account)
        return sorted(found)

    def listing(self, cluster, account):
        """Container names of ``account`` on ``cluster``; None when it
        cannot be reached."""
        names, marker = [], ''
        while True:
            if cluster == self.me:
                try:
                    page = [c['name'] for c in self.swift.iter_containers(
                        account, marker=marker)]
                except UnexpectedResponse as e:
                    if e.resp.status_int == 404:
                        return names
                    return None
                return names + page
            r = peer_request(self.clusters[cluster], self.me, 'GET',
                             str_to_wsgi('/v1/%s' % account),
                             query={'format': 'json', 'marker': marker})
            if r.status == 404 or r.status == 204:
                return names
            if r.status != 200:
                return None
            page = [c['name'] for c in json.loads(r.body or b'[]')]
            if not page:
                return names
            names += page
            marker = page[-1]

    def state(self, cluster, account, container):
        if cluster == self.me:
            try:
                resp = self.swift.make_request(
                    'HEAD', self.swift.make_path(account, container), {},
                    (2, 404))
            except UnexpectedResponse:
                return Copy(cluster, None)
            return Copy(cluster, resp.status_int, resp.headers)
        r = peer_request(self.clusters[cluster], self.me, 'HEAD',
                         str_to_wsgi('/v1/%s/%s' % (account, container)))
        return Copy(cluster, r.status, r.headers)

    def reconcile_account(self, account):
        views = {n: self.listing(n, account) for n in sorted(self.clusters)}
        down = set(n for n, v in views.items() if v is None)
        names = sorted(set().union(*(v for v in views.values() if v)))
        diffs = []
        for container in names:
            diffs += self.reconcile_container(account, container, down)
        return diffs, down

    def reconcile_container(self, account, container, down):
        copies = {n: self.state(n, account, container)
                  for n in sorted(self.clusters) if n not in down}
        holders = [c for c in copies.values() if c.exists and c.placement]
        if not holders:
            return []  # not an autosync container
        ref = copies.get(self.me) if self.me in copies and \
            copies[self.me].exists and copies[self.me].placement \
            else holders[0]
        placement = ref.placement
        key = ref.sync_key or next(
            (c.sync_key for c in holders if c.sync_key), None) or \
            synckeys.generate_key()
        ring = sync_ring(placement)
        # Sync set by hand by the owner (a Sync-To that is not the ring's)
        # is left alone.
        manage_sync = all(
            not c.sync_to or c.sync_to == self.ring_sync_to(
                ring.get(c.cluster), account, container)
            for c in holders)
        # a versioned container cannot be synced: reconcile carries it
        manage_sync = manage_sync and not any(
            c.versioning is not None for c in holders)
        diffs = []
        for name, copy in sorted(copies.items()):
            where = {'account': account, 'container': container,
                     'cluster': name}
            if name not in placement:
                if copy.exists:
                    diffs.append(dict(where, problem='outside placement',
                                      fix=None))
                continue
            if not copy.reachable:
                continue
            want = self.desired(ref, account, container, placement, key,
                                ring.get(name) if manage_sync else None,
                                copy)
            if not copy.exists:
                problem, method, headers = 'missing', 'PUT', want
            else:
                headers = {k: v for k, v in want.items()
                           if not self.same(copy, k, v)}
                if not headers:
                    continue
                problem, method = 'differs: %s' % ', '.join(
                    sorted(k.lower() for k in headers)), 'POST'
            fix = None if self.dry_run else self.apply(
                name, method, account, container, headers)
            diffs.append(dict(where, problem=problem, fix=fix))
            if fix == 'done' and 'X-Versions-Enabled' in headers:
                copy.versioning = config_true_value(
                    headers['X-Versions-Enabled'])
        mine = copies.get(self.me)
        if mine is not None and mine.versioning and self.me in placement:
            for name in placement:
                copy = copies.get(name)
                if name == self.me or copy is None or not copy.versioning:
                    continue
                diffs += self.carry_versions(account, container, name)
        return diffs

    def desired(self, ref, account, container, placement, key, sync_dst,
                copy):
        want = {PLACEMENT_HEADER: ','.join(placement)}
        for k, v in ref.acls.items():
            want[k] = v
        for k, v in ref.meta.items():
            want['X-Container-Meta-' + k] = v
        for k in copy.meta:
            if k not in ref.meta:
                want['X-Remove-Container-Meta-' + k] = 'x'
        if ref.versioning is not None:
            want['X-Versions-Enabled'] = str(ref.versioning)
            if copy.sync_to:
                # the peer's autosync drops it first: Swift refuses
                # versioning on a container-sync source
                want['X-Container-Sync-To'] = ''
            return want
        sync_to = self.ring_sync_to(sync_dst, account, container)
        if sync_to:
            want['X-Container-Sync-To'] = sync_to
            want['X-Container-Sync-Key'] = key
        return want

    def ring_sync_to(self, dst, account, container):
        target = self.clusters.get(dst) if dst else None
        if target is None or not target.realm:
            return None
        return synckeys.realm_sync_to(target.realm, target.sync_name,
                                      account, container)

    @staticmethod
    def same(copy, header, value):
        h = header.lower()
        if h == PLACEMENT_HEADER.lower():
            return ','.join(copy.placement) == value
        if h == 'x-container-sync-to':
            return copy.sync_to == value
        if h == 'x-container-sync-key':
            return copy.sync_key == value
        if h == 'x-versions-enabled':
            return copy.versioning is not None and \
                str(copy.versioning) == value
        if header in copy.acls:
            return copy.acls[header] == value
        if h.startswith('x-remove-container-meta-'):
            return False
        return copy.meta.get(h[len(_META):]) == value

    # -- versions ---------------------------------------------------------
    def local_versions(self, account, container):
        hidden = versions.versions_container(container)
        try:
            for item in self.swift.iter_objects(account, hidden):
                yield from versions.from_hidden_listing([item])
        except UnexpectedResponse as e:
            if e.resp.status_int != 404:
                raise

    def peer_versions(self, cluster, account, container):
        """The ``?versions`` listing of the copy on ``cluster``, paged.

        :raises IOError: the peer did not answer a page
        """
        path = str_to_wsgi('/v1/%s/%s' % (account, container))
        marker = version_marker = ''
        while True:
            query = {'versions': '', 'format': 'json'}
            if marker:
                query.update(marker=marker, version_marker=version_marker)
            r = peer_request(self.clusters[cluster], self.me, 'GET', path,
                             query=query)
            if r.status == 204:
                return
            if r.status != 200:
                raise IOError('listing versions: %s' % r.reason())
            page = json.loads(r.body or b'[]')
            if not page:
                return
            yield from versions.from_versions_listing(page)
            marker = page[-1]['name']
            version_marker = page[-1].get('version_id') or ''

    def carry_versions(self, account, container, cluster):
        """Send the versions ``cluster`` lacks; one report entry per
        version sent (or failed)."""
        where = {'account': account, 'container': container,
                 'cluster': cluster}
        sent = []
        try:
            todo = versions.oldest_first(versions.missing(
                self.local_versions(account, container),
                self.peer_versions(cluster, account, container)))
            for v in todo:
                fix = None if self.dry_run else self.send_version(
                    account, container, cluster, v)
                sent.append(dict(where, object=v.name,
                                 version_id=v.version_id,
                                 problem='delete marker missing'
                                 if v.is_marker else 'version missing',
                                 fix=fix))
        except (IOError, UnexpectedResponse) as e:
            sent.append(dict(where, problem='versions not compared: %s' % e,
                             fix=None))
        return sent

    def send_version(self, account, container, cluster, version):
        path = str_to_wsgi('/v1/%s/%s/%s' % (account, container,
                                              version.name))
        headers = {'X-Timestamp': version.version_id}
        if version.is_marker:
            r = peer_request(self.clusters[cluster], self.me, 'DELETE', path,
                             headers)
        else:
            status, src, body = self.swift.get_object(
                account, versions.versions_container(container),
                version.hidden_name, acceptable_statuses=(2, 404))
            if status == 404:
                return 'gone here'
            src = dict(src)
            if config_true_value(src.get('X-Static-Large-Object')):
                # its manifest would land as a plain JSON object: reported,
                # not sent (doc/autosync.rst)
                close_if_possible(body)
                return 'skipped: SLO versions are not carried'
            headers.update(_carried_headers(src))
            headers['Content-Length'] = src.get('Content-Length', '0')
            try:
                r = peer_request(self.clusters[cluster], self.me, 'PUT',
                                 path, headers, body=_Reader(body))
            finally:
                close = getattr(body, 'close', None)
                if close:
                    close()
        # 409: the peer's current object is newer; the version (or marker)
        # is in its versions container all the same. 404: a marker for an
        # object the peer had not.
        if r.ok or r.status in (404, 409):
            return 'done'
        return 'failed: %s' % r.reason()

    def apply(self, cluster, method, account, container, headers):
        if cluster == self.me:
            local = dict(headers)
            if PLACEMENT_HEADER in local:
                local[PLACEMENT_SYSMETA_HEADER] = local.pop(PLACEMENT_HEADER)
            try:
                self.swift.make_request(
                    method, self.swift.make_path(account, container), local,
                    (2,))
                return 'done'
            except UnexpectedResponse as e:
                return 'failed: %d' % e.resp.status_int
        r = peer_request(self.clusters[cluster], self.me, method,
                         str_to_wsgi('/v1/%s/%s' % (account, container)),
                         headers)
        return 'done' if r.ok else 'failed: %s' % r.reason()


def _carried_headers(headers):
    out = {}
    for k, v in headers.items():
        kl = k.lower()
        if kl in _VERSION_HEADERS or kl.startswith('x-object-meta-'):
            out[k] = v
    return out


class _Reader(object):
    """A file-like view of a WSGI body iterable, for an upload that
    streams: http.client reads it block by block."""

    def __init__(self, app_iter):
        self._iter = iter(app_iter)
        self._buf = b''

    def read(self, size=65536):
        while len(self._buf) < size:
            chunk = next(self._iter, None)
            if chunk is None:
                break
            self._buf += chunk
        out, self._buf = self._buf[:size], self._buf[size:]
        return out
