"""kopf handlers only: thin translations of events into calls to the modules below."""

from credcheck.handlers import checks, serving, sources, startup

__all__ = ["checks", "serving", "sources", "startup"]
