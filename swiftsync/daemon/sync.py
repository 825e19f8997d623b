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
The ``swiftsync sync`` daemon: container changes flow to remote stores.

It runs on every container node, like Swift's ``container-sync``. Each pass
walks the container databases on the devices of this node; for every
container with a mapping (an operator ``[mapping:NAME]`` of the operator
file, or the container owner's opt-in, see :mod:`swiftsync.middleware.shunt`)
it reads the rows added since its checkpoint (``ContainerBroker.
get_items_since``) and propagates them to the mapping's target through the
transfer engine: a new or changed object is copied (or only its metadata),
a deleted object is deleted remotely when the mapping propagates deletes.

Modes:

``sync``
    the remote is kept a copy of the container;
``archive``
    an object older than ``after`` seconds is copied, then removed
    locally. The local DELETE carries an ``X-Timestamp`` just above the
    one of the row that was copied, so a newer local write (a PUT after the
    copy) always wins: the object server refuses the DELETE (409) and the
    new version stays, to be archived in its turn. These DELETEs (their
    timestamp has an offset) are never propagated to the remote.

Latency: a full pass (which also finds newly mapped containers) runs every
``interval`` seconds; in between, the daemon stats the database and the
``.pending`` file of each container it synced in the last pass every
``WATCH_INTERVAL`` and syncs a container as soon as they change, so a
change usually reaches the remote store within a fraction of a second.

Splitting the work: a container has one database per replica. The daemon
on the node holding replica ``i`` of ``n`` copies the rows whose
``hash_path(account, container, name) % n == i`` as soon as it sees them;
``verify_slack`` seconds later it checks the other rows too (the transfer
engine skips an object already current remotely, at the price of one
remote HEAD). So an object is normally uploaded once, and still arrives
when the node that owned it is down.

Failures: a row that fails is retried in the same pass with backoff when
the error is retryable (5xx, throttling, timeouts), then recorded in the
checkpoint and retried on later passes with a growing delay; the rows
after it go on. When the store fails ``BREAKER`` rows in a row with an
error that says it is unusable (a dead endpoint, wrong credentials, 5xx),
at the start of a pass or in its middle, the pass stops early for that
container, the checkpoint stays before the first failed row, the error
goes to the log and to ``swiftsync status``, and the container is left
alone for a growing delay (up to ``MAX_BACKOFF``), so there is no hot loop
and nothing is lost.
After a crash (a pass that never finished) or a pass the store failed
under, the next pass aborts the multipart uploads left open on S3: those
of the rows its replica owns, started before that pass, and any older than
a week; another replica's upload in flight is left alone.

Sharded containers: when Swift's sharder shards a container, its rows
move from the root container's DB into shard DBs (containers of the hidden
account ``.shards_<account>``) and new rows go there. The daemon reads a
shard DB like any other and attributes its rows to the ROOT container: the
root's mapping (operator mapping or the owner's opt-in, read from the root
container), the root's remote place, the root's object paths for reads
and archive deletes. Every DB file has its own checkpoint, so a root in
``sharding`` state (a retiring and a fresh DB side by side) and each shard
go on independently. A root that is ``sharded`` holds no object rows: that
is never taken for an empty container, nothing is deleted remotely because
of it. Rows cleaved into a new shard DB start its checkpoint from row 0;
each is compared with the remote (the transfer engine's HEADs, or the
remote listing of the shard's name range) and skipped when the remote copy
is current, so nothing synced before the sharding is uploaded again and a
row the sharding interrupted is copied from the shard.

Metrics (StatsD through Swift's logger, ``log_statsd_*`` in
``[swiftsync]``): ``objects``, ``metadata``, ``bytes``, ``deletes``,
``archived``, ``skips``, ``errors``, ``passes`` and the ``lag`` timing
(from the local change to the remote copy).
"""

import hashlib
import math
import os
import time
from struct import unpack_from

import eventlet
from swift.common.db import DatabaseConnectionError
from swift.common.internal_client import InternalClient, UnexpectedResponse
from swift.common.ring import Ring
from swift.common.ring.utils import is_local_device
from swift.common.utils import (
    ShardRange, Timestamp, audit_location_generator, decode_timestamps,
    get_db_files, hash_path, parse_header, whataremyips)
from swift.common.wsgi import ConfigString
from swift.container.backend import (
    DATADIR, SHARDED, SHARDING, UNSHARDED, ContainerBroker)

from swiftsync.config import UnknownNameError
from swiftsync.daemon.checkpoint import (
    Checkpoint, checkpoint_path, iter_checkpoints)
from swiftsync.middleware import optin
from swiftsync.stores.base import NotFound, ObjectInfo, StoreError, is_md5

#: rows read from a container DB at a time (and between two checkpoints)
CHUNK = 500
#: the longest a failing row or container is left alone
MAX_BACKOFF = 600.0
#: consecutive failures, without a success, that stop a container's pass
BREAKER = 4
#: between passes, how often the mapped container DBs are looked at
WATCH_INTERVAL = 0.1
#: ... unless there are more than this many of them on the node
MAX_WATCHED = 2000
#: rows waiting in a container from which its remote listing is read once
#: instead of one HEAD per object
LISTING_THRESHOLD = 200
#: how often the checkpoint follows the rows done in a batch (seconds)
CHECKPOINT_EVERY = 1.0
#: a multipart upload open for longer than this is abandoned, whoever
#: started it (aborted after a crash of any replica's daemon)
STALE_UPLOAD = 7 * 86400.0

# Row outcomes (besides the transfer engine's)
DONE, FAILED, ABORTED, NOT_MINE = 'done', 'failed', 'aborted', 'not-mine'

_IC_CONF = '''
[DEFAULT]
[pipeline:main]
pipeline = catch_errors proxy-logging cache symlink proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:symlink]
use = egg:swift#symlink

[filter:cache]
use = egg:swift#memcache

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:catch_errors]
use = egg:swift#catch_errors
'''.lstrip()


def backoff(attempts, base=2.0, cap=MAX_BACKOFF):
    """Seconds to wait after the ``attempts``-th failure."""
    return min(cap, base * 2 ** max(0, attempts - 1))


def ordinal_of(account, container, name, replicas):
    """The replica (0..replicas-1) whose daemon copies ``name`` first, as
    Swift's container-sync splits its rows."""
    return unpack_from('>I', hash_path(account, container, name,
                                       raw_digest=True))[0] % replicas


def systemic(exc):
    """Does ``exc`` say the store is unusable (down, refusing our
    credentials, overloaded) rather than that one object is bad?"""
    if isinstance(exc, StoreError):
        status = exc.status
        if status is None:
            return exc.retryable  # connection refused, timeout...
        return status in (401, 403, 429) or status >= 500
    return False


def pending_file_of(path):
    """The ``.pending`` file of a container DB file: the same for every
    epoch of a DB (``<hash>_<epoch>.db`` queues into ``<hash>.db.pending``,
    as :class:`ContainerBroker` does)."""
    base, name = os.path.split(path)
    stem = name[:-len('.db')] if name.endswith('.db') else name
    return os.path.join(base, stem.split('_', 1)[0] + '.db.pending')


def db_signature(path):
    """What changes when rows reach a container DB: the mtime and size of
    the DB and of its ``.pending`` file (where the container server queues
    object updates)."""
    sig = []
    for p in (path, pending_file_of(path)):
        try:
            st = os.stat(p)
            sig.append((st.st_mtime_ns, st.st_size))
        except OSError:
            sig.append(None)
    return tuple(sig)


def short(name, limit=120):
    """An object name for a log line: quoted, and cut when very long."""
    if len(name) > limit:
        return '%r...(%d chars)' % (name[:limit], len(name))
    return repr(name)


def row_timestamps(row):
    """(data, content-type, metadata) Timestamps of a row."""
    return decode_timestamps(row['created_at'])


def row_bytes(row):
    """The size of the object a row stands for. A symlink row (every
    object of a versioned container is one, to its current version) has
    size 0 and its target's size in the etag's parameters."""
    etag = row['etag'] or ''
    if ';' in etag:
        _, params = parse_header(etag)
        if 'symlink_target_bytes' in params:
            try:
                return int(params['symlink_target_bytes'])
            except ValueError:
                pass
    return row['size'] or 0


def fingerprint(target, mapping):
    """What identifies the destination of a container: changing any of it
    restarts the container from row 0."""
    where = [target.type, target.name, target.layout, target.prefix]
    if target.type == 's3':
        where += [target.endpoint or 'aws', target.bucket]
    else:
        where += [target.auth_url, target.account or '',
                  target.container_suffix or '']
    where += [mapping.remote_container or '', mapping.mode]
    return '|'.join(str(w) for w in where)


def make_internal_client(globals_, logger_name='swiftsync-sync'):
    path = globals_.internal_client_conf_path
    if not path:
        default = os.path.join(globals_.swift_dir, 'internal-client.conf')
        path = default if os.path.exists(default) else ConfigString(_IC_CONF)
    return InternalClient(path, 'swiftsync sync', 3,
                          use_replication_network=True,
                          global_conf={'log_name': logger_name + '-ic'})


def root_of(broker, info):
    """(account, container) of the root container whose rows ``broker``
    holds: the broker's own for a root (or an unsharded container), the
    root named by the shard's sysmeta (``X-Container-Sysmeta-Shard-Quoted-
    Root``, or the older ``...-Shard-Root``) for a shard DB. A shard DB
    whose root sysmeta is unreadable is taken for a root of its own."""
    try:
        account, container = broker.root_account, broker.root_container
    except ValueError:
        account = container = None
    if not account or not container:
        return info['account'], info['container']
    return account, container


class ListedStore(object):
    """A destination store whose ``head`` of a name the remote listing
    does not show answers None without a request.

    Used for large batches (an initial sync): one listing request per
    thousand names instead of one HEAD per object. A listing that lags
    (Swift's container listings are eventually consistent) can only cause
    a needless copy, never a missed one: a listed name is still HEADed.
    """

    def __init__(self, store, marker='', end_marker=''):
        self._store = store
        self._names = set()
        try:
            bounds = {'marker': marker, 'end_marker': end_marker} \
                if marker or end_marker else {}
            for item in store.list(**bounds):
                if not isinstance(item, dict):
                    self._names.add(item.name)
        except NotFound:
            # a Swift destination container not created yet holds nothing
            pass

    def head(self, name):
        if name not in self._names:
            return None
        return self._store.head(name)

    def listed(self, name):
        return name in self._names

    def __getattr__(self, attr):
        return getattr(self._store, attr)


def ensure_expiry(store, mapping, logger):
    """``expire_after`` of a mapping: on S3, a lifecycle rule expiring the
    keys of the container's remote place (its key prefix) after that many
    days, at least one, other rules of the bucket kept; on Swift,
    X-Delete-After on every object and segment written. Returns what could
    not be done, or None."""
    if not mapping.expire_after:
        return None
    if getattr(store, 'kind', None) == 'swift':
        # every object (and segment) written carries X-Delete-After
        store.delete_after = mapping.expire_after
        return None
    client = getattr(store, 'client', None)
    base = getattr(store, 'base', None)
    if getattr(store, 'kind', None) != 's3' or not client or not base:
        return 'remote expiry is not supported on this target'
    days = max(1, int(math.ceil(mapping.expire_after / 86400.0)))
    rule_id = 'swiftsync-' + hashlib.sha1(
        base.encode('utf-8')).hexdigest()[:16]
    try:
        rules = client.get_bucket_lifecycle_configuration(
            Bucket=store.bucket).get('Rules', [])
    except Exception as e:  # no configuration yet: a 404 of its own kind
        if 'NoSuchLifecycleConfiguration' not in str(e):
            raise StoreError('GET ?lifecycle: %s' % e, None, True)
        rules = []
    rule = {'ID': rule_id, 'Status': 'Enabled', 'Filter': {'Prefix': base},
            'Expiration': {'Days': days}}
    if rule in rules:
        return None
    rules = [r for r in rules if r.get('ID') != rule_id] + [rule]
    try:
        client.put_bucket_lifecycle_configuration(
            Bucket=store.bucket, LifecycleConfiguration={'Rules': rules})
    except Exception as e:
        raise StoreError('PUT ?lifecycle: %s' % e, None, True)
    logger.info('cloud sync: s3://%s/%s* now expires after %d day(s)',
                store.bucket, base, days)
    return None


class LocalDB(object):
    """A container DB file of this node that is one of its container's
    primary replicas.

    ``account``/``container`` name the container its rows belong to: the
    ROOT container for a shard DB (``db_account``/``db_container`` are the
    shard's own names, which place the DB in the ring). ``state`` is the
    DB's sharding state (``unsharded``, ``sharding``, ``sharded``,
    ``collapsed``); ``retiring`` says the file is the old DB of a container
    being sharded, its rows being cleaved into shards."""

    def __init__(self, path, broker, info, ordinal, replicas, root=None,
                 state=UNSHARDED, retiring=False):
        self.path = path
        self.broker = broker
        self.info = info
        self.db_account = info['account']
        self.db_container = info['container']
        self.account, self.container = root or (self.db_account,
                                                self.db_container)
        self.ordinal = ordinal
        self.replicas = replicas
        self.state = state
        self.retiring = retiring

    @property
    def is_shard(self):
        return (self.account, self.container) != (self.db_account,
                                                  self.db_container)

    def shard_bounds(self):
        """(lower, upper) names of a shard DB's range; ('', '') for a
        root."""
        if not self.is_shard:
            return '', ''
        try:
            own = self.broker.get_own_shard_range(no_default=True)
        except Exception:  # noqa: an old or odd DB: no bounds then
            own = None
        if own is None:
            return '', ''
        return str(own.lower or ''), str(own.upper or '')

    def describe(self):
        """What the checkpoint and ``swiftsync status`` say about the DB
        file itself."""
        return {'account': self.db_account, 'container': self.db_container,
                'path': self.path, 'shard': self.is_shard,
                'state': self.state, 'retiring': self.retiring}

    def mine(self, row):
        return self.replicas == 1 or ordinal_of(
            self.account, self.container, row['name'],
            self.replicas) == self.ordinal

    def current_row(self, name):
        """The row of ``name`` now (a newer write replaces the row)."""
        with self.broker.get() as conn:
            found = conn.execute(
                'SELECT ROWID, name, created_at, size, content_type, etag, '
                'deleted, storage_policy_index FROM object WHERE name = ?',
                (name,)).fetchone()
        if not found:
            return None
        keys = ('ROWID', 'name', 'created_at', 'size', 'content_type',
                'etag', 'deleted', 'storage_policy_index')
        return dict(zip(keys, found))

    def pending(self, after_row):
        """(rows after ``after_row``, created_at of the first of them)."""
        with self.broker.get() as conn:
            count = conn.execute('SELECT COUNT(*) FROM object WHERE '
                                 'ROWID > ?', (after_row,)).fetchone()[0]
            first = conn.execute(
                'SELECT created_at FROM object WHERE ROWID > ? '
                'ORDER BY ROWID LIMIT 1', (after_row,)).fetchone()
        return count, first[0] if first else None

    def synced_rows(self, upto_row):
        with self.broker.get() as conn:
            return conn.execute('SELECT COUNT(*) FROM object WHERE '
                                'ROWID <= ?', (upto_row,)).fetchone()[0]


class Node(object):
    """Which container DBs of this node to sync, and how."""

    def __init__(self, conf, logger, ring=None, swift=None):
        self.conf = conf
        g = conf.globals
        self.logger = logger
        self.devices = g.devices
        self.mount_check = g.mount_check
        self.ring = ring or Ring(g.swift_dir, ring_name='container')
        self.myips = whataremyips(g.bind_ip)
        self.myport = g.bind_port
        #: an InternalClient, to read the sysmeta of a root container
        #: none of whose DBs is on this node (made when first needed)
        self.swift = swift
        self._roots = {}

    def begin_pass(self):
        """Forget what was read of root containers (their opt-in)."""
        self._roots = {}

    def local_dbs(self):
        """Every container DB of this node that is a primary replica."""
        for path, device, _part in audit_location_generator(
                self.devices, DATADIR, '.db', mount_check=self.mount_check,
                logger=self.logger):
            db = self.open(path, device)
            if db is not None:
                yield db

    def open(self, path, device):
        """The LocalDB of one DB file (each epoch of a DB is a file of its
        own: while a container shards, its retiring DB and its fresh DB
        are both read, each with its own checkpoint)."""
        try:
            main = ContainerBroker(path, logger=self.logger)
            files = main.db_files
            if path not in files:
                return None   # gone since the directory was listed
            retiring = path != files[-1]
            # the retiring DB must not take the pending updates: they go
            # to the fresh DB (as ContainerBroker.get_brokers does it)
            broker = ContainerBroker(path, logger=self.logger,
                                     force_db_file=True,
                                     skip_commits=retiring)
            info = broker.get_info()
            if broker.is_deleted():
                return None
            state = main.get_db_state()
            root = root_of(broker, info)
        except DatabaseConnectionError:
            return None
        _part, nodes = self.ring.get_nodes(info['account'],
                                           info['container'])
        for ordinal, node in enumerate(nodes):
            if node['device'] == device and is_local_device(
                    self.myips, self.myport, node['ip'], node['port']):
                return LocalDB(path, broker, info, ordinal, len(nodes),
                               root=root, state=state, retiring=retiring)
        return None  # a handoff: the replicator moves it

    def local_root_broker(self, account, container):
        """A broker of the root container's DB on this node (its newest
        DB file), or None when no primary replica of it is here."""
        part, nodes = self.ring.get_nodes(account, container)
        hsh = hash_path(account, container)
        for node in nodes:
            if not is_local_device(self.myips, self.myport, node['ip'],
                                   node['port']):
                continue
            path = os.path.join(self.devices, node['device'], DATADIR,
                                str(part), hsh[-3:], hsh, hsh + '.db')
            broker = ContainerBroker(path, logger=self.logger)
            if broker.db_files:
                return broker
        return None

    def root_metadata(self, account, container):
        """({name: (value, timestamp)} of the root container, error): its
        metadata, where container owners' opt-in sysmeta lives, from its
        DB on this node or else from a HEAD through the internal client.
        Kept for the rest of the pass."""
        key = (account, container)
        if key in self._roots:
            return self._roots[key]
        found = None, None
        try:
            broker = self.local_root_broker(account, container)
            if broker is not None:
                found = broker.metadata, None
        except DatabaseConnectionError:
            pass
        if found[0] is None:
            try:
                if self.swift is None:
                    self.swift = make_internal_client(
                        self.conf.globals,
                        self.conf.globals.log_name or 'swiftsync')
                headers = self.swift.get_container_metadata(
                    account, container, metadata_prefix='')
                found = {k: (v, '0') for k, v in headers.items()}, None
            except Exception as e:  # noqa: said in status, not fatal
                found = None, ('cannot read the root container %s/%s of '
                               'this shard: %s' % (account, container, e))
        self._roots[key] = found
        return found

    def mapping_of(self, db):
        """(mapping, target, error) of a container; (None, None, None) when
        it is not mapped. The operator's mapping wins over an opt-in."""
        if db.container.startswith('\x00'):
            # Swift's hidden containers (object versioning keeps versions
            # in '\x00versions\x00<name>'): never a mapped container, not
            # even for 'container = *'
            return None, None, None
        found = self.conf.mappings_for(db.account, db.container)
        error = None
        metadata = None
        if found:
            mapping = found[0]
        else:
            metadata, problem = self.metadata_of(db)
            if metadata is None:
                return None, None, problem
            sysmeta = optin.sysmeta_from_broker(metadata)
            try:
                mapping = optin.mapping_from_sysmeta(sysmeta, db.account,
                                                     db.container)
            except optin.OptInError as e:
                return None, None, 'bad opt-in: %s' % e
            if mapping is None:
                return None, None, None
        try:
            target = self.conf.target(mapping.target)
        except UnknownNameError:
            target = None
            error = ('unknown target %r: not in the operator file'
                     % mapping.target)
        if target is not None and mapping.mode == 'archive':
            if metadata is None:
                metadata, _ = self.metadata_of(db)
            if metadata and optin.is_versioned(metadata):
                # archiving deletes the local copy, which would orphan the
                # versions Swift keeps of it (or delete the history the
                # owner asked for): refused, nothing touched
                target, error = None, optin.ARCHIVE_VERSIONED
        return mapping, target, error

    def metadata_of(self, db):
        """({name: (value, timestamp)}, error) of the container a DB is
        part of (a shard's root's)."""
        if getattr(db, 'is_shard', False):
            return self.root_metadata(db.account, db.container)
        return db.broker.metadata, None


class ContainerJob(object):
    """One pass over one container DB."""

    def __init__(self, daemon, db, mapping, target, checkpoint, now):
        self.daemon = daemon
        self.logger = daemon.logger
        self.db = db
        self.mapping = mapping
        self.target = target
        self.cp = checkpoint
        self.now = now
        self.transfer = None
        self.successes = 0
        self.failures = 0
        self.consecutive = 0
        self.tripped = False
        self.last_error = None
        #: the container was paused: try one row before the others
        self.probing = bool(checkpoint.data.get('backoff_level'))
        #: local copies removed by archive mode in this pass
        self.removed = 0

    @property
    def where(self):
        shard = ' [shard %s/%s]' % (self.db.db_account, self.db.db_container) \
            if getattr(self.db, 'is_shard', False) else ''
        return '%s/%s%s -> %s' % (self.db.account, self.db.container, shard,
                                  self.target.name)

    # -- one row -----------------------------------------------------------
    def eligible(self, row):
        """Archive mode: is the row old enough?"""
        if self.mapping.mode != 'archive' or row['deleted']:
            return True
        meta_ts = row_timestamps(row)[2]
        return self.now >= float(meta_ts) + self.mapping.after

    def handle(self, row):
        """Propagate one row; (DONE|FAILED|ABORTED, error message)."""
        if self.tripped:
            return ABORTED, None
        name = row['name']
        if self.mapping.excludes(name):
            self.logger.increment('skips')
            return DONE, None
        try:
            self._propagate(row)
        except Exception as e:  # noqa: one bad row must not stop the rest
            return self._failed(row, e)
        self.successes += 1
        self.consecutive = 0
        return DONE, None

    def _failed(self, row, exc):
        if isinstance(exc, (StoreError, UnexpectedResponse)):
            message = str(exc)
            if getattr(exc, 'status', None) in (401, 403):
                message += (' (check the credentials of [target:%s])'
                            % self.target.name)
        else:
            message = '%s: %s' % (exc.__class__.__name__, exc)
            self.logger.exception('ERROR cloud sync %s: object %s',
                                  self.where, short(row['name']))
        self.failures += 1
        if systemic(exc):
            self.consecutive += 1
            # a large upload it broke could not be aborted either
            self.cp.data['leftovers'] = True
        self.last_error = message
        self.logger.increment('errors')
        self.logger.error('ERROR cloud sync %s: object %s: %s',
                          self.where, short(row['name']), message)
        # the store died (or refuses us), before or during this pass
        if self.consecutive >= (1 if self.probing and not self.successes
                                else BREAKER):
            self.tripped = True
        return FAILED, message

    def _propagate(self, row):
        name = row['name']
        data_ts, _ctype_ts, meta_ts = row_timestamps(row)
        if row['deleted']:
            if not self.mapping.propagate_delete:
                self.logger.increment('skips')
                return
            if self.mapping.mode == 'archive' and data_ts.offset:
                # our own archive DELETE: the remote copy must stay
                self.logger.increment('skips')
                return
            outcome = self._check(
                self.transfer.delete(name), name)
            if outcome == 'DELETED':
                self.logger.increment('deletes')
                self.cp.count('deletes')
            return
        outcome = self._check(self._sync(row), name)
        if outcome == 'MISSING':
            # gone since the row was written; its own row will follow
            self.logger.increment('skips')
            return
        if outcome == 'COPIED':
            self.logger.increment('objects')
            self.logger.update_stats('bytes', row_bytes(row))
            self.cp.count('objects')
            self.cp.count('bytes', row_bytes(row))
        elif outcome == 'METADATA':
            self.logger.increment('metadata')
            self.cp.count('metadata')
        else:
            self.logger.increment('skips')
        if outcome in ('COPIED', 'METADATA'):
            self.logger.timing('lag', max(0.0, (
                time.time() - float(meta_ts)) * 1000))
        if self.mapping.mode == 'archive':
            self._remove_local(name, meta_ts)

    def _sync(self, row):
        """Transfer.sync of a row; a plain object the destination's
        listing lacks goes with one local GET (If-Match the row's etag)
        and one remote PUT, no HEAD on either side."""
        name, dst = row['name'], self.transfer.dst
        if isinstance(dst, ListedStore) and not dst.listed(name) and \
                is_md5(row['etag']):
            listed = ObjectInfo(name=name, size=row['size'] or 0,
                                etag=row['etag'], extra={'listing': True})
            return self.transfer.sync(name, src_info=listed, dst_info=None)
        return self.transfer.sync(name)

    def _check(self, outcome, name):
        """The name of a transfer Outcome (COPIED, METADATA, SKIPPED,
        DELETED, MISSING); FAILED raises."""
        outcome = getattr(outcome, 'name', str(outcome)).upper()
        if outcome == 'FAILED':
            raise StoreError('cannot be stored on this target (name too '
                             'long, or too large)', retryable=False)
        return outcome

    def _remove_local(self, name, meta_ts):
        """Archive: delete the local copy unless it changed since the row.

        The DELETE's timestamp is the row's, plus one offset: it is newer
        than the version that was copied and older than any later write,
        which the object server then keeps (409)."""
        stamp = Timestamp(meta_ts, offset=meta_ts.offset + 1)
        resp = self.daemon.swift.make_request(
            'DELETE', self.daemon.swift.make_path(
                self.db.account, self.db.container, name),
            {'X-Timestamp': stamp.internal}, (2, 404, 409))
        if resp.status_int == 409:
            self.logger.increment('archive_kept')
            self.logger.info('cloud sync %s: %s changed since it was '
                             'copied; the newer local version stays',
                             self.where, short(name))
        elif resp.status_int // 100 == 2:
            self.removed += 1
            self.logger.increment('archived')
            self.cp.count('archived')

    # -- the pass ----------------------------------------------------------
    def run(self, pool, transfer, ignore_backoff=False):
        self.transfer = transfer
        self._leftover_uploads()
        self._expiry()
        self.cp.data['running'] = True
        self.cp.save()
        if self.db.pending(self.cp.row)[0] >= LISTING_THRESHOLD:
            # a shard DB: only its own name range of the remote place
            lower, upper = (self.db.shard_bounds()
                            if getattr(self.db, 'is_shard', False)
                            else ('', ''))
            try:
                transfer.dst = ListedStore(
                    transfer.dst, marker=lower,
                    end_marker=upper + '\x00' if upper else '')
            except StoreError as e:
                self.logger.info('cloud sync %s: no listing (%s); one HEAD '
                                 'per object', self.where, e)
        self._retry_due(pool, ignore_backoff)
        self._primary(pool)
        if self.removed:
            # step over the rows of our own archive deletes now, so that
            # they do not show as pending until the next pass
            self.removed = 0
            self._primary(pool)
        self._verify(pool)
        self._finish()

    def _expiry(self):
        """Set up remote expiry once per destination (``expire_after``)."""
        wanted = self.mapping.expire_after
        if not wanted:
            return
        if getattr(self.transfer.dst, 'kind', None) == 'swift':
            # a property of each write, not of the bucket: every pass
            ensure_expiry(self.transfer.dst, self.mapping, self.logger)
            return
        if self.cp.data.get('expiry') == wanted:
            return
        try:
            problem = ensure_expiry(self.transfer.dst, self.mapping,
                                    self.logger)
        except StoreError as e:
            self.logger.error('ERROR cloud sync %s: cannot set the remote '
                              'expiry: %s', self.where, e)
            return
        if problem:
            self.logger.warning('cloud sync %s: expire_after ignored: %s',
                                self.where, problem)
        self.cp.data['expiry'] = wanted

    def _leftover_uploads(self):
        """Abort the multipart uploads an earlier pass of this container
        may have left open: it never finished (the daemon was killed), or
        the store failed under it (an upload it could not abort then).

        Only this node's leftovers: the uploads of the names this replica
        copies first, started before this pass; the other replicas'
        daemons may have theirs in flight. Any upload older than
        ``STALE_UPLOAD``, whoever started it, is a leftover too."""
        data = self.cp.data
        if not (data.get('running') or data.get('leftovers')):
            return
        abort = getattr(getattr(self.transfer, 'dst', None), 'abort_uploads',
                        None)
        if abort is None:
            data.pop('leftovers', None)
            return
        began, stale = self.now, self.now - STALE_UPLOAD

        def leftover(name, initiated):
            if initiated is not None and initiated < stale:
                return True
            return self.db.mine({'name': name}) and (
                initiated is None or initiated <= began)
        try:
            n = abort(select=leftover)
        except StoreError as e:
            data['leftovers'] = True   # the next pass tries again
            self.logger.warning('cloud sync %s: cannot abort the uploads of '
                                'an interrupted pass: %s', self.where, e)
            return
        data.pop('leftovers', None)
        if n:
            self.logger.info('cloud sync %s: aborted %d multipart upload(s) '
                             'of an interrupted pass', self.where, n)

    def _run_rows(self, pool, rows):
        """Handle ``rows`` concurrently; yields (row, status, error) in
        their order."""
        if self.probing and not self.successes and rows:
            # a paused container: one row alone says if the store is back
            yield (rows[0],) + self.handle(rows[0])
            rows = rows[1:]
        for row, (status, error) in zip(rows, pool.imap(self.handle, rows)):
            yield row, status, error

    def _run_batch(self, pool, batch, todo, other, point_attr):
        """Handle the rows of ``batch`` (ROWID order) for which
        ``todo(row)``; the others count as status ``other``. The
        checkpoint ``point_attr`` follows the results as they come and is
        saved every ``CHECKPOINT_EVERY`` seconds, so a crash costs little
        work done again."""
        chosen = set(r['ROWID'] for r in batch if todo(r))
        results = self._run_rows(
            pool, [r for r in batch if r['ROWID'] in chosen])
        done, going, saved = [], True, time.time()
        for row in batch:
            if row['ROWID'] in chosen:
                status, error = next(results)[1:]
            else:
                status, error = other, None
            if not going:
                continue   # the pass stopped: the rest is drained only
            done.append((row, status, error))
            if time.time() - saved >= CHECKPOINT_EVERY:
                going = self._advance(done, point_attr)
                done, saved = [], time.time()
        if going:
            self._advance(done, point_attr)

    def _retry_due(self, pool, ignore_backoff):
        due = []
        for key, entry in list(self.cp.retry.items()):
            if not ignore_backoff and entry.get('next_try', 0) > self.now:
                continue
            row = self.db.current_row(entry['name'])
            if row is None or row['ROWID'] != int(key):
                # replaced by a newer row, which is handled on its own
                self.cp.drop_retry(key)
                continue
            if not self.eligible(row):
                continue
            due.append(row)
        for row, status, error in self._run_rows(pool, due):
            if status == DONE:
                self.cp.drop_retry(row['ROWID'])
            elif status == FAILED:
                self.cp.add_retry(row, error, time.time(), backoff)
        if due:
            self.cp.save()

    def _advance(self, results, point_attr):
        """Move the checkpoint ``point_attr`` over ``results`` (ROWID
        order): past failed rows (recorded for retry) unless the pass was
        stopped, in which case it stays before the first unfinished row
        (and False is returned)."""
        point = getattr(self.cp, point_attr)
        going = True
        for row, status, error in results:
            if status == ABORTED or (self.tripped and status == FAILED):
                going = False
                break
            if status == FAILED:
                self.cp.add_retry(row, error, time.time(), backoff)
            point = row['ROWID']
        setattr(self.cp, point_attr, point)
        self.cp.save()
        return going

    def _primary(self, pool):
        """First pass over new rows: this replica's share."""
        while not self.tripped:
            rows = self.db.broker.get_items_since(self.cp.row, CHUNK)
            if not rows:
                break
            batch = []
            for row in rows:
                if not self.eligible(row):
                    break
                batch.append(row)
            if not batch:
                break
            self._run_batch(pool, batch, self.db.mine, NOT_MINE, 'row')
            if len(batch) < len(rows) or len(rows) < CHUNK:
                break

    def _verify(self, pool):
        """Later pass over the other replicas' share, once the slack is
        over: what they failed to copy is copied here."""
        if self.db.replicas == 1:
            if self.cp.verified != self.cp.row:
                self.cp.verified = self.cp.row
                self.cp.save()
            return
        cutoff = self.now - self.daemon.verify_slack
        while not self.tripped and self.cp.verified < self.cp.row:
            rows = self.db.broker.get_items_since(self.cp.verified, CHUNK)
            batch = []
            for row in rows:
                if row['ROWID'] > self.cp.row or \
                        float(row_timestamps(row)[2]) > cutoff:
                    break
                batch.append(row)
            if not batch:
                break
            self._run_batch(pool, batch, lambda r: not self.db.mine(r),
                            DONE, 'verified')
            if len(batch) < len(rows) or len(rows) < CHUNK:
                break

    def _finish(self):
        cp = self.cp
        if self.failures:
            cp.set_error('%d object(s) failed, the last: %s'
                         % (self.failures, self.last_error))
        elif self.successes and not cp.retry:
            cp.clear_error()
        if self.tripped:
            level = cp.data.get('backoff_level', 0) + 1
            cp.data['backoff_level'] = level
            delay = backoff(level, base=self.daemon.interval)
            cp.data['next_pass'] = time.time() + delay
            self.logger.error('ERROR cloud sync %s: the store fails every '
                              'object; container paused for %ds (last '
                              'error: %s)', self.where, delay,
                              self.last_error)
        else:
            cp.data.pop('backoff_level', None)
            cp.data.pop('next_pass', None)
        cp.data['last_pass'] = time.time()
        cp.data.pop('running', None)
        cp.save()


class SyncDaemon(object):
    """``swiftsync sync``: see the module docstring."""

    def __init__(self, conf, logger, ring=None, swift=None):
        self.conf = conf
        g = conf.globals
        self.logger = logger
        self.interval = g.interval
        self.verify_slack = g.verify_slack
        self.state_dir = g.state_dir
        self.node = Node(conf, logger, ring=ring)
        self.swift = swift or make_internal_client(g, g.log_name)
        self.node.swift = self.swift
        self.pool = eventlet.GreenPool(g.concurrency)
        self._stores = {}
        #: path -> (LocalDB, db_signature) of the mapped DBs of the last pass
        self.watched = {}

    def transfer_for(self, db, mapping, target):
        """The transfer engine from the local container to its remote
        place; stores are kept across passes (connections, auth)."""
        from swiftsync.stores import LocalSwift, open_store
        from swiftsync.transfer import Transfer
        key = (fingerprint(target, mapping), db.account, db.container)
        dst = self._stores.get(key)
        if dst is None:
            dst = self._stores[key] = open_store(target, db.account,
                                                 db.container, mapping)
        src = LocalSwift(self.swift, db.account, db.container)
        return Transfer(src, dst, segment_size=target.segment_size,
                        logger=self.logger, metadata_filter=mapping.metadata,
                        retries=target.retries)

    def run_forever(self):
        self.logger.info('swiftsync sync started: every %gs, %d at once',
                         self.interval, self.pool.size)
        while True:
            begin = time.time()
            self.run_pass()
            self.watch(begin + self.interval)

    def watch(self, until):
        """Between two passes, look at the mapped container DBs of the
        last pass every ``WATCH_INTERVAL`` (one stat of the DB and of its
        ``.pending`` file each) and sync one as soon as it changes: the lag
        of a change is a fraction of a second, not ``interval``."""
        while True:
            eventlet.sleep(min(WATCH_INTERVAL, max(0, until - time.time())))
            if time.time() >= until:
                return
            if len(self.watched) > MAX_WATCHED:
                continue
            for path, (db, seen) in list(self.watched.items()):
                now = db_signature(path)
                if now == seen:
                    continue
                if now[0] is None:
                    # the DB file is gone (deleted, or the retiring DB of
                    # a container that finished sharding: its rows are in
                    # the shards)
                    del self.watched[path]
                    if db.retiring:
                        continue
                    return   # a full pass now finds what replaced it
                if not db.retiring and get_db_files(path)[-1:] != [path]:
                    # a fresher DB appeared: the container started
                    # sharding; a full pass now finds its fresh DB and
                    # its shards
                    return
                self.watched[path] = (db, now)
                try:
                    self.sync_container(db)
                except Exception:
                    self.logger.increment('errors')
                    self.logger.exception('ERROR cloud sync of %s/%s',
                                          db.account, db.container)

    def run_once(self):
        self.logger.info('swiftsync sync: one pass')
        begin = time.time()
        self.run_pass(ignore_backoff=True)
        self.logger.info('swiftsync sync: pass done in %.2fs',
                         time.time() - begin)

    def run_pass(self, ignore_backoff=False):
        synced = failed = 0
        watched = {}
        self.node.begin_pass()
        for db in self.node.local_dbs():
            try:
                seen = db_signature(db.path)
                if self.sync_container(db, ignore_backoff):
                    synced += 1
                    watched[db.path] = (db, seen)
            except Exception:
                failed += 1
                self.logger.increment('errors')
                self.logger.exception('ERROR cloud sync of %s/%s',
                                      db.account, db.container)
        self.watched = watched
        self.logger.increment('passes')
        return synced, failed

    def sync_container(self, db, ignore_backoff=False):
        """One pass over one container DB; True when it is mapped."""
        mapping, target, error = self.node.mapping_of(db)
        if mapping is None and error is None:
            return False
        now = time.time()
        cp = Checkpoint.load(checkpoint_path(self.state_dir, db.path))
        if target is None:
            # a mapping we cannot follow: say so, touch nothing
            cp.bind(db.info['id'], db.account, db.container,
                    'unknown|' + (mapping.target if mapping else ''),
                    mapping.target if mapping else None,
                    mapping.mode if mapping else None)
            if (cp.data.get('last_error') or {}).get('message') != error:
                self.logger.error('ERROR cloud sync %s/%s: %s', db.account,
                                  db.container, error)
            cp.set_error(error, now)
            cp.save()
            return True
        if cp.bind(db.info['id'], db.account, db.container,
                   fingerprint(target, mapping), target.name, mapping.mode):
            self.logger.info('cloud sync %s/%s -> %s (%s): starting from '
                             'the first row', db.account, db.container,
                             target.name, mapping.mode)
        cp.data['replica'] = [db.ordinal, db.replicas]
        if hasattr(db, 'describe'):
            cp.data['db'] = db.describe()
        if not ignore_backoff and cp.data.get('next_pass', 0) > now:
            return True
        job = ContainerJob(self, db, mapping, target, cp, now)
        job.run(self.pool, self.transfer_for(db, mapping, target),
                ignore_backoff)
        return True


# ---------------------------------------------------------------------------
# swiftsync status

def container_status(node, db, state_dir, now=None):
    """The sync state of one mapped container DB file of this node, or
    None. For a shard DB it is a part of its root container's state (see
    :func:`collect_status`)."""
    now = now or time.time()
    mapping, target, error = node.mapping_of(db)
    if mapping is None and error is None:
        return None
    cp = Checkpoint.load(checkpoint_path(state_dir, db.path))
    fp = fingerprint(target, mapping) if target else None
    fresh = cp.data.get('db_id') != db.info['id'] or (
        fp is not None and cp.data.get('fingerprint') != fp)
    point = 0 if fresh else cp.row
    retry = {} if fresh else cp.retry
    pending, first = db.pending(point)
    stamps = [first] if first else []
    stamps += [e['created_at'] for e in retry.values()]
    oldest = min((float(decode_timestamps(s)[2]) for s in stamps),
                 default=None)
    last_error = None if fresh else cp.data.get('last_error')
    if error:
        last_error = {'message': error, 'time': now}
    return {
        'account': db.account, 'container': db.container,
        'target': mapping.target if mapping else None,
        'mode': mapping.mode if mapping else None,
        'source': ('mapping:' + mapping.name
                   if mapping and mapping.name != 'opt-in' else 'opt-in'),
        'replica': '%d/%d' % (db.ordinal + 1, db.replicas),
        'rows_synced': max(0, db.synced_rows(point) - len(retry)),
        'rows_pending': pending + len(retry),
        'rows_failed': len(retry),
        'lag_seconds': round(now - oldest, 1) if oldest else 0.0,
        'last_error': last_error,
        'last_pass': None if fresh else cp.data.get('last_pass'),
        'paused_until': None if fresh else cp.data.get('next_pass'),
        'stats': {} if fresh else cp.data.get('stats', {}),
        'db': db.describe() if hasattr(db, 'describe') else None,
    }


#: shard ranges whose shard DB may hold rows: created (it takes object
#: updates) up to sharding; FOUND ones are still in the root's DB, SHARDED
#: and SHRUNK ones gave their rows to other shards
_LIVE_SHARD_STATES = (ShardRange.CREATED, ShardRange.CLEAVED,
                      ShardRange.ACTIVE, ShardRange.SHRINKING,
                      ShardRange.SHARDING)


def _unknown_shards(node, account, container, parts):
    """Why the rows of a sharded (or sharding) root cannot all be counted
    on this node; None when they can."""
    shard_dbs = set((p['db']['account'], p['db']['container'])
                    for p in parts if p['db'] and p['db']['shard'])
    roots = [p for p in parts if p['db'] and not p['db']['shard']]
    if not roots:
        return ('the root DB is not on this node: %d shard DB(s) here '
                'counted, the others (and the root) are unknown'
                % len(shard_dbs))
    if not any(p['db']['state'] in (SHARDING, SHARDED) for p in roots):
        return None
    try:
        broker = node.local_root_broker(account, container)
        ranges = broker.get_shard_ranges() if broker else []
    except DatabaseConnectionError:
        ranges = []
    live = [sr for sr in ranges if sr.state in _LIVE_SHARD_STATES]
    missing = [sr for sr in live
               if (sr.account, sr.container) not in shard_dbs]
    if not missing:
        return None
    return ('%d of %d shard DB(s) of this container are not on this node '
            '(their rows are synced and counted where they are)'
            % (len(missing), len(live)))


def aggregate_status(node, account, container, parts, retired=()):
    """One status row for a container from the rows of its DB files on
    this node (root DB, fresh and retiring DB of a sharding root, shard
    DBs): sums, the worst lag, the latest error. ``rows_pending`` is None
    (shown ``?``) with ``pending_note`` saying why when some of its rows
    are in DBs this node does not have. ``retired``: checkpoints of DB
    files that are gone (the retiring DB of a container that finished
    sharding), whose stats still count."""
    if len(parts) == 1 and not (parts[0]['db'] or {}).get('shard') and \
            (parts[0]['db'] or {}).get('state', UNSHARDED) not in (
                SHARDING, SHARDED) and not retired:
        out = dict(parts[0])
        out.update(shards=0, pending_note=None)
        return out
    roots = [p for p in parts if not (p['db'] or {}).get('shard')]
    main = roots[-1] if roots else parts[0]
    out = dict(main)
    out['replica'] = main['replica'] if roots else '-'
    for key in ('rows_synced', 'rows_pending', 'rows_failed'):
        out[key] = sum(p[key] for p in parts)
    out['lag_seconds'] = max(p['lag_seconds'] for p in parts)
    errors = [p['last_error'] for p in parts if p['last_error']]
    out['last_error'] = max(errors, key=lambda e: e.get('time') or 0) \
        if errors else None
    passes = [p['last_pass'] for p in parts]
    out['last_pass'] = None if None in passes else min(passes)
    pauses = [p['paused_until'] for p in parts if p['paused_until']]
    out['paused_until'] = max(pauses) if pauses else None
    stats = {}
    for st in [p['stats'] for p in parts] + [c.data.get('stats') or {}
                                              for c in retired]:
        for k, v in st.items():
            stats[k] = stats.get(k, 0) + v
    out['stats'] = stats
    out['shards'] = len([p for p in parts if (p['db'] or {}).get('shard')])
    out['dbs'] = [dict(p['db'] or {}, rows_synced=p['rows_synced'],
                       rows_pending=p['rows_pending']) for p in parts]
    note = _unknown_shards(node, account, container, parts)
    out['pending_note'] = note
    if note:
        out['rows_pending_here'] = out['rows_pending']
        out['rows_pending'] = None
    return out


def collect_status(conf, logger, ring=None):
    """One row per mapped container with a DB on this node; a sharded
    container is one row, its shard DBs counted under its root."""
    node = Node(conf, logger, ring=ring)
    state_dir = conf.globals.state_dir
    groups = {}
    live = set()
    for db in node.local_dbs():
        live.add(checkpoint_path(state_dir, db.path))
        status = container_status(node, db, state_dir)
        if status is not None:
            groups.setdefault((db.account, db.container), []).append(status)
    retired = {}
    for cp in iter_checkpoints(state_dir):
        key = (cp.data.get('account'), cp.data.get('container'))
        if key in groups and cp.path not in live:
            retired.setdefault(key, []).append(cp)
    out = [aggregate_status(node, a, c, parts, retired.get((a, c), ()))
           for (a, c), parts in groups.items()]
    out.sort(key=lambda s: (s['account'], s['container']))
    return out
