"""Live meetings: attendee connections, per-meeting hubs, transcription lifecycle across nodes."""
