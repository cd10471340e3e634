"""Client-side helpers for parley's own protocols (the AWS API itself is used through boto3)."""

from parley.client.presign import presign_events_url, presign_transcript_url

__all__ = ["presign_events_url", "presign_transcript_url"]
