"""Errors of the DHCP config document.

Every problem names the path of the field it is about
(``shared_networks[0].subnets[1].pools[0].ip_range_high``), what was expected
and what came, so that an operator or a region can point at the offending
value. A document is checked as a whole and all its problems are reported at
once; nothing is applied while any remain.
"""

import attrs


@attrs.frozen
class Problem:
    """One thing wrong with a document: where, and what."""

    path: str
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}" if self.path else self.message


class DocumentError(ValueError):
    """A DHCP config document that rackd will not apply.

    ``problems`` holds every `Problem` found: those of shape, type and format
    first, in document order, then those that relate fields to each other.
    """

    def __init__(self, problems):
        self.problems = tuple(problems)
        super().__init__(self.problems)

    def __str__(self):
        return "\n".join(str(p) for p in self.problems)

    @property
    def paths(self):
        return [p.path for p in self.problems]
