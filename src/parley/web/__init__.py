"""The browser side of parley: the console at ``/``, the join page at ``/join`` and their static files.

Plain ES modules and CSS under ``static/``, served as they are: there is no build step at run time.
"""

from parley.web.console import ConsoleApi, ConsoleSessions, web_routes

__all__ = ["ConsoleApi", "ConsoleSessions", "web_routes"]
