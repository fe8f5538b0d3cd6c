// The official `openai` npm client against a running `turbine serve` (TURBINE_URL, TURBINE_SHARED):
// completions and chat, streaming and not, n, stop, usage, tools (a forced call too), errors, logprobs.
// Exits non-zero on the first failed check. Run by test_openai_node.py, which starts and stops the server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const golden = JSON.parse(readFileSync(`${process.env.TURBINE_SHARED}/golden/golden.json`, "utf8"))["kjv-llama"];
const client = new OpenAI({ baseURL: `${process.env.TURBINE_URL}/v1`, apiKey: "unused", maxRetries: 0 });
const model = "kjv";
const TOLERANCE = 0.05;

async function check(name, fn) {
  await fn();
  console.log(`ok - ${name}`);
}

await check("models.list names the served model", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, [model]);
});

await check("greedy completions equal the goldens", async () => {
  for (const c of golden) {
    const n = c.greedy_ids.length;
    const r = await client.completions.create({ model, prompt: c.prompt, max_tokens: n, temperature: 0,
                                                ignore_eos: true, return_token_ids: true });
    const trusted = c.margins.findIndex((m) => m < TOLERANCE);
    const k = trusted < 0 ? n : trusted;
    assert.deepEqual(r.choices[0].token_ids.slice(0, k), c.greedy_ids.slice(0, k));
    assert.equal(r.choices[0].finish_reason, "length");
    assert.equal(r.usage.completion_tokens, n);
    assert.equal(r.usage.prompt_tokens, c.prompt_ids.length);
  }
});

await check("streamed completion concatenates to the whole, with usage", async () => {
  const body = { model, prompt: golden[1].prompt, max_tokens: 24, temperature: 0, ignore_eos: true };
  const whole = await client.completions.create(body);
  const stream = await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let text = "";
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, "length");
  assert.equal(usage.completion_tokens, 24);
});

await check("chat, streamed and not, n=2, stop", async () => {
  const messages = [{ role: "system", content: "Answer as the scripture does." },
                    { role: "user", content: "Who created the heaven and the earth?" }];
  const whole = await client.chat.completions.create({ model, messages, max_tokens: 20, temperature: 0, n: 2 });
  assert.equal(whole.choices.length, 2);
  assert.equal(whole.choices[0].message.role, "assistant");
  assert.equal(whole.choices[0].message.content, whole.choices[1].message.content);
  const stream = await client.chat.completions.create({ model, messages, max_tokens: 20, temperature: 0,
                                                        stream: true });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  assert.equal(text, whole.choices[0].message.content);
  const word = text.trim().split(/\s+/)[1];
  const stopped = await client.chat.completions.create({ model, messages, max_tokens: 20, temperature: 0,
                                                         stop: [word] });
  assert.equal(stopped.choices[0].finish_reason, "stop");
  assert.equal(stopped.choices[0].message.content, text.slice(0, text.indexOf(word)));
});

await check("chat with tools: a plain reply stays content (--tool-call-parser llama3)", async () => {
  const messages = [{ role: "user", content: "Who created the heaven and the earth?" }];
  const tools = [{ type: "function", function: { name: "find_verse", description: "Look a verse up",
                                                 parameters: { type: "object", properties: { q: { type: "string" } } } } }];
  const body = { model, messages, max_tokens: 12, temperature: 0 };
  const plain = await client.chat.completions.create(body);
  // kjv-llama's template ignores tools, so the prompt and the reply are the same; the reply is no call.
  const withTools = await client.chat.completions.create({ ...body, tools, tool_choice: "auto" });
  assert.equal(withTools.choices[0].message.content, plain.choices[0].message.content);
  assert.equal(withTools.choices[0].message.tool_calls, undefined);
  assert.equal(withTools.choices[0].finish_reason, "length");
  const stream = await client.chat.completions.create({ ...body, tools, stream: true });
  let text = "";
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0]?.delta?.tool_calls, undefined);
    text += chunk.choices[0]?.delta?.content ?? "";
  }
  assert.equal(text, plain.choices[0].message.content);
  await assert.rejects(client.chat.completions.create({ ...body, tools: [{ type: "function", function: {} }] }),
                       (e) => e.status === 400 && e.param === "tools[0].function.name");
  await assert.rejects(client.chat.completions.create({ ...body, tools,
                                                        tool_choice: { type: "function", function: { name: "x" } } }),
                       (e) => e.status === 400 && e.param === "tool_choice");
});

