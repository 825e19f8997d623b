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

"""Variants of a dev node's operator file, for tests and benchmarks."""


def derive_conf(src, path, extra_sections='', **globals_):
    """Write to ``path`` a copy of the operator file ``src`` with the
    ``[swiftsync]`` keys of ``globals_`` set (replacing the ones already
    there) and ``extra_sections`` (INI text) appended; returns ``path``
    as a str."""
    with open(src) as f:
        text = f.read()
    head, _, rest = text.partition('[swiftsync]\n')
    body, sep, tail = rest.partition('\n[')
    lines = [ln for ln in body.splitlines()
             if ln.split('=')[0].strip() not in globals_]
    lines += ['%s = %s' % kv for kv in globals_.items()]
    text = head + '[swiftsync]\n' + '\n'.join(lines) + '\n' + sep + tail
    with open(path, 'w') as f:
        f.write(text + '\n' + extra_sections)
    return str(path)
