"""What the tests and the benchmarks both drive parley with: the server as a process, private Redis/PostgreSQL,
signed raw requests, an attendee audio-socket client, a Chime signaling client and its media, the real-speech
development set, PII result builders. Neither the product (src/) nor its users import this."""
