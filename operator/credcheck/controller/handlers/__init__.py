"""kopf handlers only: thin translations of events into calls to the modules below."""

from credcheck.controller.handlers import checks, lifecycle, login, startup

__all__ = ["checks", "lifecycle", "login", "startup"]
