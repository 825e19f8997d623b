"""Chapter: ``swiftsync mirror``, a bucket into a container and back."""

import json
import os
import subprocess
import sys

TITLE = 'One-shot mirroring between S3 and Swift: swiftsync mirror'
NEEDS = {'clusters': 1, 's3': ['seaweedfs']}


def _mirror(tour, *args):
    s3, c1 = tour.env['s3'], tour.clusters[0]
    environ = dict(os.environ, AWS_ACCESS_KEY_ID=s3['access_key'],
                   AWS_SECRET_ACCESS_KEY=s3['secret_key'],
                   AWS_ENDPOINT_URL=s3['endpoint'], AWS_REGION=s3['region'],
                   ST_AUTH=c1['auth_url'], ST_USER=c1['user'],
                   ST_KEY=c1['key'])
    report = os.path.join(tour.deployment.workdir, 'mirror-report.json')
    cmd = ['swiftsync', 'mirror', '--no-progress', '--report', report]
    cmd += list(args)
    tour.show('$ ' + ' '.join(cmd))
    out = subprocess.run([sys.executable, '-m', 'swiftsync.cli.main'] +
                         cmd[1:], capture_output=True, text=True,
                         env=environ, timeout=300)
    for line in (out.stdout + out.stderr).strip().splitlines():
        tour.show('  ' + line)
    tour.check(out.returncode == 0, 'exit code 0')
    with open(report) as f:
        return json.load(f)


def run(tour):
    client, bucket = tour.s3()
    tour.step('An S3 prefix with 20 photos, one of 12 MiB (credentials '
              'from AWS_* and ST_* as botocore and swiftclient take them)')
    for i in range(20):
        client.put_object(Bucket=bucket,
                          Key='mirror-photos/img-%02d.jpg' % i,
                          Body=b'jpeg' * 256, ContentType='image/jpeg',
                          Metadata={'camera': 'demo'})
    client.put_object(Bucket=bucket, Key='mirror-photos/panorama.tif',
                      Body=os.urandom(12 * 1024 * 1024))

    tour.step('Mirror the bucket prefix into a Swift container; above '
              '--segment-size the object becomes an SLO')
    first = _mirror(tour, '--segment-size', '5Mi',
                    's3://%s/mirror-photos->swift://mirrored' % bucket)
    tour.check(first['copied'] == 21, '21 objects copied')
    conn = tour.swift(tour.clusters[0])
    headers = conn.head_object('mirrored', 'panorama.tif')
    tour.check(headers.get('x-static-large-object') == 'True',
               'panorama.tif is an SLO in Swift')

    tour.step('Run it again: nothing to copy (a large object is compared '
              'by what it contains, not by its ETag)')
    again = _mirror(tour, '--segment-size', '5Mi',
                    's3://%s/mirror-photos->swift://mirrored' % bucket)
    tour.check(again['copied'] == 0 and again['skipped'] == 21,
               'copied 0, skipped 21')

    tour.step('And back to another prefix, as a dry run first, then for '
              'real; the SLO goes to S3 as a multipart upload')
    dry = _mirror(tour, '--dry-run', '--segment-size', '5Mi',
                  'swift://mirrored->s3://%s/mirrored-back' % bucket)
    listed = client.list_objects_v2(Bucket=bucket, Prefix='mirrored-back/')
    tour.check(dry['copied'] == 21 and listed['KeyCount'] == 0,
               'the dry run would copy 21 and changed nothing')
    back = _mirror(tour, '--segment-size', '5Mi',
                   'swift://mirrored->s3://%s/mirrored-back' % bucket)
    tour.check(back['copied'] == 21, '21 objects copied back')
