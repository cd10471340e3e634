"""Golden SdkTranscriptFrame vectors from the JS SDK's tests.

Source: aws/amazon-chime-sdk-js `test/transcript/TranscriptEventTestDataHelper.ts`.

Produced by the SDK's own protobufjs encoder. Status events carry event_time 1234567890, region
"test-region" and configuration "test-configuration"; transcript vectors carry Date.now()-based item times
and leave the result's ids/times unset.
"""

TRANSCRIPTION_STATUS_STARTED = "CisKKQgBENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9u"
TRANSCRIPTION_STATUS_STARTED_WITH_MESSAGE = (
    "CjsKOQgBENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9uKg5kZXRhaWwgbWVzc2FnZQ=="
)
TRANSCRIPTION_STATUS_INVALID = "CisKKQgAENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9u"
TRANSCRIPTION_STATUS_ALL = (
    "CisKKQgBENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9uCisKKQgCENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1j"
    "b25maWd1cmF0aW9uCisKKQgDENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9uCisKKQgEENKF2MwEGgt0ZXN0LXJl"
    "Z2lvbiISdGVzdC1jb25maWd1cmF0aW9uCisKKQgFENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9u"
)
TRANSCRIPT_SINGLE = (
    "Cp0BEpoBCpcBCpQBCkcKBFRlc3QQ+eS4xbAvGhNzcGVha2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQoo924"
    "xbAvMAE4AQpCCgEuEIvluMWwLxoTc3BlYWtlci1hdHRlbmRlZS1pZCIYc3BlYWtlci1leHRlcm5hbC11c2VyLWlkKIrluMWwLzACEgVU"
    "ZXN0Lg=="
)
TRANSCRIPT_MIXED = (
    "CisKKQgBENKF2MwEGgt0ZXN0LXJlZ2lvbiISdGVzdC1jb25maWd1cmF0aW9uCp0BEpoBCpcBCpQBCkcKBFRlc3QQ++S4xbAvGhNzcGVh"
    "a2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQopd24xbAvMAE4AQpCCgEuEI3luMWwLxoTc3BlYWtlci1hdHRl"
    "bmRlZS1pZCIYc3BlYWtlci1leHRlcm5hbC11c2VyLWlkKIzluMWwLzACEgVUZXN0Lg=="
)
TRANSCRIPT_ENTITY = (
    "CtYCEtMCCtACCs0CClIKBFRlc3QQtKHF0dIvGhNzcGVha2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQo3pnF"
    "0dIvMAE4AUEAAAAAAADwP0gBCkQKAS4QxaHF0dIvGhNzcGVha2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQo"
    "xqHF0dIvMAJIAApNCgEuEMShxdHSLxoUc3BlYWtlci1hdHRlbmRlZS1pZDEiGXNwZWFrZXItZXh0ZXJuYWwtdXNlci1pZDEoxqHF0dIv"
    "MAFBAAAAAAAAAAASBVRlc3QuGjQKA1BJSREAAAAAAADwPxoVQ29udGVudCBpcyBhIFBJSSBkYXRhILlgKNIJMgdBZGRyZXNzGiUKA1BJ"
    "SREAAAAAAAAAABoVQ29udGVudCBpcyBhIFBJSSBkYXRh"
)
TRANSCRIPT_LANGUAGE_IDENTIFICATIONS = (
    "Cq8CEqwCCqkCCvABClIKBFRlc3QQsPOYgvAvGhNzcGVha2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQo2uuY"
    "gvAvMAE4AUEAAAAAAADwP0gBCkQKAS4QwfOYgvAvGhNzcGVha2VyLWF0dGVuZGVlLWlkIhhzcGVha2VyLWV4dGVybmFsLXVzZXItaWQo"
    "wvOYgvAvMAJIAApNCgEuEMDzmILwLxoUc3BlYWtlci1hdHRlbmRlZS1pZDEiGXNwZWFrZXItZXh0ZXJuYWwtdXNlci1pZDEowvOYgvAv"
    "MAFBAAAAAAAAAAASBVRlc3QuQhAKBWVuLVVTEaRwPQrXo+w/QhAKBWZyLUNBEekmMQisHLo/QhAKBWphLUpQEfp+arx0k2g/"
)

ALL = {
    name: value
    for name, value in dict(globals()).items()
    if name.startswith(("TRANSCRIPT_", "TRANSCRIPTION_")) and isinstance(value, str)
}
