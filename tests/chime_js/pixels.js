// What a <video> element shows: frames decoded so far and the mean colour of its centre (null before a frame).
// A classic script, so that it serves both the SDK test page (page.js imports it) and parley's own join page
// (tests/signaling/test_join_page_video.py adds it with Playwright's add_init_script).
window.parleyVideoPixels = (video) => {
  if (!video || video.videoWidth === 0) return null;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  g.drawImage(video, 0, 0);
  const w = Math.max(1, Math.floor(canvas.width / 4));
  const h = Math.max(1, Math.floor(canvas.height / 4));
  const data = g.getImageData(Math.floor(canvas.width / 2 - w / 2), Math.floor(canvas.height / 2 - h / 2), w, h).data;
  const mean = [0, 0, 0];
  for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) mean[c] += data[i + c];
  const n = data.length / 4;
  const quality = video.getVideoPlaybackQuality?.();
  return {
    width: video.videoWidth,
    height: video.videoHeight,
    rgb: mean.map((v) => Math.round(v / n)),
    frames: quality ? quality.totalVideoFrames : null,
  };
};
