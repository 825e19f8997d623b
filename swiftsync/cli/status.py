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

"""``swiftsync status CONF [--json] [--autosync | --container-sync]``: where
the cloud sync of the mapped containers of this node stands, from the
checkpoints and container DBs (a sharded container is one row: its shard DBs
are counted under its root container, and PENDING is ``?``, with the reason,
when some of its rows are in shard DBs on other nodes); when the operator
file names autosync clusters, the autosync queue depth and the namespace
divergence, from the comparison ``swiftsync reconcile --dry-run`` makes; and
how far Swift's container-sync is behind for the containers of this node
with an ``X-Container-Sync-To`` (see :mod:`swiftsync.daemon.csync_status`),
also sent as StatsD gauges.

Exit status 1 when a cloud-synced container has an error, a copy differs, a
cluster is unreachable, or container-sync cannot carry a container with a
Sync-To at all (sharded, versioned, no key): rows behind alone are lag, not
an error (watch the gauges for that)."""

import json
import sys
import time

from swiftsync import config

EXIT_OK, EXIT_ERRORS = 0, 1


def register(subparsers):
    p = subparsers.add_parser(
        'status', help='cloud sync and autosync state of this node',
        description='Per mapped container of this node: target, mode, rows '
                    'synced and pending, lag, last error. With autosync '
                    'clusters in the operator file, also the queue of '
                    'operations waiting for a peer and the containers that '
                    'differ across clusters, and how far container-sync is '
                    'behind for the containers with a Sync-To. Exits 1 '
                    'when a container has an error, a copy differs, a '
                    'cluster is unreachable or container-sync cannot '
                    'sync a container (sharded, versioned, no key).')
    p.add_argument('conf', nargs='?', default=config.DEFAULT_PATH,
                   help='the operator file (default %(default)s)')
    p.add_argument('--json', action='store_true',
                   help='print a JSON list instead of a table (with '
                        '--autosync: the autosync report as an object)')
    only = p.add_mutually_exclusive_group()
    only.add_argument('--autosync', action='store_true',
                      help='only the autosync queue and divergence (with '
                           '--json the report also has the container-sync '
                           'progress, key "container_sync")')
    only.add_argument('--container-sync', dest='container_sync',
                      action='store_true',
                      help="only the progress of Swift's container-sync "
                           '(with --json: an object, key "container_sync")')
    p.add_argument('--account', action='append', default=[],
                   help='autosync: only this account (repeatable); default: '
                        'every account whose database is on this node')
    p.set_defaults(func=run)


def _age(seconds):
    """90 -> 1m30s, 7200 -> 2h0m, 90000 -> 1d1h."""
    if seconds is None:
        return '-'
    seconds = int(seconds)
    for unit, size, sub, sub_size in (('d', 86400, 'h', 3600),
                                      ('h', 3600, 'm', 60),
                                      ('m', 60, 's', 1)):
        if seconds >= size:
            return '%d%s%d%s' % (seconds // size, unit,
                                 seconds % size // sub_size, sub)
    return '%ds' % seconds


def render(rows, now=None):
    now = now or time.time()
    head = ('CONTAINER', 'TARGET', 'MODE', 'REPLICA', 'SYNCED', 'PENDING',
            'LAG', 'LAST ERROR')
    table = [head]
    for s in rows:
        err = s['last_error']
        pending = s['rows_pending']
        notes = []
        if err:
            notes.append('%s (%s ago)' % (err['message'],
                                          _age(now - err['time'])))
        if s.get('pending_note'):
            # never a 0 that hides rows this node cannot see
            notes.append('pending unknown: %s; %d pending here'
                         % (s['pending_note'], s.get('rows_pending_here', 0)))
        name = '%s/%s' % (s['account'], s['container'])
        if s.get('shards'):
            name += ' (%d shard%s)' % (s['shards'],
                                       '' if s['shards'] == 1 else 's')
        table.append((
            name, s['target'] or '-',
            s['mode'] or '-', s['replica'], str(s['rows_synced']),
            '?' if pending is None else str(pending),
            _age(s['lag_seconds']) if pending or pending is None else '0s',
            '; '.join(notes) or '-'))
    widths = [max(len(r[i]) for r in table) for i in range(len(head) - 1)]
    lines = []
    for r in table:
        lines.append('  '.join(c.ljust(w) for c, w in zip(r, widths)) +
                     '  ' + r[-1])
    if not rows:
        lines.append('(no mapped container on this node)')
    return '\n'.join(lines)


def render_autosync(report):
    """The autosync part: queue, unreachable clusters, differences."""
    q = report['queue']
    if q['depth']:
        queue = 'queue %d (%s), oldest %s' % (
            q['depth'], ', '.join('%s: %d' % kv
                                  for kv in sorted(q['by_cluster'].items())),
            _age(q['oldest_seconds']))
    else:
        queue = 'queue empty'
    diffs = report['differences']
    lines = ['AUTOSYNC (cluster %s): %s; %s%s' % (
        report['cluster'], queue,
        '%d difference%s' % (len(diffs), '' if len(diffs) == 1 else 's')
        if diffs else 'no difference',
        '; unreachable: ' + ', '.join(report['unreachable'])
        if report['unreachable'] else '')]
    for d in diffs:
        lines.append('  %s/%s  %s  %s' % (d['account'], d['container'],
                                          d['cluster'], d['problem']))
    return '\n'.join(lines)


def render_csync(entries):
    """The CONTAINER-SYNC part: one line per container DB of this node
    with a Sync-To. It says "in sync" only when no row is past the point
    up to which container-sync verified every row (see
    :mod:`swiftsync.daemon.csync_status`)."""
    if not entries:
        return 'CONTAINER-SYNC: no container with X-Container-Sync-To on ' \
               'this node'
    names = [e['account'] + '/' + e['container'] for e in entries]
    twice = set(n for n in names if names.count(n) > 1)
    table = []
    for name, e in zip(names, entries):
        if name in twice:
            name += ' (replica %s)' % e['replica']
        state, rows = e['state'], e['rows_behind']
        if e['reason']:
            what = e['reason']
        elif state == 'in_sync':
            what = 'in sync'
        elif state == 'not_visited':
            what = 'not visited by container-sync yet (%d row%s, oldest ' \
                   '%s)' % (rows, '' if rows == 1 else 's',
                            _age(e['seconds_behind']))
        else:
            what = '%d row%s / %s behind' % (
                rows, '' if rows == 1 else 's', _age(e['seconds_behind']))
            unverified = rows - e['rows_not_reached']
            if unverified:
                what += ' (%d of them reached, not verified yet)' % unverified
        table.append((name, '-> %s' % (e['peer'] or '?'), what))
    widths = [max(len(r[i]) for r in table) for i in range(2)]
    return '\n'.join(['CONTAINER-SYNC'] + [
        '  %s  %s  %s' % (r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2])
        for r in table])


