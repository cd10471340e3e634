// Microphone capture for the join page.
//
// Preferred: an AudioWorklet that hands us PCM16 at the AudioContext's own sample rate (declared in the
// start message; the server resamples). Fallback, where AudioWorklet is missing: MediaRecorder's
// WebM/Opus stream, which the server decodes.

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

/**
 * Start capturing `stream`. `onChunk(arrayBuffer)` gets audio in the returned `audio` format;
 * `onLevel(0..1)` gets a loudness estimate for a meter. Returns {audio, stop()}.
 */
export async function startCapture(stream, onChunk, onLevel = () => {}) {
  if (window.AudioContext && window.AudioWorkletNode) {
    try {
      return await startWorklet(stream, onChunk, onLevel);
    } catch (error) {
      console.warn("AudioWorklet capture failed, falling back to MediaRecorder", error);
    }
  }
  return startRecorder(stream, onChunk, onLevel);
}

async function startWorklet(stream, onChunk, onLevel) {
  const context = new AudioContext();
  await context.audioWorklet.addModule(new URL("./pcm16-worklet.js", import.meta.url));
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "pcm16-capture", { numberOfInputs: 1, numberOfOutputs: 1, channelCount: 1 });
  node.port.onmessage = (event) => {
    onChunk(event.data.pcm);
    onLevel(Math.min(1, event.data.level * 4));
  };
  source.connect(node);
  node.connect(context.destination); // keeps the graph pulling; the node outputs silence
  if (context.state === "suspended") await context.resume();
  return {
    audio: { format: "pcm16", sampleRate: context.sampleRate },
    stop() {
      source.disconnect();
      node.disconnect();
      node.port.onmessage = null;
      context.close();
    },
  };
}

function startRecorder(stream, onChunk, onLevel) {
  const mimeType = "audio/webm;codecs=opus";
  if (!window.MediaRecorder || !MediaRecorder.isTypeSupported(mimeType)) {
    throw new Error("This browser can neither run an AudioWorklet nor record Opus audio.");
  }
  const recorder = new MediaRecorder(stream, { mimeType, audioBitsPerSecond: 32000 });
  recorder.ondataavailable = async (event) => {
    if (event.data && event.data.size) onChunk(await event.data.arrayBuffer());
  };
  recorder.start(250);
  onLevel(0);
  return {
    audio: { format: "webm-opus" },
    stop() {
      if (recorder.state !== "inactive") recorder.stop();
    },
  };
}
