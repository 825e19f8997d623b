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

"""``swiftsync dev up|down|status``: real local clusters on 127.0.0.x."""

import json
import sys

from swiftsync.devcluster import Deployment, DevError
from swiftsync.devcluster.layout import DEFAULT_BASE_PORT


def register(subparsers):
    dev = subparsers.add_parser(
        'dev', help='real local Swift clusters and an S3 server',
        description='Run real local Swift clusters and an S3 server on '
                    '127.0.0.x for the demo, tests and benchmarks.')
    sub = dev.add_subparsers(dest='action', metavar='ACTION')
    sub.required = True

    up = sub.add_parser('up', help='set up and start a deployment')
    up.add_argument('--workdir', required=True,
                    help='everything is written under this directory')
    up.add_argument('--clusters', type=int, default=2,
                    help='independent Swift clusters (default 2)')
    up.add_argument('--replicas', type=int, default=1,
                    help='storage nodes (and replicas) per cluster, on '
                         '127.0.0.1..N (default 1)')
    up.add_argument('--s3', default='seaweedfs',
                    help='S3 server(s): seaweedfs, s3api, a comma list of '
                         'both, or none (default seaweedfs)')
    up.add_argument('--base-port', type=int, default=DEFAULT_BASE_PORT,
                    help='first port of the deployment (default %d)'
                         % DEFAULT_BASE_PORT)
    up.add_argument('--filters', default=None,
                    help='comma list of swiftsync filters in the proxy '
                         'pipelines (default: all that exist; "none")')
    up.add_argument('--auth', choices=('tempauth', 'keystone'),
                    default='tempauth',
                    help='tempauth (default), or one real Keystone (sqlite, '
                         'on 127.0.0.1) for every cluster, with authtoken '
                         'and keystoneauth in the proxy pipelines')
    up.add_argument('--timeout', type=float, default=60,
                    help='seconds to wait for the servers (default 60)')
    csync = up.add_mutually_exclusive_group()
    csync.add_argument('--container-sync', dest='container_sync',
                       action='store_true', default=None,
                       help="run Swift's container-sync daemon on every "
                            'node (every 5 s); the default with autosync '
                            'in the pipelines and 2+ clusters, since that '
                            'is what makes their listings converge')
    csync.add_argument('--no-container-sync', dest='container_sync',
                       action='store_false',
                       help="do not run Swift's container-sync daemon "
                            '(mirrored containers then show objects of '
                            'another cluster only through read-through)')
    up.set_defaults(func=cmd_up)

    down = sub.add_parser('down', help='stop every process of a deployment')
    down.add_argument('--workdir', required=True)
    down.set_defaults(func=cmd_down)

    status = sub.add_parser('status', help='say what runs')
    status.add_argument('--workdir', required=True)
    status.add_argument('--json', action='store_true')
    status.set_defaults(func=cmd_status)


def wants_container_sync(env):
    """Whether a deployment needs Swift's container-sync daemon for its
    listings to converge: autosync mirrors containers and links their
    sync, but the objects travel with container-sync."""
    return 'autosync' in env['filters'] and len(env['clusters']) >= 2


def _fail(msg):
    print('swiftsync dev: error: %s' % msg, file=sys.stderr)
    return 1


def cmd_up(args):
    try:
        env = Deployment(args.workdir).up(
            clusters=args.clusters, replicas=args.replicas, s3=args.s3,
            base_port=args.base_port, filters=args.filters,
            timeout=args.timeout, auth=args.auth)
        container_sync = args.container_sync
        if container_sync is None:
            container_sync = wants_container_sync(env)
        if container_sync:
            Deployment(args.workdir).start_swift_daemon('container-sync')
    except DevError as e:
        return _fail(e)
    if env.get('keystone'):
        print('keystone  %s  (user tester, password testing, project test;'
              ' the region is the cluster)' % env['keystone']['url'])
    for c in env['clusters']:
        print('%s  %s  (%d storage node%s)' % (
            c['name'], c['proxy_url'] if env.get('keystone') else
            c['auth_url'], len(c['nodes']),
            '' if len(c['nodes']) == 1 else 's'))
    for kind, s3 in sorted(env['s3_servers'].items()):
        print('%-9s %s  bucket %s' % (kind, s3['endpoint'], s3['bucket']))
    print('filters   %s' % (', '.join(env['filters']) or 'none'))
    print('container-sync  %s' % (
        'running on every node' if container_sync else
        'not running (objects reach other clusters only when it runs: '
        'swiftsync dev up --container-sync)'
        if wants_container_sync(env) else 'not running'))
    print('env       %s/env.json  (up in %.1f s)' % (
        env['workdir'], env['startup_seconds']))
    return 0


def cmd_down(args):
    try:
        stopped = Deployment(args.workdir).down()
    except DevError as e:
        return _fail(e)
    print('stopped %d process%s' % (len(stopped),
                                    '' if len(stopped) == 1 else 'es'))
    return 0


def cmd_status(args):
    procs = Deployment(args.workdir).status()
    if args.json:
        print(json.dumps(procs, indent=2))
    else:
        if not procs:
            print('nothing was started in %s' % args.workdir)
        for p in procs:
            print('%-22s pid %-7d %-8s %s' % (
                p['name'], p['pid'],
                'running' if p['running'] else 'stopped',
                ' '.join(p['ports'])))
    return 0 if all(p['running'] for p in procs) else 3
