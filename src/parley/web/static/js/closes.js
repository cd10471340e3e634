// What a meeting connection's end means to a person: the join page's (its signaling socket's close code, or the
// AUDIO_STATUS it was told, as the audio socket's close codes of docs/protocol.md) and the console caption feed's.

/**
 * What a close means to a person. `kind` is a stable tag for styling and tests; `final` is true
 * when reconnecting cannot help.
 */
export function describeClose({ code, reason, opened }) {
  if (!opened) {
    return {
      kind: "token-invalid",
      title: "Join link not valid",
      detail:
        "Token invalid: the server refused this link. It may be mistyped, the attendee removed, or the meeting already over. Ask the organizer for a new link.",
      final: true,
    };
  }
  switch (code) {
    case 1000:
      return { kind: "left", title: "You left the meeting", detail: "", final: false };
    case 4410:
      return { kind: "meeting-ended", title: "Meeting ended", detail: "The organizer ended this meeting. Thanks for joining.", final: true };
    case 4411:
      return { kind: "removed", title: "Removed from the meeting", detail: "The organizer removed you from this meeting.", final: true };
    case 4301:
      return {
        kind: "replaced",
        title: "Joined from another tab or device",
        detail: "This attendee connected again somewhere else, so this window was disconnected.",
        final: false,
      };
    case 4403:
      return { kind: "forbidden", title: "Not allowed to speak", detail: reason || "This attendee may only listen.", final: false };
    case 4400:
    case 4413:
      return { kind: "protocol", title: "Media problem", detail: reason || "The server could not use the audio or video from this browser.", final: false };
    case 4429:
      return { kind: "slow", title: "Connection too slow", detail: "Captions arrived faster than this browser could read them.", final: false };
    case 4900:
      return {
        kind: "media-unreachable",
        title: "Audio could not connect",
        detail:
          "The meeting was reached, but no network path to its audio and video was found. A firewall may block it; the organizer can run parley with a TURN server (docs/operations.md).",
        final: false,
      };
    case 1011:
      return { kind: "server", title: "Server error", detail: reason || "The server hit an internal error.", final: false };
    default:
      return { kind: "lost", title: "Connection lost", detail: reason || `The connection closed (code ${code}).`, final: false };
  }
}
