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

"""Read Swift's configuration from a ``swift_dir`` other than /etc/swift.

Swift's ``set_swift_dir`` moves ``swift.conf`` (the hash path prefix and
suffix) but not the storage policies, which ``storage_policy`` reads once,
at import, from ``/etc/swift/swift.conf``: a process given another
``swift_dir`` sees ``Policy-0`` only and cannot find the object ring of any
other policy. :func:`use_swift_dir` moves both.
"""

from swift.common.storage_policy import reload_storage_policies
from swift.common.utils import set_swift_dir


def use_swift_dir(swift_dir):
    """Read ``swift.conf`` and the storage policies from ``swift_dir``."""
    if swift_dir:
        set_swift_dir(swift_dir)
        reload_storage_policies()
