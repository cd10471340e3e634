"""PII identification and redaction, and medical PHI identification, for live transcription results."""
