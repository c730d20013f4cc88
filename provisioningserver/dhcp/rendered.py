"""What `render.render` returns: the config text and what is known of it."""

import attrs


@attrs.frozen
class Rendered:
    text: str
    warnings: tuple = ()
    # A digest of the text without its host declarations (`render`): two
    # renders whose structures are equal differ in their hosts alone.
    structure: str = ""
    # The text before and after the host declarations (a few kB), and each
    # host's declaration by name (a `fragments.Declarations`), for `with_hosts`.
    head: str = attrs.field(default="", repr=False)
    tail: str = attrs.field(default="", repr=False)
    declarations: object = attrs.field(default=None, repr=False, eq=False)

    def with_hosts(self, names):
        """The config with only the declarations of the hosts ``names``: what
        a host change needs ``dhcpd -t`` to see when the rest is what dhcpd
        already serves (checked when it was applied). None when the render
        kept no declarations by name."""
        if self.declarations is None:
            return None
        return "".join([self.head, *self.declarations.of(names), self.tail])
