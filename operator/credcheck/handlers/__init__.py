"""kopf handlers only: thin translations of events into calls to the modules below."""

from credcheck.handlers import checks, sources, startup

__all__ = ["checks", "sources", "startup"]
