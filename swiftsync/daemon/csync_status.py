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

"""Progress of Swift's container-sync for the containers of this node that
have an ``X-Container-Sync-To`` (every container autosync mirrors has one),
read from the container DBs, as the CONTAINER-SYNC part of ``swiftsync
status``.

How far container-sync got is in each container DB:
``x_container_sync_point1`` and ``x_container_sync_point2`` (``-1``: never
moved). Swift's ``ContainerSync.container_sync`` works in two stages on
every primary replica:

1. rows after ``sync_point2`` up to ``sync_point1`` are all sent (whatever
   their hash), and ``sync_point2`` stops before the first one that
   failed;
2. rows after ``sync_point1`` are read; only those with
   ``hash(name) % replicas == ordinal`` are sent, in a green pool whose
   results are not looked at, and ``sync_point1`` moves past every row read
   (even before its request ended).

So ``sync_point2`` is the only point up to which this replica KNOWS every
row reached the peer; a row past it was, at best, sent without its outcome
being checked (by this node for its share, or by another replica). Rows
past ``sync_point2`` are therefore "behind" (also with one replica: the
second stage does not look at failures either); of them, those past
``sync_point1`` are "not reached" yet. It is never "in sync" with a row
past ``sync_point2``. A newer write of an object replaces its row with a new
ROWID, and a delete is a row too (a tombstone), so counting the rows past
the point counts exactly the changes container-sync still has to carry.

Containers container-sync never carries are said so, not given a number:
a sharded container (root in ``sharding``/``sharded`` state, or a shard
DB), a container with object versioning (container-sync skips it), one
without ``X-Container-Sync-Key``, or a ``Sync-To`` it cannot parse.

The DBs are walked with :class:`swiftsync.daemon.sync.Node`, the walker of
the sync daemon: primary replicas of this node only, as container-sync.
"""

import time
from urllib.parse import urlsplit

from swift.common.middleware.versioned_writes.object_versioning import (
    SYSMETA_VERSIONS_CONT)
from swift.common.utils import decode_timestamps
from swift.container.backend import UNSHARDED

from swiftsync.synckeys import parse_sync_to

#: states of an entry; ``blocked`` ones are never carried by container-sync
IN_SYNC, BEHIND, NOT_VISITED = 'in_sync', 'behind', 'not_visited'
SHARDED, VERSIONED, NO_KEY, BAD_SYNC_TO = (
    'sharded', 'versioned', 'no_sync_key', 'bad_sync_to')
BLOCKED = (SHARDED, VERSIONED, NO_KEY, BAD_SYNC_TO)

_REASONS = {
    SHARDED: 'sharded: container-sync does not sync sharded containers',
    VERSIONED: 'object versioning: container-sync skips versioned '
               'containers',
    NO_KEY: 'no X-Container-Sync-Key: container-sync skips it',
}


def _meta(metadata, name):
    """A metadata value, by case-insensitive name as container-sync reads
    it; '' when absent."""
    for key, (value, _ts) in metadata.items():
        if key.lower() == name.lower():
            return value or ''
    return ''


def peer_of(sync_to, clusters=None):
    """The peer a Sync-To points at: for ``//REALM/CLUSTER/ACCOUNT/CONT``
    the ``[cluster:NAME]`` whose realm and ``sync_name`` it names (else the
    realm's CLUSTER itself); for a URL, its host[:port]. None when it does
    not parse."""
    try:
        where = parse_sync_to(sync_to)
    except ValueError:
        return None
    if where['form'] == 'url':
        return urlsplit(where['base']).netloc
    for c in (clusters or {}).values():
        if c.sync_name == where['cluster'] and \
                (c.realm or '').lower() == where['realm'].lower():
            return c.name
    return where['cluster']


