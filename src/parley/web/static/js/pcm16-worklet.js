// AudioWorklet processor: the microphone's float samples -> little-endian PCM16 at the context's rate.
// Posts ~20 ms chunks (transferred, not copied) with their RMS level so the page can draw a meter.

class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is a global of the AudioWorkletGlobalScope: the AudioContext's rate.
    this.size = Math.max(128, Math.round(sampleRate / 50));
    this.reset();
  }

  reset() {
    this.buffer = new Int16Array(this.size);
    this.filled = 0;
    this.sumSquares = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true; // no input connected yet
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i]));
      this.sumSquares += s * s;
      this.buffer[this.filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.filled === this.size) {
        const level = Math.sqrt(this.sumSquares / this.size);
        this.port.postMessage({ pcm: this.buffer.buffer, level }, [this.buffer.buffer]);
        this.reset();
      }
    }
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
