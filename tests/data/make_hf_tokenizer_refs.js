#!/usr/bin/env node
// Writes hf_tokenizer_refs.json: reference encodings/decodings made with Hugging Face `tokenizers`
// (the Rust library, through its official Node binding: `npm install tokenizers@0.23.2` somewhere,
// then NODE_PATH=<that dir>/node_modules node make_hf_tokenizer_refs.js <shared_dir> <out.json>).
// Each variant is a base tokenizer.json from <shared>/tokenizers with some top-level fields
// replaced ("patch"), so the C++ test can rebuild the same file.
const fs = require("fs");
const { Tokenizer } = require("tokenizers");

const [shared, outPath] = process.argv.slice(2);
const kjv = fs.readFileSync(`${shared}/models/kjv-llama/kjv_eval.txt`, "utf8");
const readSpec = (base) => JSON.parse(fs.readFileSync(`${shared}/tokenizers/${base}/tokenizer.json`, "utf8"));

const TRICKY = [
  "<|begin_of_text|>Hello<|eot_id|>", " <|eot_id|> x", "<|eot_id|><|eot_id|>", "<|eot_id", "a<|eot_id|>b",
  "<|im_start|>user\nhi<|im_end|>\n", "<s>Hello</s>", "Hello <s> world", "<unk>", "  <s>  ", "</s></s>",
  "\r\n", "a\r\nb", "\t\t", " \n \n", "x  \n\n  y", "\u00a0\u00a0", "\u3000abc", "a \u2009b\u200bc",
  "e\u0301te\u0301", "A\u030a", "\ufb01ne", "\u0130stanbul", "\u01c5", "\u{1d518}\u{1d52b}\u{1d526}",
  "\u{1F600}\u{1F600}", "IT'S it'S they'LL WE'D", "'\u017f 's \u212a", "12345678901234567890", "\u0661\u0662\u0663\u0664",
  "\u00bd\u2153 x\u00b2\u00b3", "!!!???...", "...\n\n\n", "C++ & Rust || Go?", "https://example.com/path?q=1&b=2",
  "email@example.com", "\u0000\u0001\u007f", "\u200b\u200c\u200d", "\ufeffBOM", "a\ufffdb", "\ufffd",
  " ".repeat(20) + "x", "\n".repeat(12), "a".repeat(300), "ab".repeat(200), "\u2581 \u2581\u2581x", "   ", " ", "x ",
  "\u0915\u094d\u0937", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0645\u0631\u062d\u0628\u0627", "\u05e9\u05dc\u05d5\u05dd",
  "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35", "Z\u0351\u036b\u0343a\u0310l\u0357g", "\u1680x\u2028y\u2029z\u0085w",
];
const LINES = kjv.split("\n").slice(0, 60).filter((l) => l.length > 0);

// Seeded random texts over a pool that mixes the classes the pre-tokenizer regexes care about.
function randomTexts(seed, count) {
  const pool = [..."aeiouxyzAEZ0123456789", " ", " ", " ", "  ", "\n", "\t", "\r\n", "'", "'s", "'LL", ".", ",", "!", "?",
    "-", "_", "(", ")", "#", "@", "\u00e9", "\u00fc", "\u00df", "e\u0301", "\u4e2d", "\u6587", "\u3002", "\u306e",
    "\ud55c", "\u0416", "\u03a9", "\u{1F600}", "\u{1F44D}\u{1F3FD}", "\u200d", "\u00a0", "\u2009", "\u2581", "<s>",
    "</s>", "<|eot_id|>", "<|im_end|>", "<mask>", "hello", "world", " the", " and", "LORD", "\u0661", "\u00bd"];
  let state = seed >>> 0;
  const next = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296);
  const texts = [];
  for (let i = 0; i < count; i++) {
    const len = 1 + Math.floor(next() * 24);
    let t = "";
    for (let j = 0; j < len; j++) t += pool[Math.floor(next() * pool.length)];
    texts.push(t);
  }
  return texts;
}

const DECODE_TEXTS = ["emoji \u{1F642}\u{1F680}\u{1F44D}\u{1F3FD} family", "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
  "\u4e2d\u6587\u5206\u8bcd", " caf\u00e9"];

