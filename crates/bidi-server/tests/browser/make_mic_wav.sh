#!/usr/bin/env bash
# Builds the fake microphone recording that voice_page.mjs feeds to Chromium
# (--use-file-for-fake-audio-capture): a question, a pause, then a barge-in spoken while
# the answer plays, then a long silence so that Chromium does not loop the file during a
# test run. Needs espeak-ng and sox.
#
#   bash make_mic_wav.sh OUT.wav
set -euo pipefail

# --- timings and format (seconds, Hz) -------------------------------------------------
RATE=16000              # 16 kHz mono 16-bit, what the page sends anyway
LEAD_SILENCE=1.0        # before the question
QUESTION="What time is it in Tokyo?"
GAP_SILENCE=1.2         # between the question and the barge-in
BARGE_IN="Stop, tell me about Paris instead"
TAIL_SILENCE=15.0       # after the barge-in: keeps the file from looping during a run
# espeak-ng's default voice, the one the simulator's reference recordings were made with
# (crates/bidi-server/assets/*.wav), so the question is recognized rather than guessed.
VOICE=

out=${1:?usage: make_mic_wav.sh OUT.wav}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One format for every piece so that sox can concatenate them.
fmt=(-r "$RATE" -c 1 -b 16 -e signed-integer)

silence() { sox -n "${fmt[@]}" "$2" trim 0 "$1"; }
speak() {
  espeak-ng ${VOICE:+-v "$VOICE"} -w "$tmp/raw.wav" "$1"
  sox "$tmp/raw.wav" "${fmt[@]}" "$2"
}

silence "$LEAD_SILENCE" "$tmp/1.wav"
speak "$QUESTION" "$tmp/2.wav"
silence "$GAP_SILENCE" "$tmp/3.wav"
speak "$BARGE_IN" "$tmp/4.wav"
silence "$TAIL_SILENCE" "$tmp/5.wav"
sox "$tmp/1.wav" "$tmp/2.wav" "$tmp/3.wav" "$tmp/4.wav" "$tmp/5.wav" "$out"

echo "$out: $(soxi -D "$out") s, $(soxi -r "$out") Hz, $(soxi -c "$out") channel(s)" >&2
