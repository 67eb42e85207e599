"""kopf handlers only: thin translations of events into calls to the modules below."""

from credcheck.handlers import admission, checks, serving, sources, startup

__all__ = ["admission", "checks", "serving", "sources", "startup"]
