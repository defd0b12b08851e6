"""strands-agents 1.40's BidiAgent (the Python original) against a bidi-sim server.

Usage: strands_agent.py openai WS_URL      (e.g. ws://127.0.0.1:PORT/v1/realtime)
       strands_agent.py gemini BASE_URL    (e.g. https://localhost:PORT; trust the
                                            simulator's CA with SSL_CERT_FILE)

Runs a text turn ("hello") and a turn that calls a tool ("weather"), each until its answer
has arrived, and prints one JSON line: {"ok": true, "greeting": ..., "call": ..., "tool_result": ..., "answer": ...}.
"""

import asyncio
import json
import sys

from strands import tool
from strands.experimental.bidi import BidiAgent


@tool
def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: The city.
    """
    return f"sunny in {city}"


def model_for(provider, url):
    if provider == "openai":
        from strands.experimental.bidi.models import openai_realtime

        # strands 1.40 reads this module constant at each connect; it is the only override.
        openai_realtime.OPENAI_REALTIME_URL = url
        return openai_realtime.BidiOpenAIRealtimeModel(
            model_id="gpt-realtime", client_config={"api_key": "sk-test"})
    if provider == "gemini":
        from strands.experimental.bidi.models.gemini_live import BidiGeminiLiveModel

        return BidiGeminiLiveModel(client_config={
            "api_key": "test",
            "http_options": {"base_url": url, "api_version": "v1alpha"},
        })
    raise SystemExit(f"unknown provider {provider}")


async def turn(agent, text, found, complete_event):
    """Sends `text`; reads events until the answer to it has arrived.

    The answer is there when the agent reports `bidi_response_complete` after an assistant
    transcript (OpenAI), or, with `complete_event` false, at the first assistant transcript
    after the tool's result when there is a call: strands 1.40's Gemini model emits no
    `bidi_response_complete` (it skips the service's `turnComplete`).
    """
    await agent.send(text)
    answer = ""
    called = False
    async for event in agent.receive():
        kind = event.get("type")
        if kind == "bidi_error":
            raise SystemExit(json.dumps({"ok": False, "error": dict(event)}))
        if kind == "tool_use_stream":
            found["call"] = event["current_tool_use"]["name"]
            called = True
        if kind == "tool_result":
            found["tool_result"] = event["tool_result"]["content"][0]["text"]
            called = False
            answer = ""
        if kind == "bidi_transcript_stream" and event["role"] == "assistant" \
                and (event["is_final"] or not complete_event):
            answer += event["text"]
            if not complete_event and not called:
                return answer
        if kind == "bidi_response_complete" and answer and not called:
            return answer
    raise SystemExit(json.dumps({"ok": False, "error": "the conversation ended", "text": text}))


async def main(provider, url):
    agent = BidiAgent(model=model_for(provider, url), tools=[get_weather],
                      system_prompt="Be brief.")
    await agent.start()
    found = {}
    try:
        complete = provider == "openai"
        greeting = await asyncio.wait_for(turn(agent, "hello", found, complete), 30)
        answer = await asyncio.wait_for(turn(agent, "What is the weather?", found, complete), 30)
    finally:
        await agent.stop()
    ok = bool(greeting and answer and found.get("call") == "get_weather")
    print(json.dumps({"ok": ok, "greeting": greeting, "answer": answer, **found}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
