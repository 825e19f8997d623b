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
The proxy half of cloud sync.

Container owners opt a container into cloud sync with headers on a
container PUT or POST::

    X-Container-Cloud-Sync-Target: s3        (a [target:NAME]; empty: off)
    X-Container-Cloud-Sync-Mode: archive     (sync or archive)
    X-Container-Cloud-Sync-After: 86400      (archive: seconds before)
    X-Container-Cloud-Sync-Delete: false     (propagate local deletes?)

This filter checks them (an unknown target, a bad mode, a negative or
non-numeric ``After`` is a ``400 Bad Request`` with the reason), keeps them
as container sysmeta, where the ``swiftsync sync`` daemon on the container
nodes finds them, and shows them on container HEAD and GET. Only the
container's owner may set them (anybody else gets ``403 Forbidden``) or see
them; credentials stay in the operator file, owners only name a target.

Place it after the auth middleware and before ``slo`` and ``dlo``::

    [pipeline:main]
    pipeline = catch_errors gatekeeper healthcheck proxy-logging cache
               ... tempauth shunt copy ... slo dlo ... proxy-server

    [filter:shunt]
    use = egg:swiftsync#shunt
    # the operator file, for the names of the targets
    swiftsync_conf = /etc/swift/swiftsync.conf

The names of the targets and the modes are published in ``/info`` under
``cloud_sync``.
"""

from swift.common.registry import register_swift_info
from swift.common.request_helpers import append_log_info
from swift.common.swob import (
    HTTPBadRequest, HTTPForbidden, Request, wsgi_to_str)
from swift.common.utils import config_true_value, get_logger, split_path
from swift.proxy.controllers.base import get_container_info

from swiftsync import config
from swiftsync.middleware import optin, readthrough

#: Swift's object_versioning switch (on a container PUT or POST)
VERSIONS_ENABLED = 'X-Versions-Enabled'


class ShuntMiddleware(object):
    """Container opt-in to cloud sync (see the module docstring)."""

    def __init__(self, app, conf, swiftsync_conf=None, logger=None):
        self.app = app
        self.conf = conf
        self.logger = logger or get_logger(conf, log_route='shunt')
        self.swiftsync_conf = swiftsync_conf or load_config(conf)
        # archived objects and merged listings (readthrough.py)
        self.app = readthrough.ReadThrough(app, conf, self.swiftsync_conf,
                                           logger=self.logger)

    def __call__(self, env, start_response):
        req = Request(env)
        try:
            version, account, container, obj = split_path(
                req.path, 1, 4, True)
        except ValueError:
            return self.app(env, start_response)
        if not container or obj:
            return self.app(env, start_response)
        if req.method in ('PUT', 'POST') and (
                optin.requested(req.headers) or
                VERSIONS_ENABLED in req.headers):
            self._guard(req)
        if req.method in ('HEAD', 'GET'):
            return self._show(env, start_response)
        return self.app(env, start_response)

    # -- setting ---------------------------------------------------------
    def _guard(self, req):
        """Decide on the opt-in headers (and on versioning an archived
        container) where Swift decides on the request: in its authorize
        callback, once the auth middleware has said whether the user owns
        the account."""
        env = req.environ
        original = env.get('swift.authorize')

        def authorize(auth_req):
            if original is not None:
                denied = original(auth_req)
                if denied:
                    return denied
            update = {}
            if optin.requested(auth_req.headers):
                if not (auth_req.environ.get('swift_owner') or
                        auth_req.environ.get('swift.authorize_override')):
                    append_log_info(auth_req.environ, 'cloud-sync:not-owner')
                    return HTTPForbidden(
                        body=b'Only the owner of the account may set '
                             b'X-Container-Cloud-Sync-* headers\n',
                        content_type='text/plain', request=auth_req)
                try:
                    update = optin.parse_headers(auth_req.headers,
                                                 self.swiftsync_conf)
                except optin.OptInError as e:
                    append_log_info(auth_req.environ, 'cloud-sync:bad-header')
                    return HTTPBadRequest(
                        body=str(e).encode('utf-8') + b'\n',
                        content_type='text/plain', request=auth_req)
            refused = self._archived_versions(auth_req, update)
            if refused:
                return refused
            for header in optin.HEADERS.values():
                auth_req.headers.pop(header, None)
            auth_req.headers.update(update)
            return None

        if original is None and not env.get('swift.authorize_override'):
            # no auth middleware at all: the pipeline trusts every caller
            env['swift_owner'] = True
            env['swift.authorize_override'] = True
        env['swift.authorize'] = authorize

    def _archived_versions(self, req, update):
        """A 400 when the request would leave the container in archive
        mode with object versioning (optin.ARCHIVE_VERSIONED)."""
        info = get_container_info(req.environ, self.app,
                                  swift_source='SHUNT')
        sysmeta = info.get('sysmeta') or {}
        _, account, container = split_path(wsgi_to_str(req.path_info), 3, 3)
        for mapping in self.swiftsync_conf.mappings_for(account, container):
            # the operator's mapping wins over the owner's opt-in
            current = {optin.SYSMETA['target']: mapping.target,
                       optin.SYSMETA['mode']: mapping.mode}
            update = {}
            break
        else:
            current = {'X-Container-Sysmeta-' + k: v
                       for k, v in sysmeta.items()
                       if k.lower().startswith('cloud-sync-')}
        versioning = bool(sysmeta.get('versions-container'))
        if VERSIONS_ENABLED in req.headers:
            versioning = versioning or config_true_value(
                req.headers[VERSIONS_ENABLED])
        if not optin.archives_versions(current, update, versioning):
            return None
        append_log_info(req.environ, 'cloud-sync:archive-versioned')
        return HTTPBadRequest(
            body=optin.ARCHIVE_VERSIONED.encode('utf-8') + b'\n',
            content_type='text/plain', request=req)

    # -- showing ---------------------------------------------------------
    def _show(self, env, start_response):
        def capture(status, headers, exc_info=None):
            if env.get('swift_owner'):
                sysmeta = {}
                for name, value in headers:
                    if name.lower().startswith(
                            'x-container-sysmeta-cloud-sync-'):
                        sysmeta[name.title()] = value
                extra = optin.client_headers(sysmeta)
                if extra:
                    headers = [h for h in headers
                               if h[0].title() not in extra]
                    headers.extend(extra.items())
            return start_response(status, headers, exc_info)

        return self.app(env, capture)


def load_config(conf):
    """The operator file named by ``swiftsync_conf`` (or the default);
    a bad file stops the proxy from starting."""
    return config.load(conf.get('swiftsync_conf') or config.DEFAULT_PATH)


def filter_factory(global_conf, **local_conf):
    conf = global_conf.copy()
    conf.update(local_conf)
    swiftsync_conf = load_config(conf)
    register_swift_info('cloud_sync',
                        targets=sorted(swiftsync_conf.targets),
                        modes=list(optin.MODES),
                        headers=sorted(optin.HEADERS.values()))

    def shunt_filter(app):
        return ShuntMiddleware(app, conf, swiftsync_conf=swiftsync_conf)
    return shunt_filter
