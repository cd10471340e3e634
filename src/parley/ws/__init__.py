"""WebSocket transports (Starlette only here): the attendee audio socket and event subscriptions."""
