"""Real clients for the tests: python-swiftclient and botocore."""

import swiftclient

from swiftsync.devcluster.s3client import s3_client  # noqa: F401


#: Keystone users (swiftsync.devcluster.keystone) by the names swift() takes
KEYSTONE_USERS = {1: ('tester', 'testing', 'test'),
                  2: ('tester2', 'testing2', 'test2'),
                  'reseller': ('tester6', 'testing6', 'test')}


def keystone_swift(cluster, user, key, project, domain='Default',
                   **kwargs):
    """A swiftclient Connection through the deployment's Keystone, to the
    cluster's region (python-swiftclient's OS_* options)."""
    kwargs.setdefault('retries', 0)
    return swiftclient.Connection(
        cluster['auth_url'], user, key, auth_version='3',
        os_options={'project_name': project, 'project_domain_name': domain,
                    'user_domain_name': domain,
                    'region_name': cluster['region']}, **kwargs)


def swift(cluster, user=1, **kwargs):
    """A swiftclient Connection to an env.json cluster as user 1 or 2 (or
    'reseller'), with tempauth or Keystone, whichever it has."""
    if cluster.get('auth') == 'keystone':
        return keystone_swift(cluster, *KEYSTONE_USERS[user], **kwargs)
    suffix = '' if user == 1 else str(user)
    if user == 'reseller':
        return swiftclient.Connection(cluster['auth_url'],
                                      cluster['reseller_user'],
                                      cluster['reseller_key'], **kwargs)
    return swiftclient.Connection(cluster['auth_url'],
                                  cluster['user' + suffix],
                                  cluster['key' + suffix], retries=0,
                                  **kwargs)
