"""The meetings domain: life cycle, attendees, capabilities, tags and transcription control."""
