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

"""Run a ``swiftsync`` subcommand with eventlet's monkey patching applied
before anything else is imported::

    python -m swiftsync.daemon.green sync CONF --once

Green sockets must be in place before ``ssl`` is first imported (Swift's
utils import it), or building botocore's SSL context recurses forever;
``swiftsync sync`` re-executes itself through this module.
"""

import warnings

warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import eventlet  # noqa: E402

eventlet.patcher.monkey_patch(all=False, socket=True, select=True,
                              thread=True, time=True)

import sys  # noqa: E402


if __name__ == '__main__':
    from swiftsync.cli.main import main
    sys.exit(main(sys.argv[1:]))
