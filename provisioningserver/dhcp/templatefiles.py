"""Where the dhcpd templates are, and how jinja2 reads them.

The source of the templates is the top-level ``templates/dhcp`` of the
tree. An installed rackd (a wheel, or the Debian package) carries a copy
inside the Python package, made by setup.py at build time, and finds it
through ``importlib.resources``, wherever and however the package is
installed (a plain directory in practice; a zip archive works too).
``$RACKD_TEMPLATES_DIR`` overrides both, for a site's own templates.
"""

import importlib.resources
import os
import pathlib

import jinja2

PACKAGE = "provisioningserver.dhcp"  # its templates/ is made by setup.py


def templates_dir():
    """Where the dhcpd templates are: $RACKD_TEMPLATES_DIR, the source tree, or the package.

    A `Traversable` (a `pathlib.Path` for the first two): an installed
    package is read through ``importlib.resources``, wherever it lives.
    """
    configured = os.environ.get("RACKD_TEMPLATES_DIR")
    if configured:
        return pathlib.Path(configured)
    source = pathlib.Path(__file__).resolve().parents[2] / "templates" / "dhcp"
    if source.is_dir():
        return source
    return importlib.resources.files(PACKAGE) / "templates"


def template_loader(directory):
    """A jinja2 loader for ``directory``, a path or any other `Traversable`.

    An installed package is a plain directory in practice, read by jinja2's
    own file loader (which reloads a template edited in place); a package
    inside a zip archive is read through the Traversable interface.
    """
    if isinstance(directory, pathlib.Path):
        return jinja2.FileSystemLoader(str(directory))

    def load(name):
        template = directory / name
        if not template.is_file():
            raise jinja2.TemplateNotFound(name, f"{name!r} not found in {directory}")
        return template.read_text(encoding="utf-8"), str(template), lambda: True

    return jinja2.FunctionLoader(load)
