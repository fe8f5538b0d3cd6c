// Drives the web chat UI in headless Chromium (puppeteer-core): a streamed reply, Stop during a long
// reply, New chat, a screenshot, and the API key field against a second server started with --api-keys.
// Run by test_webui_browser.py with TURBINE_URL, TURBINE_KEYED_URL, TURBINE_API_KEY, CHROMIUM and
// SCREENSHOT set; prints "ok - ..." per check and exits non-zero on the first failure.
import puppeteer from "puppeteer-core";

const url = process.env.TURBINE_URL;
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});

function check(condition, what, detail = "") {
  if (!condition) throw new Error(`not ok - ${what} ${detail}`);
  console.log(`ok - ${what}`);
}

async function setField(page, selector, value) {
  await page.$eval(selector, (el, v) => { el.value = v; }, String(value));
}

// The text and meta line of the last assistant reply once it is complete (its meta line is written last).
async function lastReply(page) {
  await page.waitForFunction(() => {
    const items = document.querySelectorAll(".message.assistant");
    return items.length && items[items.length - 1].querySelector(".meta");
  }, { timeout: 120000 });
  return page.$eval(".message.assistant:last-of-type", (el) => ({
    text: el.querySelector(".body").textContent,
    meta: el.querySelector(".meta").textContent,
    error: el.classList.contains("error"),
  }));
}

try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 750 });
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => document.getElementById("model-name").textContent !== "");
  check(true, "page loads and names the model");

  await setField(page, "#system-prompt", "Answer in the words of the King James Bible.");
  await setField(page, "#max-tokens", 12);
  await page.type("#message-input", "Who created the heaven and the earth?");
  await page.click("#send-button");
  const first = await lastReply(page);
  check(!first.error && first.text.length > 0, "a streamed reply appears", JSON.stringify(first));
  check(/\d+ tokens/.test(first.meta), "the reply shows its token count", first.meta);

  // A long reply, stopped while it streams.
  await setField(page, "#max-tokens", 1500);
  await setField(page, "#temperature", 1);
  await page.type("#message-input", "Tell the whole story of the creation.");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => {
    const items = document.querySelectorAll(".message.assistant");
    return items.length === 2 && items[1].querySelector(".body").textContent.length > 0;
  }, { timeout: 120000 });
  const stopped = await page.evaluate(() => {
    const stop = document.getElementById("stop-button");
    if (stop.disabled) return false;  // the reply ended on its own before the click
    stop.click();
    return true;
  });
  const second = await lastReply(page);
  if (stopped) check(second.meta.includes("stopped"), "Stop ends the reply", second.meta);
  else console.log("# the reply ended before Stop was pressed: " + second.meta);
  check(await page.$eval("#stop-button", (b) => b.disabled) && !(await page.$eval("#send-button", (b) => b.disabled)),
        "after the reply Send is enabled and Stop disabled");
  await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });

  await page.click("#new-chat");
  check(await page.$eval("#messages", (m) => m.children.length === 0), "New chat clears the conversation");
  // A server started with --api-keys: the page loads, a request without the key shows the error, with it a reply.
  if (process.env.TURBINE_KEYED_URL) {
    await page.goto(process.env.TURBINE_KEYED_URL, { waitUntil: "load" });
    await setField(page, "#max-tokens", 6);
    await page.type("#message-input", "In the beginning");
    await page.click("#send-button");
    const refused = await lastReply(page);
    check(refused.error && refused.text.includes("API key"), "a missing API key is shown as an error", refused.text);
    await page.type("#api-key", process.env.TURBINE_API_KEY);
    await page.type("#message-input", "In the beginning");
    await page.click("#send-button");
    await page.waitForFunction(() => document.querySelectorAll(".message.assistant .meta").length === 2,
                               { timeout: 120000 });
    const answered = await lastReply(page);
    check(!answered.error && answered.text.length > 0, "with the API key the reply streams", JSON.stringify(answered));
  }
  check(pageErrors.length === 0, "no script errors", pageErrors.join("; "));
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
