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

"""Run one of Swift's background daemons against a dev cluster.

Swift's daemons read ``/etc/swift/swift.conf`` (and the rings next to it)
unless ``set_swift_dir`` is called first; the ``swift-*`` scripts never do,
so this wrapper does, from the conf's own ``swift_dir``::

    python -m swiftsync.devcluster.swiftd container-sync CONF [--once]
"""

import argparse
import sys

from swift.common.daemon import run_daemon
from swift.common.utils import readconf, set_swift_dir

DAEMONS = {
    'container-sync': ('swift.container.sync', 'ContainerSync'),
    'container-updater': ('swift.container.updater', 'ContainerUpdater'),
    'object-updater': ('swift.obj.updater', 'ObjectUpdater'),
}


def main(argv=None):
    parser = argparse.ArgumentParser(prog='swiftd')
    parser.add_argument('daemon', choices=sorted(DAEMONS))
    parser.add_argument('conf')
    parser.add_argument('--once', action='store_true')
    args = parser.parse_args(argv)
    # DEFAULT values show up in every section
    set_swift_dir(readconf(args.conf, args.daemon).get('swift_dir'))
    module, cls = DAEMONS[args.daemon]
    klass = getattr(__import__(module, fromlist=[cls]), cls)
    run_daemon(klass, args.conf, section_name=args.daemon, once=args.once,
               verbose=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
