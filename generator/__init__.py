"""Pre-generation work for the template: hub client, token, model facts, sizing.

Plain Python (requests, no copier import) so that it can be unit-tested alone.
The Jinja extension in ``extensions/`` is the only caller inside copier.
"""