def autosync_report(conf, logger, accounts):
    """What ``swiftsync reconcile --dry-run`` finds (None without
    autosync clusters)."""
    if not conf.globals.cluster or len(conf.clusters) < 2:
        return None
    from swiftsync.daemon.reconcile import Reconciler
    return Reconciler(conf, logger, accounts=accounts,
                      dry_run=True).run_once()


def run(args):
    from swiftsync.cli.sync import setup
    conf, logger = setup(args.conf, False, 'swiftsync-status')
    # the JSON list stays the cloud sync rows alone
    want_report = args.autosync or not (args.json or args.container_sync)
    if want_report and conf.globals.cluster:
        # the peers are asked as reconcile asks them
        from swift.common.utils import eventlet_monkey_patch
        eventlet_monkey_patch()
    rows = []
    if not (args.autosync or args.container_sync):
        from swiftsync.daemon.sync import collect_status
        rows = collect_status(conf, logger)
    # shown in the text (but not in that of --autosync, which stays the
    # autosync part alone) and in the JSON objects; the JSON list stays the
    # cloud sync rows alone
    csync = None
    if args.container_sync or (args.json if args.autosync else
                               not args.json):
        from swiftsync.daemon.csync_status import collect_csync, emit_gauges
        csync = collect_csync(conf, logger)
        emit_gauges(logger, csync, [c.name for c in conf.peers()])
    try:
        report = autosync_report(conf, logger, args.account) \
            if want_report else None
    except (OSError, ValueError) as e:
        print('swiftsync status: autosync: %s' % e, file=sys.stderr)
        return EXIT_ERRORS
    if args.autosync and report is None:
        print('swiftsync status: %s names no autosync clusters ([swiftsync] '
              'cluster and two [cluster:NAME] sections)' % conf.path,
              file=sys.stderr)
        return EXIT_ERRORS
    if args.json:
        if args.autosync:
            out = dict(report, container_sync=csync)
        elif args.container_sync:
            out = {'container_sync': csync}
        else:
            out = rows
        json.dump(out, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write('\n')
    else:
        if not (args.autosync or args.container_sync):
            print(render(rows))
        if report is not None:
            print(render_autosync(report))
        # without autosync clusters only when some container has a Sync-To
        if csync is not None and (csync or report is not None or
                                  args.container_sync):
            print(render_csync(csync))
    failed = any(r['last_error'] for r in rows) or (report is not None and (
        report['differences'] or report['unreachable'])) or any(
        e['reason'] for e in csync or ())
    return EXIT_ERRORS if failed else EXIT_OK
