"""What rackctl prints: for people, and as JSON for machines.

Pure functions from results to text, so that every command formats the same
way and the tests can check the words without running anything.
"""

import json

from provisioningserver.cli.common import family_mismatch


def problems_json(error):
    """A `DocumentError` as ``{"errors": [{"field", "error"}]}``."""
    return json.dumps({"errors": [{"field": p.path, "error": p.message}
                                  for p in error.problems]}, indent=2)


def problems_text(error, source):
    """A `DocumentError` for people: one line per problem, each with its field
    path; one line in all for a document of the other family."""
    mismatch = family_mismatch([(p.path, p.message) for p in error.problems], source)
    if mismatch:
        return mismatch
    lines = [f"{source}: the document is invalid ({len(error.problems)} "
             f"problem{'s' if len(error.problems) != 1 else ''}):"]
    lines += [f"  {p.path or '(document)'}: {p.message}" for p in error.problems]
    return "\n".join(lines)


def dhcpd_error_text(error):
    """One dhcpd complaint: where (in the document when located, else the
    rendered line) and message, the line, a caret under the spot."""
    from provisioningserver.dhcpd.check import located_text  # with the check, not before

    lines = [located_text(error)]
    if error.line is not None:
        lines.append(f"    {error.line}")
        if error.position is not None:
            lines.append("    " + " " * error.position + "^")
    return "\n".join(lines)


def check_text(result, ip_version):
    if result.ok:
        return f"dhcpd accepts the IPv{ip_version} config"
    parts = [f"dhcpd rejects the IPv{ip_version} config:"]
    parts += [dhcpd_error_text(e) for e in result.errors]
    return "\n".join(parts)


def check_json(result, warnings=()):
    from provisioningserver.dhcpd.check import error_record

    return json.dumps({
        "ok": result.ok,
        "errors": [error_record(e) for e in result.errors],
        "warnings": list(warnings),
    }, indent=2)


def render_json(text, warnings):
    return json.dumps({"config": text, "warnings": list(warnings)}, indent=2)


def message_json(message):
    """An error that is not about a field (usage, environment)."""
    return json.dumps({"errors": [{"field": None, "error": message}]}, indent=2)
