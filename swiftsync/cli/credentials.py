# Copyright (c) 2026 swiftsync authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#    http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or
# implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Swift credentials of the command-line tools.

Three sources, the first that has a value wins, key by key:

1. flags of one side (``--src-auth``, ``--src-user``, ``--src-key``...);
2. a named profile, ``[profile:NAME]`` in ``~/.config/swiftsync/profiles.conf``
   (or ``--profiles FILE``), picked by writing ``NAME:container``;
3. the environment, as python-swiftclient reads it: ``ST_AUTH``,
   ``ST_USER``, ``ST_KEY`` (v1 auth) or ``OS_AUTH_URL``, ``OS_USERNAME``,
   ``OS_PASSWORD``, ``OS_PROJECT_NAME``... (Keystone).

A profile::

    [profile:east]
    auth = https://east.example.com/auth/v1.0
    user = backup:backup
    key = secret
    # Keystone: auth_version = 3, project_name, user_domain_name,
    # project_domain_name, region_name
"""

import configparser
import logging
import os

import swiftclient

DEFAULT_PROFILES = '~/.config/swiftsync/profiles.conf'
OS_OPTIONS = ('project_name', 'user_domain_name', 'project_domain_name',
              'region_name')
PROFILE_KEYS = ('auth', 'user', 'key', 'auth_version') + OS_OPTIONS

# swiftclient logs failures itself; our one-line errors say it all
logging.getLogger('swiftclient').addHandler(logging.NullHandler())
logging.getLogger('swiftclient').propagate = False


class CredentialsError(Exception):
    """Unusable or refused credentials (the tools exit with 2)."""


def load_profiles(path=None):
    """{name: {key: value}} of a profiles file; {} when the default file
    does not exist.

    :raises CredentialsError: for a named file that is missing or bad
    """
    explicit = path is not None
    path = os.path.expanduser(path or DEFAULT_PROFILES)
    if not os.path.exists(path):
        if explicit:
            raise CredentialsError('profiles file %s does not exist' % path)
        return {}
    parser = configparser.RawConfigParser()
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as e:
        raise CredentialsError('cannot read profiles file %s: %s' % (
            path, e.__class__.__name__))
    profiles = {}
    for section in parser.sections():
        kind, _, name = section.partition(':')
        if kind != 'profile' or not name:
            raise CredentialsError('%s: [%s]: expected [profile:NAME]'
                                   % (path, section))
        items = dict(parser.items(section))
        for key in items:
            if key not in PROFILE_KEYS:
                raise CredentialsError('%s: [%s] %s: unknown key (use %s)' % (
                    path, section, key, ', '.join(PROFILE_KEYS)))
        profiles[name] = items
    return profiles


def from_env(environ=None):
    """Credentials from the environment as python-swiftclient reads them."""
    env = os.environ if environ is None else environ
    if env.get('ST_AUTH'):
        return {'auth': env['ST_AUTH'], 'user': env.get('ST_USER'),
                'key': env.get('ST_KEY'),
                'auth_version': env.get('ST_AUTH_VERSION', '1.0')}
    if env.get('OS_AUTH_URL'):
        creds = {'auth': env['OS_AUTH_URL'], 'user': env.get('OS_USERNAME'),
                 'key': env.get('OS_PASSWORD'),
                 'auth_version': env.get('OS_IDENTITY_API_VERSION') or
                 env.get('OS_AUTH_VERSION') or '3'}
        for name in OS_OPTIONS:
            value = env.get('OS_' + name.upper())
            if name == 'project_name' and not value:
                value = env.get('OS_TENANT_NAME')
            if value:
                creds[name] = value
        return creds
    return {}


def add_flags(parser, prefix='', what='the account'):
    dash = '--%s' % (prefix + '-' if prefix else '')
    parser.add_argument(dash + 'auth', metavar='URL',
                        help='auth URL of %s' % what)
    parser.add_argument(dash + 'user', metavar='USER',
                        help='user of %s' % what)
    parser.add_argument(dash + 'key', metavar='KEY',
                        help='key (password) of %s' % what)


def resolve(args, prefix, profile, profiles, what, environ=None):
    """The credentials of one side (a dict) from flags, profile and env."""
    if profile is not None:
        if profile not in profiles:
            raise CredentialsError('unknown profile %r (known: %s)' % (
                profile, ', '.join(sorted(profiles)) or 'none; see '
                '--profiles'))
        creds = dict(profiles[profile])
    else:
        creds = from_env(environ)
    dest = prefix + '_' if prefix else ''
    for name in ('auth', 'user', 'key'):
        value = getattr(args, dest + name, None)
        if value:
            creds[name] = value
    if not (creds.get('auth') and creds.get('user') and creds.get('key')):
        flag = '--%s' % (prefix + '-' if prefix else '')
        raise CredentialsError(
            'no credentials for %s: set ST_AUTH/ST_USER/ST_KEY (or OS_*), '
            'give %sauth/%suser/%skey, or name a profile' % (
                what, flag, flag, flag))
    creds['what'] = what
    return creds


def connect(creds):
    """An authenticated swiftclient Connection.

    :raises CredentialsError: when auth is refused or unreachable; the
                              message names the user and URL, never the key
    """
    os_options = {k: creds[k] for k in OS_OPTIONS if creds.get(k)}
    conn = swiftclient.Connection(
        creds['auth'], creds['user'], creds['key'],
        auth_version=creds.get('auth_version') or '1.0',
        os_options=os_options, retries=1, timeout=15)
    try:
        conn.get_auth()
    except swiftclient.ClientException as e:
        # through Keystone, swiftclient says 'Unauthorized...' with no
        # status (keystoneclient's 401)
        if e.http_status in (401, 403) or (
                e.http_status is None and
                str(e.msg).startswith('Unauthorized')):
            raise CredentialsError('authentication failed for %s: %s at %s '
                                   'answered %d' % (creds['what'],
                                                    creds['user'],
                                                    creds['auth'],
                                                    e.http_status or 401))
        raise CredentialsError('cannot authenticate %s at %s: %s' % (
            creds['what'], creds['auth'], e.http_status or e.msg))
    except Exception as e:
        raise CredentialsError('cannot reach the auth URL of %s (%s): %s' % (
            creds['what'], creds['auth'], e.__class__.__name__))
    return conn
