"""Amazon Transcribe custom vocabularies and vocabulary filters: management and application to results."""
