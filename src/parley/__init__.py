"""parley: a self-hosted Amazon Chime SDK Meetings API with live, on-host meeting transcription."""

__version__ = "0.1.0"
