"""Test handler that cannot even be imported."""

raise ZeroDivisionError("the handler module is broken at import")
