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

"""``swiftsync status CONF [--json]``: where the cloud sync of the mapped
containers of this node stands, from the checkpoints and container DBs."""

import json
import sys
import time

from swiftsync import config

EXIT_OK, EXIT_ERRORS = 0, 1


def register(subparsers):
    p = subparsers.add_parser(
        'status', help='cloud sync state of the containers of this node',
        description='Per mapped container of this node: target, mode, rows '
                    'synced and pending, lag, last error. Exits 1 when a '
                    'container has an error.')
    p.add_argument('conf', nargs='?', default=config.DEFAULT_PATH,
                   help='the operator file (default %(default)s)')
    p.add_argument('--json', action='store_true',
                   help='print a JSON list instead of a table')
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
        table.append((
            '%s/%s' % (s['account'], s['container']), s['target'] or '-',
            s['mode'] or '-', s['replica'], str(s['rows_synced']),
            str(s['rows_pending']),
            _age(s['lag_seconds']) if s['rows_pending'] else '0s',
            ('%s (%s ago)' % (err['message'], _age(now - err['time'])))
            if err else '-'))
    widths = [max(len(r[i]) for r in table) for i in range(len(head) - 1)]
    lines = []
    for r in table:
        lines.append('  '.join(c.ljust(w) for c, w in zip(r, widths)) +
                     '  ' + r[-1])
    if not rows:
        lines.append('(no mapped container on this node)')
    return '\n'.join(lines)


def run(args):
    from swiftsync.cli.sync import setup
    conf, logger = setup(args.conf, False, 'swiftsync-status')
    from swiftsync.daemon.sync import collect_status
    rows = collect_status(conf, logger)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write('\n')
    else:
        print(render(rows))
    return EXIT_ERRORS if any(r['last_error'] for r in rows) else EXIT_OK
