"""Any upload in, 16 kHz mono float32 out: ffmpeg decoding, voice activity detection, quality figures."""
