"""Writes assets/sfx/chime.wav: a two-tone bell (880 Hz + 1320 Hz, exponential decay),
48 kHz mono 16-bit, 0.9 s. Our own work, CC0. Run from the repository root."""
import math
import struct
import wave

rate = 48000
samples = []
for n in range(int(rate * 0.9)):
    t = n / rate
    second = 1.0 if t >= 0.15 else 0.0
    v = 0.5 * math.sin(2 * math.pi * 880 * t) * math.exp(-t * 5)
    v += 0.4 * second * math.sin(2 * math.pi * 1320 * (t - 0.15)) * math.exp(-(t - 0.15) * 5)
    samples.append(int(max(-1.0, min(1.0, v)) * 32767 * 0.7))
with wave.open("assets/sfx/chime.wav", "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(rate)
    w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
