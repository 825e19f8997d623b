"""autosync_visible: an object PUT on c1 read at once through c2's proxy.

Each round PUTs a new object on c1 and immediately GETs it through c2,
where container sync has not brought it yet: the GET must succeed, served by
autosync's read-through from c1. Ours: the median latency of that first GET
on c2. Peer: the median latency of a GET of an object stored on c2 itself.
200 rounds (30 with --quick); Swift's container-sync daemon is not running,
so every first GET is a real read-through.

ratio = peer / ours; target >= 0.5 (a read-through costs at most twice a
local read). "first_get_ok" counts the first GETs that succeeded.
"""

import os

from autosync_put import Client
from common import deployment, median, parser, report

BODY = os.urandom(4096)


def main():
    args = parser(__doc__).parse_args()
    n = 30 if args.quick else 200
    with deployment(args, clusters=2, s3='none', filters='autosync') as dep:
        c1, c2 = (Client(c) for c in dep.env['clusters'])
        c1.timed('PUT', '/visible')
        ok, through, local = 0, [], []
        for i in range(n):
            seconds, status, _ = c1.timed('PUT', '/visible/o%d' % i,
                                          body=BODY)
            assert status == 201, status
            seconds, status, headers = c2.timed('GET', '/visible/o%d' % i)
            if status == 200 and 'x-swiftsync-read-through' in headers:
                ok += 1
                through.append(seconds)
            c2.timed('PUT', '/visible/local%d' % i, body=BODY)
            seconds, status, headers = c2.timed('GET',
                                                '/visible/local%d' % i)
            assert status == 200 and \
                'x-swiftsync-read-through' not in headers
            local.append(seconds)
        c1.close()
        c2.close()
    if not through:
        raise SystemExit('no first GET succeeded')
    print('first GET on c2 (read-through): median %.1f ms, %d/%d succeeded; '
          'local GET on c2: median %.1f ms' % (
              median(through) * 1000, ok, n, median(local) * 1000))
    report('autosync_visible', median(through), median(local), 's',
           'ratio >= 0.5 (a read-through at most twice a local GET)',
           higher_is_better=False, rounds=n, first_get_ok=ok)


if __name__ == '__main__':
    main()
