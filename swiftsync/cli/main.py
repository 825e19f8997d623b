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

"""``swiftsync <subcommand>``: one console script, one module per subcommand.

Each subcommand module provides ``register(subparsers)`` which adds its
parser and sets ``func`` to a callable taking the parsed args and returning
an exit code.
"""

import argparse
import importlib
import sys

import swiftsync

# Modules under swiftsync.cli, in the order `--help` lists them.
SUBCOMMANDS = ('dev', 'keys', 'sync', 'status', 'reconcile', 'mirror')

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser(argv=None):
    parser = argparse.ArgumentParser(
        prog='swiftsync',
        description='Multi-cluster and cloud sync for OpenStack Swift.')
    parser.add_argument('--version', action='version',
                        version='swiftsync ' + swiftsync.__version__)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    # only the subcommand named is imported (start-up: `mirror` need not
    # load the dev clusters' Swift code); none named, or --help: all
    named = [a for a in (sys.argv[1:] if argv is None else argv)
             if not a.startswith('-')][:1]
    for name in named if named and named[0] in SUBCOMMANDS else SUBCOMMANDS:
        importlib.import_module('swiftsync.cli.' + name).register(subparsers)
    return parser


def main(argv=None):
    args = build_parser(argv).parse_args(argv)
    args.own_process = argv is None   # the command line's: may end at once
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
