// The viewer's own camera: getUserMedia preview (mirrored by CSS), start/stop, device choice.
//
// Failures never touch the chat: they become a message on the stage.

const MESSAGES = {
  NotAllowedError: "Camera permission was denied. Allow camera access in the address bar to see your preview. Chat still works.",
  SecurityError: "Camera access is blocked on this page (it needs HTTPS or localhost). Chat still works.",
  NotFoundError: "No camera found. Plug one in and press Start camera. Chat still works.",
  OverconstrainedError: "The selected camera is not available. Pick another one.",
  NotReadableError: "The camera is in use by another application.",
  AbortError: "The camera could not be started.",
};

export function describeCameraError(err) {
  if (err && MESSAGES[err.name]) return MESSAGES[err.name];
  return `The camera could not be started (${(err && (err.name || err.message)) || "unknown error"}).`;
}

export class Webcam {
  /**
   * @param {HTMLVideoElement} video
   * @param {{onState: (state: string, message?: string) => void}} opts
   */
  constructor(video, { onState }) {
    this.video = video;
    this.onState = onState;
    this.stream = null;
    this.deviceId = "";
  }

  get supported() {
    return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  get running() {
    return Boolean(this.stream);
  }

  /** Video inputs; labels are empty until permission was granted once. */
  async cameras() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((d) => d.kind === "videoinput");
  }

  async start(deviceId = this.deviceId) {
    if (!this.supported) {
      this.onState("error", MESSAGES.SecurityError);
      return false;
    }
    this.stop(false);
    this.onState("starting");
    const video = deviceId ? { deviceId: { exact: deviceId } } : { width: { ideal: 1280 }, height: { ideal: 720 } };
    try {
      this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    } catch (err) {
      this.stream = null;
      this.onState("error", describeCameraError(err));
      return false;
    }
    const track = this.stream.getVideoTracks()[0];
    this.deviceId = (track && track.getSettings().deviceId) || deviceId || "";
    if (track) track.addEventListener("ended", () => this.stop());
    this.video.srcObject = this.stream;
    try {
      await this.video.play();
    } catch {
      // Autoplay refusals are harmless: the element is muted and plays on interaction.
    }
    this.onState("live");
    return true;
  }

  stop(announce = true) {
    if (this.stream) {
      for (const track of this.stream.getTracks()) track.stop();
    }
    this.stream = null;
    this.video.srcObject = null;
    if (announce) this.onState("off");
  }
}