await check("chat with a forced tool call: one guided call, whole and streamed (--tool-call-parser llama3)", async () => {
  const messages = [{ role: "user", content: "Which book tells of the creation?" }];
  const books = ["Genesis", "Exodus"];
  const tools = [{ type: "function", function: { name: "pick_book", parameters: {
    type: "object", properties: { book: { enum: books }, sure: { type: "boolean" } }, required: ["book", "sure"] } } }];
  const body = { model, messages, tools, tool_choice: { type: "function", function: { name: "pick_book" } },
                 max_tokens: 200, temperature: 1.0, seed: 7 };
  const whole = await client.chat.completions.create(body);
  assert.equal(whole.choices[0].finish_reason, "tool_calls");
  assert.equal(whole.choices[0].message.content, null);
  const call = whole.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, "pick_book");
  const args = JSON.parse(call.function.arguments);
  assert.ok(books.includes(args.book) && typeof args.sure === "boolean", call.function.arguments);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const chunks = [];
  let reason = null;
  for await (const chunk of stream) {
    if (chunk.choices[0]?.delta?.tool_calls) chunks.push(chunk.choices[0].delta.tool_calls);
    reason = chunk.choices[0]?.finish_reason ?? reason;
  }
  assert.equal(reason, "tool_calls");
  assert.equal(chunks.length, 1);
  assert.deepEqual(chunks[0][0].function, call.function);
});

await check("errors arrive as APIError with the OpenAI shape", async () => {
  await assert.rejects(client.chat.completions.create({ model: "gpt-4", messages: [{ role: "user", content: "x" }] }),
                       (e) => e instanceof OpenAI.APIError && e.status === 404 && e.code === "model_not_found");
  await assert.rejects(client.completions.create({ model, prompt: "x", max_tokens: 0 }),
                       (e) => e.status === 400 && e.param === "max_tokens");
  await assert.rejects(client.chat.completions.create({ model, messages: [] }),
                       (e) => e.status === 400 && e.param === "messages");
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }],
                                                        response_format: { type: "json_schema", json_schema: {
                                                          name: "n", schema: { type: "integer", not: { const: 1 } } } } }),
                       (e) => e.status === 400 && e.param === "response_format.json_schema.schema.not");
  await assert.rejects(client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }],
                                                        presence_penalty: 2.5 }),
                       (e) => e.status === 400 && e.param === "presence_penalty");
  await assert.rejects(client.completions.create({ model, prompt: "x", frequency_penalty: -3 }),
                       (e) => e.status === 400 && e.param === "frequency_penalty");
});

await check("logprobs: golden first-token differences, greedy choice on top, streamed = whole", async () => {
  // Completions (legacy format) with the tokens written as ids: the first token's top logprobs,
  // as differences to the first, are the PyTorch reference's logit differences.
  for (const c of golden) {
    const r = await client.completions.create({ model, prompt: c.prompt, max_tokens: 2, temperature: 0,
                                                ignore_eos: true, logprobs: 5, return_tokens_as_token_ids: true });
    const top = Object.fromEntries(Object.entries(r.choices[0].logprobs.top_logprobs[0])
                                         .map(([t, lp]) => [Number(t.slice("token_id:".length)), lp]));
    const [leadId, leadLogit] = c.top10_first[0];
    for (const [id, logit] of c.top10_first.slice(0, 5))
      assert.ok(Math.abs((top[id] - top[leadId]) - (logit - leadLogit)) < 1e-3, `${c.prompt}: id ${id}`);
  }
  // Chat (OpenAI's format): greedy picks the most likely token; chunks' logprobs concatenate to the whole.
  const messages = [{ role: "user", content: "Who created the heaven and the earth?" }];
  const body = { model, messages, max_tokens: 16, temperature: 0, logprobs: true, top_logprobs: 10 };
  const whole = await client.chat.completions.create(body);
  const content = whole.choices[0].logprobs.content;
  assert.ok(content.length > 0);
  for (const entry of content) {
    assert.equal(entry.top_logprobs.length, 10);
    assert.equal(entry.token, entry.top_logprobs[0].token);
    assert.equal(entry.logprob, entry.top_logprobs[0].logprob);
  }
  assert.equal(content.map((e) => e.token).join(""), whole.choices[0].message.content);
  const stream = await client.chat.completions.create({ ...body, stream: true });
  const streamed = [];
  for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed, content);
});
