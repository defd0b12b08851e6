"""The official openai SDK (realtime) against the bidi-sim OpenAI server.

Usage: openai_sdk.py BASE_URL              (e.g. http://127.0.0.1:PORT/v1)
       openai_sdk.py BASE_URL --spoken WAV  (mono 16-bit PCM at 24 kHz)

Runs a text turn and a tool call round trip, or (`--spoken`) streams WAV's speech in 20 ms
frames at real time, then a second of silence, and waits for the server VAD's turn, the
user's transcript and the spoken answer. Validates every server event against the SDK's own
pydantic models (strictly: an event the SDK cannot type is a failure), and prints one JSON
line; it is {"ok": true, ...} when everything held.
"""

import asyncio
import base64
import json
import sys
import wave

from openai import AsyncOpenAI
from openai.types.realtime import RealtimeServerEvent
from pydantic import TypeAdapter

SERVER_EVENT = TypeAdapter(RealtimeServerEvent)


async def turn(conn, seen):
    """Reads events until response.done; validates each; returns the response.done event."""
    while True:
        event = await conn.recv()
        raw = event.model_dump(mode="json", exclude_unset=True)
        SERVER_EVENT.validate_python(raw)  # raises on anything the SDK cannot type
        seen.append(raw["type"])
        if raw["type"] == "error":
            raise SystemExit(json.dumps({"ok": False, "error": raw}))
        if raw["type"] == "response.done":
            return event


async def spoken(base_url, wav_path):
    with wave.open(wav_path, "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, 24000):
            raise SystemExit(f"{wav_path}: not mono 16-bit 24 kHz")
        speech = wav.readframes(wav.getnframes())
    frame = 24000 // 50 * 2
    audio = speech + bytes(24000 * 2)  # a second of silence ends the turn
    client = AsyncOpenAI(api_key="sk-test", base_url=base_url)
    seen = []
    async with client.realtime.connect(model="gpt-realtime-2") as conn:
        await conn.session.update(session={
            "type": "realtime",
            "output_modalities": ["audio"],
            "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000},
                                "transcription": {"model": "gpt-4o-transcribe"},
                                "turn_detection": {"type": "server_vad"}}},
        })

        async def send():
            for start in range(0, len(audio), frame):
                chunk = base64.b64encode(audio[start:start + frame]).decode()
                await conn.input_audio_buffer.append(audio=chunk)
                await asyncio.sleep(0.02)

        sender = asyncio.create_task(send())
        heard = None
        audio_bytes = 0
        while True:
            event = await asyncio.wait_for(conn.recv(), 30)
            raw = event.model_dump(mode="json", exclude_unset=True)
            SERVER_EVENT.validate_python(raw)
            seen.append(raw["type"])
            if raw["type"] == "error":
                raise SystemExit(json.dumps({"ok": False, "error": raw}))
            if raw["type"] == "conversation.item.input_audio_transcription.completed":
                heard = event.transcript
            if raw["type"] == "response.output_audio.delta":
                audio_bytes += len(base64.b64decode(event.delta))
            if raw["type"] == "response.done":
                break
        sender.cancel()
        answer = [c.transcript for o in event.response.output if o.type == "message"
                  for c in (o.content or []) if getattr(c, "transcript", None)]
        order = [t for t in ("input_audio_buffer.speech_started",
                             "input_audio_buffer.speech_stopped",
                             "input_audio_buffer.committed") if t in seen]
        print(json.dumps({"ok": bool(heard and answer and audio_bytes), "heard": heard,
                          "answer": answer, "audio_bytes": audio_bytes, "vad": order,
                          "events": len(seen)}))


async def main(base_url):
    client = AsyncOpenAI(api_key="sk-test", base_url=base_url)
    seen = []
    async with client.realtime.connect(model="gpt-realtime-2") as conn:
        created = await conn.recv()
        if created.type != "session.created" or created.session.model != "gpt-realtime-2":
            raise SystemExit(json.dumps({"ok": False, "error": "session.created",
                                         "got": created.model_dump(mode="json")}))
        await conn.session.update(session={
            "type": "realtime",
            "output_modalities": ["audio"],
            "tools": [{"type": "function", "name": "get_weather",
                       "description": "The weather in a city.",
                       "parameters": {"type": "object",
                                      "properties": {"city": {"type": "string"}}}}],
        })
        await conn.conversation.item.create(item={
            "type": "message", "role": "user",
            "content": [{"type": "input_text", "text": "What is the weather?"}]})
        await conn.response.create()
        done = await turn(conn, seen)
        calls = [o for o in done.response.output if o.type == "function_call"]
        if not calls:
            raise SystemExit(json.dumps({"ok": False, "error": "no function call", "seen": seen}))
        call = calls[0]
        await conn.conversation.item.create(item={
            "type": "function_call_output", "call_id": call.call_id,
            "output": json.dumps({"weather": "sunny"})})
        await conn.response.create()
        done = await turn(conn, seen)
        transcripts = [c.transcript for o in done.response.output if o.type == "message"
                       for c in (o.content or []) if getattr(c, "transcript", None)]
        print(json.dumps({"ok": True, "call": call.name, "answer": transcripts,
                          "events": len(seen)}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--spoken":
        asyncio.run(spoken(sys.argv[1], sys.argv[3]))
    else:
        asyncio.run(main(sys.argv[1]))
