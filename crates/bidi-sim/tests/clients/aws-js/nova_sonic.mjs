// The AWS SDK for JavaScript v3 (InvokeModelWithBidirectionalStreamCommand) against the
// bidi-sim Bedrock server.
//
// Usage: node nova_sonic.mjs ENDPOINT   (e.g. http://127.0.0.1:PORT)
//
// Opens one bidirectional stream, as AWS's Nova Sonic samples do (NodeHttp2Handler), asks
// "hello" (a text turn), then "What is the weather?" (the model calls get_weather; the
// script answers it with a toolResult), and prints one JSON line:
// {"ok": true, "greeting": ..., "call": ..., "answer": ..., "audio_bytes": N}.

import { randomUUID } from "node:crypto";
import {
  BedrockRuntimeClient,
  InvokeModelWithBidirectionalStreamCommand,
} from "@aws-sdk/client-bedrock-runtime";
import { NodeHttp2Handler } from "@smithy/node-http-handler";

const endpoint = process.argv[2];
const prompt = randomUUID();
const text = { mediaType: "text/plain" };

const client = new BedrockRuntimeClient({
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
  requestHandler: new NodeHttp2Handler({ requestTimeout: 30_000, sessionTimeout: 30_000 }),
});

// Client events go through a queue the request body reads from.
const queue = [];
let wake = null;
let closed = false;
function send(event) {
  queue.push(event);
  if (wake) wake();
}
async function* body() {
  while (true) {
    while (queue.length) {
      const event = queue.shift();
      yield { chunk: { bytes: new TextEncoder().encode(JSON.stringify({ event })) } };
    }
    if (closed) return;
    await new Promise((resolve) => (wake = resolve));
    wake = null;
  }
}

function textContent(role, interactive, content) {
  const name = randomUUID();
  send({ contentStart: { promptName: prompt, contentName: name, type: "TEXT", role, interactive,
    textInputConfiguration: text } });
  send({ textInput: { promptName: prompt, contentName: name, content } });
  send({ contentEnd: { promptName: prompt, contentName: name } });
}

send({ sessionStart: { inferenceConfiguration: { maxTokens: 1024, topP: 0.9, temperature: 0.7 } } });
send({ promptStart: {
  promptName: prompt,
  textOutputConfiguration: text,
  audioOutputConfiguration: { mediaType: "audio/lpcm", sampleRateHertz: 24000, sampleSizeBits: 16,
    channelCount: 1, voiceId: "matthew", encoding: "base64", audioType: "SPEECH" },
  toolUseOutputConfiguration: { mediaType: "application/json" },
  toolConfiguration: { tools: [{ toolSpec: { name: "get_weather",
    description: "The weather in a city.",
    inputSchema: { json: JSON.stringify({ type: "object",
      properties: { city: { type: "string" } } }) } } }] },
} });
textContent("SYSTEM", false, "Be brief.");
textContent("USER", true, "hello");

const found = { greeting: "", answer: "", call: null, audio_bytes: 0 };
let turn = "greeting";
let role = null;
const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: "timed out", ...found }));
  process.exit(1);
}, 30_000);

const response = await client.send(
  new InvokeModelWithBidirectionalStreamCommand({ modelId: "amazon.nova-2-sonic-v1:0", body: body() }),
);
for await (const part of response.body) {
  if (!part.chunk?.bytes) {
    const kind = Object.keys(part)[0];
    console.log(JSON.stringify({ ok: false, error: kind, detail: part[kind]?.message }));
    process.exit(1);
  }
  const event = JSON.parse(new TextDecoder().decode(part.chunk.bytes)).event ?? {};
  if (event.contentStart) {
    role = event.contentStart.role;
    const extra = event.contentStart.additionalModelFields;
    // The speculative transcript comes before its audio, the final one after: keep the final.
    if (extra && JSON.parse(extra).generationStage === "SPECULATIVE") role = "SPECULATIVE";
  }
  if (event.textOutput && role === "ASSISTANT") found[turn] += event.textOutput.content;
  if (event.audioOutput) found.audio_bytes += Buffer.from(event.audioOutput.content, "base64").length;
  if (event.toolUse) {
    found.call = event.toolUse.toolName;
    const name = randomUUID();
    send({ contentStart: { promptName: prompt, contentName: name, interactive: false, type: "TOOL",
      role: "TOOL", toolResultInputConfiguration: { toolUseId: event.toolUse.toolUseId,
        type: "TEXT", textInputConfiguration: text } } });
    send({ toolResult: { promptName: prompt, contentName: name,
      content: JSON.stringify({ weather: "sunny" }) } });
    send({ contentEnd: { promptName: prompt, contentName: name } });
  }
  if (event.completionEnd || (event.contentEnd && event.contentEnd.stopReason === "END_TURN")) {
    if (turn === "greeting" && found.greeting) {
      turn = "answer";
      textContent("USER", true, "What is the weather?");
    } else if (turn === "answer" && found.answer) {
      break;
    }
  }
}
send({ promptEnd: { promptName: prompt } });
send({ sessionEnd: {} });
closed = true;
if (wake) wake();
clearTimeout(timer);
const ok = Boolean(found.greeting && found.answer && found.call === "get_weather" && found.audio_bytes);
console.log(JSON.stringify({ ok, ...found }));
process.exit(ok ? 0 : 1);
