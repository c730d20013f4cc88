"""rackd's build step: dhcpd's templates go into the Python package.

The templates' one source is the top-level ``templates/dhcp`` (the Debian
package and the source tree read them there too), but a wheel carries only
what is inside ``provisioningserver``. So at build time ``build_py`` copies
``templates/dhcp/*.j2`` to ``provisioningserver/dhcp/templates/`` in the
build tree, and `provisioningserver.dhcp.render` finds them there through
``importlib.resources`` when no source tree is next to the code (an install
from a wheel or an sdist). The source tree itself never holds a copy, so the
two cannot drift. Everything else is declared in setup.cfg; MANIFEST.in puts
the templates in the sdist, from which a wheel is built the same way.
"""

import glob
import os

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE_SOURCE = os.path.join("templates", "dhcp")
TEMPLATE_PACKAGE_DIR = os.path.join("provisioningserver", "dhcp", "templates")


class build_py_with_templates(build_py):
    """build_py, then dhcpd's templates into the built package."""

    def run(self):
        super().run()
        for source in self._templates():
            target = os.path.join(self.build_lib, TEMPLATE_PACKAGE_DIR, os.path.basename(source))
            self.mkpath(os.path.dirname(target))
            self.copy_file(source, target, preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        built = [os.path.join(self.build_lib, TEMPLATE_PACKAGE_DIR, os.path.basename(source))
                 for source in self._templates()]
        return super().get_outputs(include_bytecode) + built

    @staticmethod
    def _templates():
        found = sorted(glob.glob(os.path.join(TEMPLATE_SOURCE, "*.j2")))
        if not found:
            # A wheel without templates installs and then fails at the first
            # render; failing the build says so where it can be fixed.
            raise SystemExit(f"setup.py: no templates in {TEMPLATE_SOURCE}")
        return found


setup(cmdclass={"build_py": build_py_with_templates})
