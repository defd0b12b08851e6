"""google-genai's Live client against the bidi-sim Gemini server.

Usage: google_genai.py BASE_URL  (e.g. https://localhost:PORT; trust the simulator's CA with
SSL_CERT_FILE, since google-genai connects over wss:// when it has an API key)

Runs a text turn that calls a tool, answers the call, and prints one JSON line; the last is
{"ok": true, ...} when the tool call and the spoken answer's transcript arrived.
"""

import asyncio
import json
import sys

from google import genai
from google.genai import types


async def main(base_url):
    client = genai.Client(api_key="test", http_options={"base_url": base_url})
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
    async with client.aio.live.connect(model="gemini-2.5-flash-native-audio-preview-09-2025",
                                       config=config) as session:
        await session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text="What is the weather?")]),
            turn_complete=True)
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
    asyncio.run(main(sys.argv[1]))