def csync_state(db, clusters=None, now=None):
    """Container-sync progress of one container DB file of this node (a
    :class:`swiftsync.daemon.sync.LocalDB`), or None when it has no
    Sync-To. ``rows_behind``/``seconds_behind`` are None for a container
    container-sync does not carry (``reason`` says why)."""
    metadata = db.broker.metadata
    sync_to = _meta(metadata, 'X-Container-Sync-To')
    if not sync_to:
        return None
    now = now or time.time()
    point1 = db.info.get('x_container_sync_point1', -1)
    point2 = db.info.get('x_container_sync_point2', -1)
    out = {'account': db.account, 'container': db.container,
           'sync_to': sync_to, 'peer': peer_of(sync_to, clusters),
           'replica': '%d/%d' % (db.ordinal + 1, db.replicas),
           'sync_point1': point1, 'sync_point2': point2,
           'rows_behind': None, 'rows_not_reached': None,
           'seconds_behind': None, 'reason': None}
    if db.is_shard or db.state != UNSHARDED:
        state = SHARDED
    elif metadata.get(SYSMETA_VERSIONS_CONT, ('', ''))[0]:
        state = VERSIONED
    elif not _meta(metadata, 'X-Container-Sync-Key'):
        state = NO_KEY
    elif out['peer'] is None:
        state = BAD_SYNC_TO
    else:
        state = None
    if state:
        out['state'] = state
        out['reason'] = _REASONS.get(state) or (
            'X-Container-Sync-To %r does not parse' % sync_to)
        return out
    behind, first = db.pending(point2)
    not_reached = db.pending(point1)[0] if point1 > point2 else behind
    oldest = float(decode_timestamps(first)[2]) if first else None
    out.update(rows_behind=behind, rows_not_reached=not_reached,
               seconds_behind=round(max(0.0, now - oldest), 1)
               if oldest else 0.0)
    if not behind:
        out['state'] = IN_SYNC
    elif point1 < 0 and point2 < 0:
        out['state'] = NOT_VISITED
    else:
        out['state'] = BEHIND
    return out


def collect_csync(conf, logger, ring=None, node=None):
    """One entry per container DB of this node with a Sync-To (a sharded
    container once, under its root's name), sorted by name."""
    if node is None:
        from swiftsync.daemon.sync import Node
        node = Node(conf, logger, ring=ring)
    now = time.time()
    out, sharded = [], set()
    for db in node.local_dbs():
        entry = csync_state(db, conf.clusters, now)
        if entry is None:
            continue
        if entry['state'] == SHARDED:
            key = (entry['account'], entry['container'])
            if key in sharded:
                continue
            sharded.add(key)
        out.append(entry)
    out.sort(key=lambda e: (e['account'], e['container'], e['replica']))
    return out


def by_peer(entries, peers=()):
    """{peer: (rows behind, max seconds behind, containers blocked)}: what
    the gauges say, per peer rather than per container, so the number of
    metric names stays the number of peers. Every name of ``peers`` (the
    autosync peers) is there, at zero when nothing syncs to it, so a gauge
    does not keep the value of a container that went away."""
    out = dict((p, (0, 0.0, 0)) for p in peers)
    for e in entries:
        rows, seconds, blocked = out.get(e['peer'] or 'unknown', (0, 0.0, 0))
        if e['state'] in BLOCKED:
            blocked += 1
        else:
            rows += e['rows_behind']
            seconds = max(seconds, e['seconds_behind'])
        out[e['peer'] or 'unknown'] = (rows, seconds, blocked)
    return out


def metric_name(peer):
    """A peer as one StatsD name component (a host:port has dots)."""
    return ''.join(c if c.isalnum() or c in '-_' else '_' for c in peer)


def emit_gauges(logger, entries, peers=()):
    """``container_sync.<peer>.rows_behind``, ``.seconds_behind`` and
    ``.blocked`` gauges through the StatsD client of the Swift logger
    (``log_statsd_*`` of the operator file; nothing is sent without
    ``log_statsd_host``). Swift's logger has counters and timings only, so
    the gauge line goes through its client's ``_send``."""
    client = getattr(getattr(logger, 'logger', None), 'statsd_client', None)
    send = getattr(client, '_send', None)
    if send is None:
        return
    for peer, (rows, seconds, blocked) in sorted(
            by_peer(entries, peers).items()):
        base = 'container_sync.%s.' % metric_name(peer)
        send(base + 'rows_behind', rows, 'g')
        send(base + 'seconds_behind', seconds, 'g')
        send(base + 'blocked', blocked, 'g')
