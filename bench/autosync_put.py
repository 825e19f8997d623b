"""autosync_put: container PUT latency with autosync and two peers vs a
container PUT on a cluster without autosync.

Ours: a 3-cluster deployment with the autosync filter; each PUT on c1 is
done on c1 and then, in parallel, on c2 and c3 (signed peer requests, the
sync ring and its key included). Peer: a 1-cluster deployment without any
swiftsync filter. Median of 200 PUTs each (30 with --quick), one keep-alive
client connection, new container names every time.

ratio = peer / ours; target >= 0.67 (at most 1.5x the single-cluster PUT).
"""

import argparse
import http.client
import time
import uuid

from common import deployment, median, parser, report


class Client(object):
    """One keep-alive connection with a tempauth token."""

    def __init__(self, cluster):
        host, port = cluster['proxy_url'].split('://')[1].split(':')
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        status, headers = self.request('GET', '/auth/v1.0', {
            'X-Auth-User': cluster['user'], 'X-Auth-Key': cluster['key']})
        self.token = headers['x-auth-token']
        self.base = '/v1/' + cluster['account']

    def request(self, method, path, headers=None, body=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        resp = self.conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}

    def timed(self, method, path, headers=None, body=None):
        h = dict(headers or {}, **{'X-Auth-Token': self.token})
        start = time.perf_counter()
        status, headers = self.request(method, self.base + path, h, body)
        return time.perf_counter() - start, status, headers

    def close(self):
        self.conn.close()


def put_container(client, prefix, i):
    seconds, status, _ = client.timed('PUT', '/%s-%d-%s' % (
        prefix, i, uuid.uuid4().hex[:6]))
    if status not in (201, 202):
        raise SystemExit('container PUT answered %d' % status)
    return seconds


def main():
    args = parser(__doc__).parse_args()
    n = 30 if args.quick else 200
    # both deployments at once, PUTs alternating, so that the load of the
    # machine weighs on both sides alike
    with deployment(args, clusters=3, s3='none', filters='autosync') as dep, \
            deployment(argparse.Namespace(**dict(vars(args), workdir=None)),
                       clusters=1, s3='none', filters='none',
                       base_port=args.base_port + 100) as plain_dep:
        ours_client = Client(dep.env['clusters'][0])
        plain_client = Client(plain_dep.env['clusters'][0])
        ours, plain = [], []
        for i in range(5):
            put_container(ours_client, 'warm', i)
            put_container(plain_client, 'warm', i)
        for i in range(n):
            ours.append(put_container(ours_client, 'as', i))
            plain.append(put_container(plain_client, 'plain', i))
        ours_client.close()
        plain_client.close()
    print('autosync (2 peers): median %.1f ms; one cluster: median %.1f ms'
          % (median(ours) * 1000, median(plain) * 1000))
    report('autosync_put', median(ours), median(plain), 's',
           'ratio >= 0.67 (at most 1.5x the single-cluster PUT)',
           higher_is_better=False, puts=n, peers=2)


if __name__ == '__main__':
    main()
