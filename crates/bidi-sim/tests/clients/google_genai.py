"""google-genai's Live client against the bidi-sim Gemini server.

Usage: google_genai.py BASE_URL               (e.g. https://localhost:PORT; trust the
                                                simulator's CA with SSL_CERT_FILE)
       google_genai.py BASE_URL --text        a text-only session (TEXT modality)
       google_genai.py BASE_URL --spoken WAV  realtime audio (mono 16-bit PCM at 16 kHz)

google-genai always connects with TLS (it hands websockets an SSL context, which ws://
refuses), so the simulator runs with --tls. The default runs a text turn that calls a tool
and answers the call; --text a "hello" in a text-only session, answered in text parts and
no audio; --spoken streams WAV's speech in 20 ms frames at real time with
`send_realtime_input(audio=...)`, then a second of silence, and waits for the user's
transcript and the spoken answer. Prints one JSON line, {"ok": true, ...} when it held.
"""

import asyncio
import json
import sys
import wave

from google import genai
from google.genai import types


MODEL = "gemini-2.5-flash-native-audio-preview-09-2025"


def client(base_url):
    return genai.Client(api_key="test", http_options={"base_url": base_url})


async def ask(session, text):
    """A whole user turn in text."""
    await session.send_client_content(
        turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)


async def text_only(base_url):
    live = client(base_url).aio.live
    config = types.LiveConnectConfig(response_modalities=["TEXT"])
    text = ""
    audio = 0
    async with live.connect(model=MODEL, config=config) as session:
        await ask(session, "hello")
        async for message in session.receive():
            content = message.server_content
            parts = content.model_turn.parts if content and content.model_turn else None
            for part in parts or []:
                text += part.text or ""
                audio += len(part.inline_data.data) if part.inline_data else 0
            if content and content.turn_complete:
                break
    print(json.dumps({"ok": bool(text) and audio == 0, "answer": text, "audio_bytes": audio}))


async def spoken(base_url, wav_path):
    with wave.open(wav_path, "rb") as wav:
        if (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) != (1, 2, 16000):
            raise SystemExit(f"{wav_path}: not mono 16-bit 16 kHz")
        audio = wav.readframes(wav.getnframes()) + bytes(16000 * 2)
    frame = 16000 // 50 * 2
    live = client(base_url).aio.live
    config = types.LiveConnectConfig(response_modalities=["AUDIO"],
                                     input_audio_transcription={},
                                     output_audio_transcription={})
    heard = ""
    answer = ""
    received = 0
    async with live.connect(model=MODEL, config=config) as session:
        async def send():
            for start in range(0, len(audio), frame):
                await session.send_realtime_input(audio=types.Blob(
                    data=audio[start:start + frame], mime_type="audio/pcm;rate=16000"))
                await asyncio.sleep(0.02)

        sender = asyncio.create_task(send())
        async for message in session.receive():
            content = message.server_content
            if content and content.input_transcription and content.input_transcription.text:
                heard += content.input_transcription.text
            if content and content.output_transcription and content.output_transcription.text:
                answer += content.output_transcription.text
            if message.data:
                received += len(message.data)
            if content and content.turn_complete and answer:
                break
        sender.cancel()
    print(json.dumps({"ok": bool(heard and answer and received), "heard": heard,
                      "answer": answer, "audio_bytes": received}))


async def main(base_url):
    live = client(base_url).aio.live
    config = types.LiveConnectConfig(
        response_modalities=["AUDIO"],
        output_audio_transcription={},
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="get_weather", description="The weather in a city.",
            parameters={"type": "OBJECT", "properties": {"city": {"type": "STRING"}}})])],
    )
    call_name = None
    answer = ""
    audio = 0
    async with live.connect(model=MODEL, config=config) as session:
        await ask(session, "What is the weather?")
        async for message in session.receive():
            if message.tool_call:
                for call in message.tool_call.function_calls:
                    call_name = call.name
                    await session.send_tool_response(function_responses=[
                        types.FunctionResponse(id=call.id, name=call.name,
                                               response={"result": "sunny"})])
            content = message.server_content
            if content and content.output_transcription and content.output_transcription.text:
                answer += content.output_transcription.text
            if message.data:
                audio += len(message.data)
            if content and content.turn_complete and call_name:
                break
    print(json.dumps({"ok": bool(call_name and answer), "call": call_name,
                      "answer": answer, "audio_bytes": audio}))


if __name__ == "__main__":
    if sys.argv[2:] == ["--text"]:
        asyncio.run(text_only(sys.argv[1]))
    elif len(sys.argv) == 4 and sys.argv[2] == "--spoken":
        asyncio.run(spoken(sys.argv[1], sys.argv[3]))
    else:
        asyncio.run(main(sys.argv[1]))
