"""mirror_small: 2,000 x 4 KiB objects S3 -> Swift, ours vs rclone.

Both tools copy the same SeaweedFS prefix into two fresh containers of c1,
with 16 workers (``--workers 16`` vs ``--transfers 16 --checkers 16`` and
rclone's best flags). Objects/s, higher is better. Target ratio >= 1.0.
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
    count = 300 if args.quick else 2000
    with common.deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        bucket = env['s3']['bucket']
        mirrorbench.fill_s3(s3_client(env['s3']), bucket, 'small', count,
                            4096)
        conf = peers.write_rclone_conf(env, os.path.join(
            tempfile.mkdtemp(), 'rclone.conf'))
        ours_s, rss, out = mirrorbench.ours(
            env, 's3://%s/small->swift://small-ours' % bucket, WORKERS)
        assert ('copied %d,' % count) in out, out
        theirs_s, _ = mirrorbench.theirs(
            conf, 's3:%s/small' % bucket, 'c1:small-rclone', WORKERS)
        print('ours %.2f s (peak RSS %.0f MiB), rclone %.2f s for %d objects'
              % (ours_s, rss, theirs_s, count))
        common.report('mirror_small', count / ours_s, count / theirs_s,
                      'objects/s', '>= 1.0', objects=count,
                      workers=WORKERS, ours_peak_rss_mib=round(rss, 1))


if __name__ == '__main__':
    main()
