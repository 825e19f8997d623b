"""mirror_large: one 512 MiB object S3 -> Swift as an SLO, vs rclone.

The object is uploaded to SeaweedFS (multipart, generated data), then
copied into c1 by ``swiftsync mirror --segment-size 64Mi`` (an SLO of 8
segments) and by ``rclone copy --swift-chunk-size 64M`` (rclone's segmented
upload). MB/s, higher is better, target ratio >= 1.0; our peak RSS must
stay <= 150 MiB (read by wait4 for the mirror process).
"""

import os
import tempfile

import common
import mirrorbench
import peers
from swiftsync.devcluster.s3client import s3_client

MiB = 1024 * 1024
PART = 64 * MiB


def upload(client, bucket, key, size):
    mpu = client.create_multipart_upload(Bucket=bucket, Key=key)
    parts = []
    for n, offset in enumerate(range(0, size, PART), 1):
        length = min(PART, size - offset)
        body = os.urandom(MiB) * (length // MiB)
        r = client.upload_part(Bucket=bucket, Key=key, PartNumber=n,
                               UploadId=mpu['UploadId'], Body=body)
        parts.append({'PartNumber': n, 'ETag': r['ETag']})
        del body
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=mpu['UploadId'],
        MultipartUpload={'Parts': parts})


def main():
    args = common.parser(__doc__).parse_args()
    size = (128 if args.quick else 512) * MiB
    with common.deployment(args, clusters=1, s3='seaweedfs') as dep:
        env = dep.env
        bucket = env['s3']['bucket']
        upload(s3_client(env['s3']), bucket, 'large/big', size)
        ours_s, rss, out = mirrorbench.ours(
            env, 's3://%s/large->swift://large-ours' % bucket, 4,
            '--segment-size', '64Mi')
        assert out.startswith('copied 1,'), out
        conf = peers.write_rclone_conf(env, os.path.join(
            tempfile.mkdtemp(), 'rclone.conf'))
        cmd = [peers.rclone_bin(), '--config', conf, '--transfers', '4',
               '--swift-chunk-size', '64M', 'copy', 's3:%s/large' % bucket,
               'c1:large-rclone']
        theirs_s, theirs_rss, code, _, err = common.run_measured(cmd)
        if code != 0:
            raise RuntimeError('rclone failed: %s' % err[-300:])
        mb = size / 1e6
        print('ours %.1f s (%.0f MB/s, peak RSS %.0f MiB), rclone %.1f s '
              '(%.0f MB/s, peak RSS %.0f MiB)' % (
                  ours_s, mb / ours_s, rss, theirs_s, mb / theirs_s,
                  theirs_rss))
        common.report('mirror_large', mb / ours_s, mb / theirs_s, 'MB/s',
                      '>= 1.0 and peak RSS <= 150 MiB',
                      size_mib=size // MiB, ours_peak_rss_mib=round(rss, 1),
                      rclone_peak_rss_mib=round(theirs_rss, 1),
                      rss_ok=rss <= 150)


if __name__ == '__main__':
    main()
