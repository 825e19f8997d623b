"""proxy_overhead: GET and HEAD of small objects in a container with no
mapping, through a proxy whose pipeline has the swiftsync filters vs a proxy
of the same cluster without them (same rings, servers and memcached),
requests/s under a bounded loopback load. Rounds alternate between the two
proxies to share the machine's noise. Target: ratio >= 0.97.
"""

import os
import re
import sys
import time
import uuid

import requests

from common import deployment, median, parser, report
from load import run_load
from shunt_get import login

from swiftsync.devcluster.confs import available_filters


def plain_proxy(dep, c1, port):
    """Start a second proxy of c1 without the swiftsync filters."""
    text = open(c1['proxy_conf']).read()
    text = re.sub(r'(?m)^bind_port = \d+$', 'bind_port = %d' % port, text)
    ours = set(available_filters())

    def strip(m):
        names = [n for n in m.group(1).split() if n not in ours]
        return 'pipeline = ' + ' '.join(names)
    text = re.sub(r'(?m)^pipeline = (.*)$', strip, text)
    path = os.path.join(os.path.dirname(c1['proxy_conf']),
                        'proxy-server-plain.conf')
    with open(path, 'w') as f:
        f.write(text)
    # as the deployment starts its proxies (swiftd reads the storage
    # policies of the cluster's swift_dir)
    dep.procs.start('c1-proxy-plain', [
        sys.executable, '-m', 'swiftsync.devcluster.swiftd', 'proxy-server',
        path], ports=[('127.0.0.1', port)])
    url = 'http://127.0.0.1:%d' % port
    deadline = time.time() + 30
    while True:
        try:
            if requests.get(url + '/healthcheck', timeout=2).ok:
                return url
        except requests.RequestException:
            pass
        if time.time() > deadline:
            raise RuntimeError('plain proxy did not start')
        time.sleep(0.2)


def cpu_seconds(pid):
    """User + system CPU time of a process so far."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def main():
    args = parser(__doc__).parse_args()
    seconds = 3 if args.quick else 8
    rounds = 2 if args.quick else 4
    with deployment(args, clusters=1, s3='seaweedfs') as dep:
        c1 = dep.env['clusters'][0]
        plain = plain_proxy(dep, c1, args.base_port + 280)
        pids = {'ours': dep.procs.procs['c1-proxy']['pid'],
                'plain': dep.procs.procs['c1-proxy-plain']['pid']}
        cpu = {}
        url, token = login(c1)
        path = url[len(c1['proxy_url']):]
        cont = 'bench-' + uuid.uuid4().hex[:6]
        requests.put('%s/%s' % (url, cont), headers={'X-Auth-Token': token},
                     timeout=30).raise_for_status()
        names = ['o%02d' % i for i in range(20)]
        for n in names:
            requests.put('%s/%s/%s' % (url, cont, n), data=b'x' * 1024,
                         headers={'X-Auth-Token': token},
                         timeout=30).raise_for_status()
        results = {}
        for method in ('GET', 'HEAD'):
            for which, base in (('ours', c1['proxy_url']), ('plain', plain)):
                reqs = [(method, '%s%s/%s/%s' % (base, path, cont, n),
                         {'X-Auth-Token': token}) for n in names]
                run_load(reqs, threads=4, seconds=1, max_requests=200)
            for _ in range(rounds):
                for which, base in (('ours', c1['proxy_url']),
                                    ('plain', plain)):
                    reqs = [(method, '%s%s/%s/%s' % (base, path, cont, n),
                             {'X-Auth-Token': token}) for n in names]
                    before = cpu_seconds(pids[which])
                    r = run_load(reqs, threads=4, seconds=seconds,
                                 max_requests=200000)
                    used = cpu_seconds(pids[which]) - before
                    assert set(r['statuses']) == {'200'}, r['statuses']
                    results.setdefault((method, which), []).append(r['rps'])
                    c = cpu.setdefault((method, which), [0, 0.0])
                    c[0] += r['requests']
                    c[1] += used
        for k, v in sorted(results.items()):
            print('%s %s: %s req/s, %.0f req per proxy CPU second' % (
                k[0], k[1], [round(x) for x in v], cpu[k][0] / cpu[k][1]))

        def per_cpu(method, which):
            n, secs = cpu[(method, which)]
            return n / secs
        get_ratio = median(results[('GET', 'ours')]) / median(
            results[('GET', 'plain')])
        head_ratio = median(results[('HEAD', 'ours')]) / median(
            results[('HEAD', 'plain')])
        ours = median(results[('GET', 'ours')]) + median(
            results[('HEAD', 'ours')])
        peer = median(results[('GET', 'plain')]) + median(
            results[('HEAD', 'plain')])
        # the machine is shared: wall-clock req/s swings with other load,
        # so the figure compared is requests per CPU second of the proxy
        cpu_get = per_cpu('GET', 'ours') / per_cpu('GET', 'plain')
        cpu_head = per_cpu('HEAD', 'ours') / per_cpu('HEAD', 'plain')
        ours_cpu = per_cpu('GET', 'ours') + per_cpu('HEAD', 'ours')
        peer_cpu = per_cpu('GET', 'plain') + per_cpu('HEAD', 'plain')
        report('proxy_overhead', ours_cpu, peer_cpu,
               'req per proxy CPU second (GET + HEAD)',
               'ratio >= 0.97', filters=available_filters(),
               cpu_get_ratio=round(cpu_get, 3),
               cpu_head_ratio=round(cpu_head, 3),
               wall_rps_ours=round(ours, 1), wall_rps_plain=round(peer, 1),
               wall_get_ratio=round(get_ratio, 3),
               wall_head_ratio=round(head_ratio, 3),
               get_rps=round(median(results[('GET', 'ours')]), 1),
               head_rps=round(median(results[('HEAD', 'ours')]), 1),
               rounds=rounds, seconds=seconds)


if __name__ == '__main__':
    main()
