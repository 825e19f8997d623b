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

"""
Mirror scenarios: ``SRC->DST``, each side ``s3://[PROFILE@]bucket[/prefix]``
or ``swift://[PROFILE@]container[/prefix]``.

A side without a profile takes its credentials from the environment, the way
botocore and python-swiftclient do (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ``AWS_REGION``;
``ST_AUTH``/``ST_USER``/``ST_KEY`` or ``OS_AUTH_URL``/``OS_USERNAME``/
``OS_PASSWORD``/``OS_PROJECT_NAME``/``OS_REGION_NAME``..., or
``OS_APPLICATION_CREDENTIAL_ID``/``_SECRET``). A profile is a ``[target:NAME]``
section of a swiftsync.conf-style file (``--config``), so an operator's
targets double as mirror profiles.
"""

import os
from dataclasses import dataclass, replace

from swiftsync import config

KINDS = ('s3', 'swift')


class ScenarioError(ValueError):
    """A malformed scenario or missing credentials (exit code 2)."""


@dataclass(frozen=True)
class Side:
    kind: str          # 's3' or 'swift'
    profile: str       # '' for the environment
    location: str      # bucket or container
    prefix: str        # '' or a directory: text ending in '/'

    def __str__(self):
        who = self.profile + '@' if self.profile else ''
        tail = '/' + self.prefix.rstrip('/') if self.prefix else ''
        return '%s://%s%s%s' % (self.kind, who, self.location, tail)


def parse_side(text):
    if '://' not in text:
        raise ScenarioError('%r: expected s3://bucket[/prefix] or '
                            'swift://container[/prefix]' % text)
    kind, rest = text.split('://', 1)
    if kind not in KINDS:
        raise ScenarioError('%r: unknown scheme %r (use s3:// or swift://)'
                            % (text, kind))
    profile = ''
    head = rest.split('/', 1)[0]
    if '@' in head:
        profile, rest = rest.split('@', 1)
        if not profile:
            raise ScenarioError('%r: empty profile name before @' % text)
    location, _, prefix = rest.partition('/')
    # a prefix names a directory, as in rclone: 'photos' is not 'photos2/'
    prefix = prefix.strip('/') + '/' if prefix.strip('/') else ''
    if not location:
        raise ScenarioError('%r: missing %s name' % (
            text, 'bucket' if kind == 's3' else 'container'))
    return Side(kind, profile, location, prefix)


def parse_scenario(text):
    """``'SRC->DST'`` -> (Side, Side)."""
    parts = text.split('->')
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise ScenarioError('%r: a scenario is SRC->DST, e.g. '
                            "'s3://bucket->swift://container'" % text)
    src, dst = (parse_side(p.strip()) for p in parts)
    if (src.kind, src.profile, src.location) == (
            dst.kind, dst.profile, dst.location) and (
            src.prefix.startswith(dst.prefix) or
            dst.prefix.startswith(src.prefix)):
        raise ScenarioError('%r: source and destination overlap' % text)
    return src, dst


def _env(environ, *names):
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


def target_from_env(kind, environ=None):
    """A config Target built from the environment, or ScenarioError."""
    environ = os.environ if environ is None else environ
    if kind == 's3':
        access = _env(environ, 'AWS_ACCESS_KEY_ID')
        secret = _env(environ, 'AWS_SECRET_ACCESS_KEY')
        if not access or not secret:
            raise ScenarioError('s3: set AWS_ACCESS_KEY_ID and '
                                'AWS_SECRET_ACCESS_KEY, or use a profile')
        return config.S3Target(
            name='env-s3', bucket='-', access_key=access, secret_key=secret,
            endpoint=_env(environ, 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'),
            region=_env(environ, 'AWS_REGION', 'AWS_DEFAULT_REGION') or
            'us-east-1', layout='native')
    auth = _env(environ, 'ST_AUTH', 'OS_AUTH_URL')
    user = _env(environ, 'ST_USER', 'OS_USERNAME')
    key = _env(environ, 'ST_KEY', 'OS_PASSWORD')
    app_cred = None if environ.get('ST_AUTH') else _env(
        environ, 'OS_APPLICATION_CREDENTIAL_ID')
    if app_cred and auth:
        # python-swiftclient's OS_APPLICATION_CREDENTIAL_* (Keystone v3)
        return config.SwiftTarget(
            name='env-swift', auth_url=auth.rstrip('/'), auth_version=3,
            application_credential_id=app_cred,
            application_credential_secret=_env(
                environ, 'OS_APPLICATION_CREDENTIAL_SECRET'),
            region_name=_env(environ, 'OS_REGION_NAME'),
            storage_url=_env(environ, 'OS_STORAGE_URL'), layout='native')
    if not (auth and user and key):
        raise ScenarioError('swift: set ST_AUTH, ST_USER and ST_KEY (or '
                            'OS_AUTH_URL, OS_USERNAME, OS_PASSWORD), or use '
                            'a profile')
    v3 = not environ.get('ST_AUTH') and (
        environ.get('OS_IDENTITY_API_VERSION', '3').startswith('3'))
    return config.SwiftTarget(
        name='env-swift', auth_url=auth.rstrip('/'), user=user, key=key,
        auth_version=3 if v3 else 1,
        project_name=_env(environ, 'OS_PROJECT_NAME', 'OS_TENANT_NAME'),
        project_domain_name=_env(environ, 'OS_PROJECT_DOMAIN_NAME') or
        'Default',
        user_domain_name=_env(environ, 'OS_USER_DOMAIN_NAME') or 'Default',
        region_name=None if environ.get('ST_AUTH') else _env(
            environ, 'OS_REGION_NAME'),
        storage_url=_env(environ, 'OS_STORAGE_URL'), layout='native')


def resolve(side, conf=None, environ=None):
    """The config Target for one side (layout native: names are keys)."""
    if side.profile:
        if conf is None:
            raise ScenarioError('%s: profile %r needs --config FILE'
                                % (side, side.profile))
        try:
            target = conf.target(side.profile)
        except LookupError:
            raise ScenarioError('%s: no [target:%s] in %s'
                                % (side, side.profile, conf.path))
        if target.type != side.kind:
            raise ScenarioError('%s: profile %r is a %s target'
                                % (side, side.profile, target.type))
    else:
        target = target_from_env(side.kind, environ)
    changes = {'layout': 'native', 'prefix': ''}
    if side.kind == 's3':
        changes['bucket'] = side.location
    return replace(target, **changes)
