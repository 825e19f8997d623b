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

"""``make demo``: bring up the dev deployment and walk through each feature.

Each feature has a module in ``swiftsync.devcluster.tours`` with a
``TITLE``, a ``NEEDS`` dict (``clusters``, ``s3``) and ``run(tour)``; this
module brings up one deployment that satisfies them all, runs each chapter
in order and tears down unless ``--keep``.
"""

import argparse
import importlib
import os
import sys
import time

from swiftsync.devcluster import Deployment, DevError
from swiftsync.devcluster.layout import DEFAULT_BASE_PORT
from swiftsync.devcluster.s3client import s3_client

CHAPTERS = ('basics', 'sync_keys', 'autosync', 'cloud_sync', 'shunt',
            'mirror')


class Tour(object):
    def __init__(self, env, deployment):
        self.env = env
        self.deployment = deployment
        self.clusters = env['clusters']
        self.step_no = 0

    def chapter(self, title):
        print('\n== %s ==' % title)

    def step(self, text):
        self.step_no += 1
        print('\n[%d] %s' % (self.step_no, text))

    def show(self, text):
        print('    ' + text)

    def check(self, ok, what):
        if not ok:
            raise AssertionError('demo check failed: ' + what)
        print('    ok: ' + what)

    def swift(self, cluster, user=1):
        import swiftclient
        c = cluster if isinstance(cluster, dict) else self.cluster(cluster)
        suffix = '' if user == 1 else str(user)
        return swiftclient.Connection(c['auth_url'], c['user' + suffix],
                                      c['key' + suffix], retries=2)

    def cluster(self, name):
        return next(c for c in self.clusters if c['name'] == name)

    def s3(self, kind=None):
        creds = self.env['s3_servers'][kind] if kind else self.env['s3']
        return s3_client(creds), creds['bucket']


def main(argv=None):
    parser = argparse.ArgumentParser(prog='swiftsync-demo')
    parser.add_argument('--workdir', default='work/demo')
    parser.add_argument('--base-port', type=int, default=DEFAULT_BASE_PORT)
    parser.add_argument('--keep', action='store_true',
                        help='leave the deployment running afterwards')
    parser.add_argument('--chapters', default=','.join(CHAPTERS),
                        help='comma list, in order (default: all: %s)'
                             % ','.join(CHAPTERS))
    args = parser.parse_args(argv)

    names = [n.strip() for n in args.chapters.split(',') if n.strip()]
    unknown = [n for n in names if n not in CHAPTERS]
    if unknown:
        parser.error('unknown chapter(s): %s' % ', '.join(unknown))
    chapters = [importlib.import_module('swiftsync.devcluster.tours.' + n)
                for n in names]
    clusters = max(ch.NEEDS.get('clusters', 1) for ch in chapters)
    s3 = []
    for ch in chapters:
        s3 += [k for k in ch.NEEDS.get('s3', []) if k not in s3]
    dep = Deployment(args.workdir)
    print('Bringing up %d Swift clusters and %s in %s ...' % (
        clusters, ' and '.join(s3) or 'no S3 server',
        os.path.abspath(args.workdir)))
    try:
        env = dep.up(clusters=clusters, s3=','.join(s3) or 'none',
                     base_port=args.base_port)
    except DevError as e:
        print('swiftsync demo: error: %s' % e, file=sys.stderr)
        return 1
    tour = Tour(env, dep)
    started = time.time()
    try:
        for ch in chapters:
            tour.chapter(ch.TITLE)
            ch.run(tour)
        print('\nTour done in %.1f s.' % (time.time() - started))
        return 0
    except Exception as e:
        print('\nswiftsync demo: FAILED: %s' % e, file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print('Deployment left running (KEEP=1): %s/env.json; stop it '
                  'with: swiftsync dev down --workdir %s'
                  % (dep.workdir, dep.workdir))
        else:
            dep.down()
            print('Deployment stopped.')


if __name__ == '__main__':
    sys.exit(main())
