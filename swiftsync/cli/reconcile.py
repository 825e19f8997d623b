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

"""``swiftsync reconcile CONF [--once] [--dry-run]``: drain the autosync
queue and repair the namespace (see :mod:`swiftsync.daemon.reconcile`)."""

import json
import signal
import sys

from swiftsync import config
from swiftsync.cli.sync import setup

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers):
    p = subparsers.add_parser(
        'reconcile', help='repair the autosync namespace across clusters',
        description='Replay the autosync operations queued for peers that '
                    'were down, then compare the containers of every '
                    'account across the clusters and repair differences.')
    p.add_argument('conf', nargs='?', default=config.DEFAULT_PATH,
                   help='the operator file (default %(default)s)')
    p.add_argument('--once', action='store_true',
                   help='run one pass, print its report (JSON) and exit')
    p.add_argument('--dry-run', action='store_true',
                   help='report the queue depth and the differences only '
                        '(implies --once)')
    p.add_argument('--account', action='append', default=[],
                   help='only this account (repeatable); default: every '
                        'account whose database is on this node')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='also log to the console')
    p.set_defaults(func=run)


def run(args):
    from swift.common.utils import eventlet_monkey_patch
    eventlet_monkey_patch()
    conf, logger = setup(args.conf, args.verbose, 'swiftsync-reconcile')
    from swiftsync.daemon.reconcile import Reconciler

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    try:
        daemon = Reconciler(conf, logger, accounts=args.account,
                            dry_run=args.dry_run)
    except (OSError, ValueError) as e:
        print('swiftsync reconcile: %s' % e, file=sys.stderr)
        return EXIT_USAGE if isinstance(e, ValueError) else EXIT_FAILED
    if args.once or args.dry_run:
        report = daemon.run_once()
        print(json.dumps(report, indent=2, sort_keys=True))
        failed = report['unreachable'] or report['queue']['pending'] or any(
            d['fix'] not in (None, 'done') for d in report['differences'])
        if args.dry_run:
            failed = failed or report['differences']
        return EXIT_FAILED if failed else EXIT_OK
    daemon.run_forever()
    return EXIT_OK
