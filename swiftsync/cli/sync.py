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

"""``swiftsync sync CONF [--once]``: the cloud sync daemon of a container
node (see :mod:`swiftsync.daemon.sync`)."""

import os
import signal
import sys

from swiftsync import config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers):
    p = subparsers.add_parser(
        'sync', help='the cloud sync daemon of a container node',
        description='Propagate the changes of mapped and opted-in '
                    'containers of this node to their remote stores.')
    p.add_argument('conf', nargs='?', default=config.DEFAULT_PATH,
                   help='the operator file (default %(default)s)')
    p.add_argument('--once', action='store_true',
                   help='run one pass and exit')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='also log to the console')
    p.set_defaults(func=run)


def setup(conf_path, verbose, route):
    """(config, logger) for a daemon-like subcommand, or exit 2 with the
    config error. Swift's rings and swift.conf are read from the file's
    ``swift_dir`` from then on."""
    from swift.common.utils import get_logger

    from swiftsync.swiftdir import use_swift_dir
    try:
        conf = config.load(conf_path)
    except config.ConfigError as e:
        print('swiftsync: %s' % e, file=sys.stderr)
        sys.exit(EXIT_USAGE)
    use_swift_dir(conf.globals.swift_dir)
    logger = get_logger(conf.globals.log_conf(), log_to_console=verbose,
                        log_route=route)
    return conf, logger


def reexec(argv):
    """Replace this process (same pid) by ``swiftsync ARGV`` run through
    :mod:`swiftsync.daemon.green`, which patches before it imports."""
    os.execv(sys.executable,
             [sys.executable, '-m', 'swiftsync.daemon.green'] + list(argv))


def run(args):
    # Green I/O everywhere (botocore's sockets included): patched before
    # ssl is imported, hence a fresh start of this process.
    import eventlet.patcher
    if not eventlet.patcher.is_monkey_patched('socket'):
        reexec(['sync', args.conf] + ['--once'] * args.once +
                     ['--verbose'] * args.verbose)
    conf, logger = setup(args.conf, args.verbose, 'swiftsync-sync')
    from swiftsync.daemon.sync import SyncDaemon

    def stop(signum, _frame):
        logger.info('swiftsync sync: signal %d, exiting', signum)
        # checkpoints survive a kill at any point (the next start resumes
        # the pass), so leave at once: no teardown of the transfers in
        # flight under a dying hub
        os._exit(EXIT_OK)
    signal.signal(signal.SIGTERM, stop)
    try:
        daemon = SyncDaemon(conf, logger)
    except (OSError, ValueError) as e:
        logger.error('ERROR swiftsync sync cannot start: %s', e)
        print('swiftsync sync: %s' % e, file=sys.stderr)
        return EXIT_FAILED
    if args.once:
        daemon.run_once()
    else:
        daemon.run_forever()
    return EXIT_OK
