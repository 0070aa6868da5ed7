"""Errors of the local stack.

Every failure the user can fix (no java, no mvn, a port taken, a download refused) is a
:class:`StackError` whose message is one line that says what is wrong and what to do.
"""

from __future__ import annotations


class StackError(Exception):
    """A local-stack operation failed for a reason the user can act on."""
