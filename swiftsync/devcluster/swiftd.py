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

"""Run one of Swift's servers or background daemons against a dev cluster.

Swift reads its storage policies from ``/etc/swift/swift.conf`` whatever
the ``swift_dir`` of a conf says (:mod:`swiftsync.swiftdir`); the
``swift-*`` scripts then see ``Policy-0`` only. This wrapper reads them
from the conf's own ``swift_dir`` first::

    python -m swiftsync.devcluster.swiftd proxy-server CONF
    python -m swiftsync.devcluster.swiftd container-sync CONF [--once]
"""

import argparse
import sys

from swift.common.daemon import run_daemon
from swift.common.utils import readconf

from swiftsync.swiftdir import use_swift_dir

DAEMONS = {
    'container-sync': ('swift.container.sync', 'ContainerSync'),
    'container-updater': ('swift.container.updater', 'ContainerUpdater'),
    'object-updater': ('swift.obj.updater', 'ObjectUpdater'),
}
#: the WSGI servers (``swift-<name>``)
SERVERS = ('proxy-server', 'account-server', 'container-server',
           'object-server')


def main(argv=None):
    parser = argparse.ArgumentParser(prog='swiftd')
    parser.add_argument('daemon', choices=sorted(DAEMONS) + list(SERVERS))
    parser.add_argument('conf')
    parser.add_argument('--once', action='store_true')
    args = parser.parse_args(argv)
    # DEFAULT values show up in every section
    section = 'app:' + args.daemon if args.daemon in SERVERS else \
        args.daemon
    use_swift_dir(readconf(args.conf, section).get('swift_dir'))
    if args.daemon in SERVERS:
        from swift.common.wsgi import run_wsgi
        return run_wsgi(args.conf, args.daemon, verbose=True)
    module, cls = DAEMONS[args.daemon]
    klass = getattr(__import__(module, fromlist=[cls]), cls)
    run_daemon(klass, args.conf, section_name=args.daemon, once=args.once,
               verbose=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
