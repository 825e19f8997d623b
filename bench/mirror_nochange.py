"""mirror_nochange: a run with nothing to do, 20,000 objects, vs rclone.

A Swift container of c1 is mirrored to a SeaweedFS prefix once (by us);
then both tools are run on that same pair, taking turns, and must find
nothing to copy: one untimed warm-up run each (the servers have just taken
40,000 writes; the first listings after that vary by 30%), then five timed
runs each. Wall time including start-up, median of the five, lower is
better; ratio = rclone / ours. Target ratio >= 1.0.
"""

import os
import tempfile

import common
import mirrorbench
import peers
from swiftsync.devcluster.s3client import s3_client

WORKERS = 16


def main():
    args = common.parser(__doc__).parse_args()
    count = 2000 if args.quick else 20000
    runs = 5
    with common.deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        bucket = env['s3']['bucket']
        mirrorbench.fill_s3(s3_client(env['s3']), bucket, 'seed', count, 64,
                            threads=32)
        pair = 'swift://nc->s3://%s/nc' % bucket
        seeding = ['s3://%s/seed->swift://nc' % bucket, pair]
        for scenario in seeding:
            seconds, _, out = mirrorbench.ours(env, scenario, 32)
            print('seeded %s in %.1f s: %s' % (scenario, seconds,
                                               out.splitlines()[0]))
        conf = peers.write_rclone_conf(env, os.path.join(
            tempfile.mkdtemp(), 'rclone.conf'))
        mirrorbench.ours(env, pair, WORKERS)  # warm-up, both tools
        mirrorbench.theirs(conf, 'c1:nc', 's3:%s/nc' % bucket, WORKERS)
        ours_t, theirs_t = [], []
        for _ in range(runs):
            seconds, rss, out = mirrorbench.ours(env, pair, WORKERS)
            assert out.startswith('copied 0, updated 0'), out
            ours_t.append(seconds)
            seconds, _ = mirrorbench.theirs(conf, 'c1:nc', 's3:%s/nc' % bucket,
                                            WORKERS)
            theirs_t.append(seconds)
        print('ours %s s, rclone %s s' % (
            [round(t, 2) for t in ours_t], [round(t, 2) for t in theirs_t]))
        common.report('mirror_nochange', common.median(ours_t),
                      common.median(theirs_t), 's', '>= 1.0',
                      higher_is_better=False, objects=count, runs=runs,
                      ours_peak_rss_mib=round(rss, 1))


if __name__ == '__main__':
    main()