const SPM_ADDED = [
  { id: 32000, content: "<mask>", single_word: false, lstrip: true, rstrip: false, normalized: false, special: true },
  { id: 32001, content: "[SEP]", single_word: false, lstrip: false, rstrip: true, normalized: false, special: true },
  { id: 32002, content: "hello", single_word: true, lstrip: false, rstrip: false, normalized: true, special: false },
  { id: 32003, content: "wor", single_word: false, lstrip: false, rstrip: false, normalized: false, special: false },
  { id: 32004, content: "ld", single_word: true, lstrip: true, rstrip: true, normalized: false, special: false },
  { id: 32005, content: "<mask>x", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
];
const ADDED_TEXTS = ["a <mask> b", "a   <mask>b", "<mask>", "  <mask>", "x<mask>x y", "[SEP]   z", "[SEP]\n\nz",
  "hello world", "hellos world", "say hello", "ahello", "Hello hello", "world wor ld", "w ld x", "a ld b", "ald",
  "  ld  ", "<mask>x <mask> x", "<s>hello</s>", "hello<mask>[SEP]ld", "\u00e9ld", "_ld", "ld\u0301"];

const metaspace = (scheme, split) => ({ type: "Metaspace", replacement: "\u2581", prepend_scheme: scheme, split });
const splitVariant = (behavior, invert, pattern) => ({
  normalizer: null,
  pre_tokenizer: { type: "Sequence", pretokenizers: [
    { type: "Split", pattern, behavior, invert }, metaspace("always", false)] },
  decoder: metaspace("always", false),
});

// Top-level keys replace the file's; "model.<field>" keys replace one field of the model.
function applyPatch(spec, patch) {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("model.")) spec.model[key.slice(6)] = value;
    else spec[key] = value;
  }
  return spec;
}

const VARIANTS = [
  ["llama3", "llama3", {}], ["qwen3", "qwen3", {}], ["spm-bpe-32k", "spm-bpe-32k", {}],
  ["llama3-gpt2-prefix", "llama3", { pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true } }],
  ["llama3-normalizers", "llama3", { normalizer: { type: "Sequence", normalizers: [
    { type: "NFKD" }, { type: "StripAccents" }, { type: "Lowercase" }, { type: "Strip", strip_left: true, strip_right: true },
    { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }] } }],
  ["spm-added-tokens", "spm-bpe-32k", { added_tokens: readSpec("spm-bpe-32k").added_tokens.concat(SPM_ADDED) }],
  ["spm-metaspace-first", "spm-bpe-32k", { normalizer: null, pre_tokenizer: metaspace("first", false), decoder: metaspace("first", false) }],
  ["spm-metaspace-split", "spm-bpe-32k", { normalizer: null, pre_tokenizer: metaspace("always", true), decoder: metaspace("always", true) }],
];
for (const behavior of ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"])
  VARIANTS.push([`spm-split-${behavior}`, "spm-bpe-32k", splitVariant(behavior, false, { Regex: "[,.!?]| +" })]);
VARIANTS.push(["spm-unk-fused", "spm-bpe-32k", { "model.byte_fallback": false, "model.fuse_unk": true }]);
VARIANTS.push(["spm-unk-unfused", "spm-bpe-32k", { "model.byte_fallback": false, "model.fuse_unk": false }]);
VARIANTS.push(["spm-no-unk", "spm-bpe-32k", { "model.byte_fallback": false, "model.unk_token": null }]);
VARIANTS.push(["llama3-merges-only", "llama3", { "model.ignore_merges": false }]);
VARIANTS.push(["spm-split-invert", "spm-bpe-32k", splitVariant("MergedWithPrevious", true, { String: "e" })]);
VARIANTS.push(["spm-digits-punct", "spm-bpe-32k", { normalizer: null, pre_tokenizer: { type: "Sequence", pretokenizers: [
  { type: "WhitespaceSplit" }, { type: "Digits", individual_digits: true }, { type: "Punctuation", behavior: "Isolated" },
  metaspace("always", true)] } }]);

(async () => {
  const result = { made_with: "tokenizers 0.23.2 (Node binding)", variants: [] };
  for (const [name, base, patch] of VARIANTS) {
    const spec = applyPatch(readSpec(base), patch);
    const tok = Tokenizer.fromString(JSON.stringify(spec));
    const full = ["llama3", "qwen3", "spm-bpe-32k"].includes(name);
    let texts = full ? TRICKY.concat(LINES, [kjv.slice(0, 12000)], randomTexts(7, 300))
                     : TRICKY.concat(LINES.slice(0, 10), [kjv.slice(0, 3000)], randomTexts(11, 60));
    if (name === "spm-added-tokens") texts = texts.concat(ADDED_TEXTS);
    const encode = [];
    for (const text of texts) {
      const e = await tok.encode(text, null, { addSpecialTokens: false });
      encode.push({ text, ids: e.getIds() });
    }
    const decode = [];
    for (const text of DECODE_TEXTS) {
      const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
      for (let k = 1; k <= ids.length; k++)
        decode.push({ ids: ids.slice(0, k), text: await tok.decode(ids.slice(0, k), false) });
    }
    for (const e of encode.filter((e, i) => i < 12 || ADDED_TEXTS.includes(e.text)))
      decode.push({ ids: e.ids, text: await tok.decode(e.ids, false) });
    result.variants.push({ name, base, patch, encode, decode });
    console.log(name, encode.length, decode.length);
  }
  fs.writeFileSync(outPath, JSON.stringify(result));
})();
