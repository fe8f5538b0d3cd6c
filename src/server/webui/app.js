// turbine's web chat: one conversation at a time over POST /v1/chat/completions with stream: true.
// No framework: the DOM, fetch with a ReadableStream, and an AbortController for Stop.
"use strict";

const $ = (id) => document.getElementById(id);
const ui = {
  messages: $("messages"), input: $("message-input"), form: $("composer"), send: $("send-button"),
  stop: $("stop-button"), newChat: $("new-chat"), system: $("system-prompt"), temperature: $("temperature"),
  topP: $("top-p"), maxTokens: $("max-tokens"), apiKey: $("api-key"), status: $("status"), model: $("model-name"),
};

const state = { history: [], sessionId: newSessionId(), controller: null };

function newSessionId() {
  if (window.crypto && crypto.randomUUID) return "webui-" + crypto.randomUUID();
  return "webui-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
}

function authHeaders() {
  const key = ui.apiKey.value.trim();
  return key ? { Authorization: "Bearer " + key } : {};
}

function addMessage(role, text) {
  const item = document.createElement("li");
  item.className = "message " + role;
  const body = document.createElement("span");
  body.className = "body";
  body.textContent = text;
  item.appendChild(body);
  ui.messages.appendChild(item);
  ui.messages.scrollTop = ui.messages.scrollHeight;
  return item;
}

function setMeta(item, text) {
  let meta = item.querySelector(".meta");
  if (!meta) {
    meta = document.createElement("span");
    meta.className = "meta";
    item.appendChild(meta);
  }
  meta.textContent = text;
}

function setBusy(busy) {
  ui.send.disabled = busy;
  ui.stop.disabled = !busy;
  ui.status.textContent = busy ? "generating..." : "";
}

function numberOr(input, fallback) {
  const v = parseFloat(input.value);
  return Number.isFinite(v) ? v : fallback;
}

function requestBody() {
  const messages = [];
  const system = ui.system.value.trim();
  if (system) messages.push({ role: "system", content: system });
  messages.push(...state.history);
  return {
    messages,
    stream: true,
    stream_options: { include_usage: true },
    temperature: numberOr(ui.temperature, 0.7),
    top_p: numberOr(ui.topP, 1),
    max_tokens: Math.max(1, Math.round(numberOr(ui.maxTokens, 256))),
    session_id: state.sessionId,
  };
}

// Reads an SSE body and calls onEvent with each parsed `data:` payload until `[DONE]`.
async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, "");
      buffer = buffer.slice(end + 1);
      if (!line.startsWith("data:")) continue;
      const data = line.slice(5).trim();
      if (data === "[DONE]") return;
      onEvent(JSON.parse(data));
    }
  }
}

async function errorText(response) {
  try {
    const body = await response.json();
    return (body.error && body.error.message) || JSON.stringify(body);
  } catch (e) {
    return response.status + " " + response.statusText;
  }
}

async function send(text) {
  state.history.push({ role: "user", content: text });
  addMessage("user", text);
  const item = addMessage("assistant", "");
  const body = item.querySelector(".body");
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  let reply = "", chunks = 0, usage = null, first = 0, finish = "";
  const started = performance.now();
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Session-Id": state.sessionId, ...authHeaders() },
      body: JSON.stringify(requestBody()),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await errorText(response));
    await readEvents(response, (event) => {
      if (event.error) throw new Error(event.error.message || JSON.stringify(event.error));
      if (event.usage) usage = event.usage;
      for (const choice of event.choices || []) {
        const piece = (choice.delta && choice.delta.content) || "";
        if (piece) {
          if (!first) first = performance.now();
          reply += piece;
          chunks += 1;
          body.textContent = reply.trimStart();
          ui.messages.scrollTop = ui.messages.scrollHeight;
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    });
  } catch (e) {
    if (e.name === "AbortError") {
      finish = "stopped";
    } else {
      item.classList.add("error");
      body.textContent = reply + (reply ? "\n" : "") + "error: " + e.message;
      finish = "error";
    }
  } finally {
    state.controller = null;
    setBusy(false);
  }
  // A stopped or failed reply stays in the conversation as far as it got, so the next turn sees it.
  if (reply) state.history.push({ role: "assistant", content: reply });
  else if (finish === "error") state.history.pop();
  const tokens = usage ? usage.completion_tokens : chunks;
  const seconds = ((first ? performance.now() - first : 0) || 1) / 1000;
  const rate = tokens > 1 && first ? ((tokens - 1) / seconds).toFixed(1) + " tokens/s" : "";
  const total = ((performance.now() - started) / 1000).toFixed(2) + " s";
  setMeta(item, [tokens + " tokens", rate, total, finish].filter(Boolean).join(" · "));
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text || state.controller) return;
  ui.input.value = "";
  send(text);
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.form.requestSubmit();
  }
});

ui.stop.addEventListener("click", () => {
  if (state.controller) state.controller.abort();
});

ui.newChat.addEventListener("click", () => {
  if (state.controller) state.controller.abort();
  state.history = [];
  state.sessionId = newSessionId();
  ui.messages.replaceChildren();
  ui.status.textContent = "";
  ui.input.focus();
});

async function showModel() {
  try {
    const response = await fetch("/v1/models", { headers: authHeaders() });
    if (!response.ok) return;
    const list = await response.json();
    if (list.data && list.data[0]) ui.model.textContent = list.data[0].id;
  } catch (e) {
    // The model name is decoration; the chat works without it.
  }
}

ui.apiKey.addEventListener("change", showModel);
showModel();
ui.input.focus();
