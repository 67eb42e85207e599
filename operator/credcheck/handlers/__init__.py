"""kopf handlers only: thin translations of events into calls to the modules below."""

from credcheck.handlers import admission, checks, login, serving, sources, startup

__all__ = ["admission", "checks", "login", "serving", "sources", "startup"]
