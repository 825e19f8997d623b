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

"""Run Swift's container sharder once on a dev container node::

    python -m swiftsync.devcluster.sharder CONTAINER_SERVER_CONF

Like ``swift-container-sharder CONF --once``, after ``set_swift_dir`` (the
script reads ``/etc/swift/swift.conf`` otherwise). The conf's
``[container-sharder]`` section is written by
:func:`swiftsync.devcluster.confs.sharder_items`.
"""

import sys

from swift.common.daemon import run_daemon
from swift.common.utils import readconf

from swiftsync.swiftdir import use_swift_dir


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print('usage: python -m swiftsync.devcluster.sharder CONF',
              file=sys.stderr)
        return 2
    conf = argv[0]
    use_swift_dir(readconf(conf, 'container-sharder').get('swift_dir'))
    from swift.container.sharder import ContainerSharder
    run_daemon(ContainerSharder, conf, section_name='container-sharder',
               once=True, verbose=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
