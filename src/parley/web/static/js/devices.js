// The join page's devices: microphone, camera, and a loudness meter. The media itself goes over WebRTC
// (meeting-client.js).

/** Ask for the microphone; rejects with a DOMException (NotAllowedError when the person says no). */
export async function openMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const error = new Error("This browser cannot capture audio here (a secure origin — https or localhost — is required).");
    error.name = "NotSupportedError";
    throw error;
  }
  return navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    video: false,
  });
}

/** A human sentence for a getUserMedia failure. */
export function describeMicError(error) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return "Microphone access was denied. Allow the microphone for this site in your browser, then try again — or join listen-only.";
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Plug one in and try again — or join listen-only.";
    case "NotReadableError":
      return "The microphone is in use by another application or could not be opened.";
    default:
      return (error && error.message) || "The microphone could not be opened.";
  }
}

/** Camera video for the meeting: a modest size, as the SDK's default (its camera goes out at 640×360 / 15 fps). */
export async function openCamera() {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 15 } },
    audio: false,
  });
  return stream.getVideoTracks()[0];
}

/** A human sentence for a camera or screen-capture failure. */
export function describeVideoError(error, what) {
  switch (error && error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return `${what} access was denied.`;
    case "NotFoundError":
    case "OverconstrainedError":
      return `No ${what.toLowerCase()} was found.`;
    default:
      return (error && error.message) || `The ${what.toLowerCase()} could not be opened.`;
  }
}

/** Call `onLevel(0..1)` about 20 times a second with the loudness of `stream`; returns {stop()}. */
export function watchLevel(stream, onLevel) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const x of samples) sum += x * x;
    onLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
  }, 50);
  if (context.state === "suspended") context.resume();
  return {
    stop() {
      clearInterval(timer);
      source.disconnect();
      context.close();
    },
  };
}
