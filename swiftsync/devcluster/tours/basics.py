"""Chapter 1: the ground everything stands on."""

TITLE = 'Real clusters and an S3 server on 127.0.0.1'
NEEDS = {'clusters': 2, 's3': ['seaweedfs']}


def run(tour):
    env = tour.env
    tour.step('%d independent Swift clusters, each with its own memcached, '
              'came up in %.1f s' % (len(tour.clusters),
                                     env['startup_seconds']))
    for c in tour.clusters:
        tour.show('%s  %s  user %s  pipeline filters: %s' % (
            c['name'], c['auth_url'], c['user'],
            ', '.join(env['filters']) or '(none yet)'))
    tour.show('S3 (%s): %s  bucket %s' % (
        env['s3']['kind'], env['s3']['endpoint'], env['s3']['bucket']))

    tour.step('An object round-trip on each cluster (python-swiftclient)')
    for c in tour.clusters:
        conn = tour.swift(c)
        conn.put_container('tour')
        conn.put_object('tour', 'hello.txt', b'hello from ' +
                        c['name'].encode(), content_type='text/plain')
        _, body = conn.get_object('tour', 'hello.txt')
        tour.check(body == b'hello from ' + c['name'].encode(),
                   '%s: GET tour/hello.txt -> %r' % (c['name'], body))

    tour.step('An object round-trip on the S3 server (botocore, SigV4)')
    client, bucket = tour.s3()
    client.put_object(Bucket=bucket, Key='tour/hello.txt', Body=b'hello s3')
    body = client.get_object(Bucket=bucket, Key='tour/hello.txt')[
        'Body'].read()
    tour.check(body == b'hello s3', 'S3: GET %s/tour/hello.txt -> %r'
               % (bucket, body))
