"""Real clients for the tests: python-swiftclient and botocore."""

import swiftclient

from swiftsync.devcluster.s3client import s3_client  # noqa: F401


def swift(cluster, user=1, **kwargs):
    """A swiftclient Connection to an env.json cluster as user 1 or 2."""
    suffix = '' if user == 1 else str(user)
    if user == 'reseller':
        return swiftclient.Connection(cluster['auth_url'],
                                      cluster['reseller_user'],
                                      cluster['reseller_key'], **kwargs)
    return swiftclient.Connection(cluster['auth_url'],
                                  cluster['user' + suffix],
                                  cluster['key' + suffix], retries=0,
                                  **kwargs)
