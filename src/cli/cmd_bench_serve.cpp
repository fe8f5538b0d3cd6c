// `turbine bench serve URL [--requests N] [--concurrency C] [--rate R] [--input-len-range A:B]
// [--output-len-range C:D] [--seed S] [--endpoint completions|chat|generate] [--json]` (LMDeploy's
// profile_restful_api): `bench throughput`'s random workload sent to a running server as streamed
// requests; reports requests/s, tokens/s and the client's TTFT, inter-token and end-to-end latencies.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>

#include "cli/bench_serve_client.h"
#include "cli/bench_workload.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/option_checks.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/log.h"
#include "core/progress_bar.h"
#include "pipeline/model_folder.h"
#include "server/serve_loop.h"

namespace turbine::cli {

namespace {

using Json = nlohmann::ordered_json;

struct ServeBenchArgs {
  std::string url;
  int requests = 1000;
  int concurrency = 0;  // 0: all at once (or, with --rate, no limit)
  double rate = 0;      // 0: all at once
  std::string input_range = "64:1024";
  std::string output_range = "64:512";
  uint64_t seed = 0;
  std::string endpoint = "completions";
  bool json = false;
  std::string api_key;
  std::string model;
  std::string tokenizer;  // a model folder: chat prompts are its decoding of the ids
  int vocab_size = 0;     // 0: the server's /v1/models
  int timeout_s = 600;
};

// What the server says about its model in GET /v1/models (the first entry).
struct ServerModel {
  std::string id;
  int max_model_len = 0;  // 0: not given
  int vocab_size = 0;
};

ServerModel ask_server_model(const HttpUrl& url, const HttpHeaders& headers, std::chrono::seconds timeout,
                             const std::string& shown_url) {
  const HttpResult r = http_get(url, "/v1/models", headers, timeout);
  if (r.status != 200) fail("{}/v1/models answered {}: {}", shown_url, r.status, server_error_message(r.body));
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() || !j["data"][0].is_object())
    fail("{}/v1/models did not list a model: is {} an OpenAI-compatible server?", shown_url, shown_url);
  const auto& card = j["data"][0];
  ServerModel m;
  if (card.contains("id") && card["id"].is_string()) m.id = card["id"];
  if (card.contains("max_model_len") && card["max_model_len"].is_number_integer())
    m.max_model_len = card["max_model_len"];
  if (card.contains("vocab_size") && card["vocab_size"].is_number_integer()) m.vocab_size = card["vocab_size"];
  return m;
}

// The engine's counters from a turbine server's Prometheus /metrics; nullopt from a server without them.
struct EngineTotals {
  double steps = 0, preemptions = 0, kv_blocks = 0;
};

std::optional<EngineTotals> ask_engine_totals(const HttpUrl& url, const HttpHeaders& headers,
                                              std::chrono::seconds timeout) {
  HttpResult r;
  try {
    r = http_get(url, "/metrics", headers, timeout);
  } catch (const Error&) {
    return std::nullopt;  // the figures are extras: a server gone by now does not cost the run's results
  }
  if (r.status != 200) return std::nullopt;
  EngineTotals t;
  int found = 0;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    const size_t space = line.rfind(' ');
    if (line.empty() || line[0] == '#' || space == std::string::npos) continue;
    const std::string name = line.substr(0, space);
    const double value = std::strtod(line.c_str() + space + 1, nullptr);
    if (name == "turbine_engine_steps_total") {
      t.steps = value;
      ++found;
    } else if (name == "turbine_preemptions_total") {
      t.preemptions = value;
      ++found;
    } else if (name.rfind("turbine_kv_blocks{", 0) == 0) {
      t.kv_blocks += value;  // free + active + cached: all of them
    }
  }
  return found == 2 ? std::optional(t) : std::nullopt;
}

BenchApi parse_api(const std::string& name, std::string& path) {
  if (name == "completions") {
    path = "/v1/completions";
    return BenchApi::Completions;
  }
  if (name == "chat") {
    path = "/v1/chat/completions";
    return BenchApi::Chat;
  }
  if (name == "generate") {
    path = "/generate";
    return BenchApi::Generate;
  }
  fail("--endpoint: expected completions, chat or generate, got '{}'", name);
}

// The request bodies, built before the clock starts. Every request ignores EOS and streams its tokens
// with their ids, so the client counts tokens per event exactly.
std::vector<std::string> request_bodies(BenchApi api, const BenchWorkload& w, const std::string& model,
                                        const Tokenizer* tokenizer) {
  std::vector<std::string> bodies;
  bodies.reserve(w.prompts.size());
  for (size_t i = 0; i < w.prompts.size(); ++i) {
    Json body;
    if (api == BenchApi::Generate) {
      body["input_ids"] = w.prompts[i];
    } else {
      if (!model.empty()) body["model"] = model;
      if (api == BenchApi::Completions)
        body["prompt"] = w.prompts[i];
      else
        body["messages"] = Json::array({{{"role", "user"}, {"content", tokenizer->decode(w.prompts[i])}}});
    }
    body["max_tokens"] = w.output_lens[i];
    body["ignore_eos"] = true;
    body["stream"] = true;
    if (api != BenchApi::Generate) {
      body["stream_options"] = {{"include_usage", true}};
      body["return_token_ids"] = true;
    }
    bodies.push_back(body.dump());
  }
  return bodies;
}

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

void run(const ServeBenchArgs& args) {
  const TokenRange in_range = parse_token_range(args.input_range, "--input-len-range");
  const TokenRange out_range = parse_token_range(args.output_range, "--output-len-range");
  std::string path;
  const BenchApi api = parse_api(args.endpoint, path);
  BenchServeSetup setup;
  setup.url = parse_http_url(args.url);
  setup.path = path;
  setup.api = api;
  setup.timeout = std::chrono::seconds(args.timeout_s);
  if (!args.api_key.empty()) setup.headers.emplace_back("Authorization", "Bearer " + args.api_key);
  // Without --concurrency: every request at once, or every arrival at once under --rate.
  setup.concurrency = args.concurrency > 0 ? size_t(args.concurrency) : args.rate > 0 ? 0 : size_t(args.requests);
  server::raise_open_file_limit();  // a connection per request in flight

  std::unique_ptr<Tokenizer> tokenizer;
  int vocab = args.vocab_size;
  if (!args.tokenizer.empty()) {
    LoadedModel folder = open_model_folder(args.tokenizer);
    tokenizer = std::move(folder.tokenizer);
    if (vocab == 0) vocab = folder.config.vocab_size;
  }
  if (api == BenchApi::Chat && !tokenizer)
    fail("--endpoint chat sends text: give --tokenizer MODEL, the folder whose tokenizer turns the ids into text");
  const ServerModel served = ask_server_model(setup.url, setup.headers, setup.timeout, args.url);
  if (vocab == 0) vocab = served.vocab_size;
  if (vocab <= 0) fail("{}/v1/models gives no vocab_size: give --vocab-size N (or --tokenizer MODEL)", args.url);
  if (served.max_model_len > 0 && in_range.hi + out_range.hi > served.max_model_len)
    fail("--input-len-range/--output-len-range: {} + {} tokens exceed the server's context of {}", in_range.hi,
         out_range.hi, served.max_model_len);

  const BenchWorkload w = make_bench_workload(args.requests, in_range, out_range, args.rate, vocab, args.seed);
  const std::vector<std::string> bodies =
      request_bodies(api, w, args.model.empty() ? served.id : args.model, tokenizer.get());

  const std::optional<EngineTotals> totals_before = ask_engine_totals(setup.url, setup.headers, setup.timeout);
  ProgressBar progress("requests");
  const auto start = std::chrono::steady_clock::now();
  const std::vector<RequestTiming> results =
      run_bench_requests(setup, bodies, w.gaps, [&](size_t done) { progress.update(done, size_t(args.requests)); });
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish();
  std::optional<EngineTotals> totals_after;
  if (totals_before) totals_after = ask_engine_totals(setup.url, setup.headers, setup.timeout);

  std::vector<double> ttft, itl, e2e;
  size_t input_tokens = 0, output_tokens = 0;
  int completed = 0;
  const std::string* first_error = nullptr;
  for (size_t i = 0; i < results.size(); ++i) {
    const RequestTiming& r = results[i];
    if (!r.ok) {
      if (!first_error) first_error = &r.error;
      continue;
    }
    ++completed;
    input_tokens += r.prompt_tokens >= 0 ? size_t(r.prompt_tokens) : w.prompts[i].size();
    output_tokens += size_t(r.output_tokens);
    if (r.ttft_ms >= 0) ttft.push_back(r.ttft_ms);
    itl.insert(itl.end(), r.itl_ms.begin(), r.itl_ms.end());
    e2e.push_back(r.e2e_ms);
  }
  const int failed = args.requests - completed;
  if (completed == 0) fail("all {} requests failed; the first: {}", args.requests, *first_error);
  if (first_error)
    log(LogLevel::Warning, "{} of {} requests failed; the first: {}", failed, args.requests, *first_error);

  Json row;
  row["requests"] = args.requests;
  row["completed"] = completed;
  row["failed"] = failed;
  row["concurrency"] = setup.concurrency;
  row["rate"] = args.rate;
  row["elapsed_s"] = elapsed;
  row["input_tokens"] = input_tokens;
  row["output_tokens"] = output_tokens;
  row["request_throughput"] = completed / elapsed;
  row["input_throughput"] = double(input_tokens) / elapsed;
  row["output_throughput"] = double(output_tokens) / elapsed;
  row["total_throughput"] = double(input_tokens + output_tokens) / elapsed;
  const std::pair<const char*, const std::vector<double>*> series[] = {{"ttft", &ttft}, {"itl", &itl}, {"e2e", &e2e}};
  for (const auto& [name, values] : series) {
    row[fmt::format("{}_ms_mean", name)] = mean(*values);
    for (double p : {50.0, 90.0, 99.0}) row[fmt::format("{}_ms_p{:.0f}", name, p)] = percentile(*values, p);
  }
  // The server's engine during the run (a turbine server's /metrics; through nginx, one replica's).
  if (totals_after) {
    row["steps"] = uint64_t(totals_after->steps - totals_before->steps);
    row["preemptions"] = uint64_t(totals_after->preemptions - totals_before->preemptions);
    row["kv_blocks"] = uint64_t(totals_after->kv_blocks);
  }
  if (args.json) {
    write_stdout(row.dump() + "\n");
    return;
  }
  const std::string pacing = args.rate > 0 ? fmt::format("Poisson, {} per second", args.rate) : "all at once";
  const bool limited = setup.concurrency > 0 && setup.concurrency < size_t(args.requests);
  const std::string limit = limited ? fmt::format(", at most {} at a time", setup.concurrency) : "";
  std::string out;
  out += fmt::format("{:<22} {} ({}{})\n", "requests", args.requests, pacing, limit);
  out += fmt::format("{:<22} {} ({} failed)\n", "completed", completed, failed);
  out += fmt::format("{:<22} {:.2f}\n", "elapsed (s)", elapsed);
  out += fmt::format("{:<22} {} in, {} out\n", "tokens", input_tokens, output_tokens);
  out += fmt::format("{:<22} {:.3f}\n", "requests/s", completed / elapsed);
  out += fmt::format("{:<22} {:.1f}\n", "input tokens/s", double(input_tokens) / elapsed);
  out += fmt::format("{:<22} {:.1f}\n", "output tokens/s", double(output_tokens) / elapsed);
  out += fmt::format("{:<22} {:.1f}\n", "total tokens/s", double(input_tokens + output_tokens) / elapsed);
  out += fmt::format("{:<22} {:>10} {:>10} {:>10} {:>10}\n", "latency (ms)", "mean", "p50", "p90", "p99");
  const std::pair<const char*, const std::vector<double>*> rows[] = {
      {"  first token (TTFT)", &ttft}, {"  inter-token (ITL)", &itl}, {"  end to end (E2E)", &e2e}};
  for (const auto& [label, values] : rows)
    out += fmt::format("{:<22} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}\n", label, mean(*values),
                       percentile(*values, 50), percentile(*values, 90), percentile(*values, 99));
  if (totals_after)
    out += fmt::format("{:<22} {:.0f} steps, {:.0f} preemptions, {:.0f} KV blocks\n", "server engine",
                       totals_after->steps - totals_before->steps,
                       totals_after->preemptions - totals_before->preemptions, totals_after->kv_blocks);
  write_stdout(out);
  finish_stdout();
}

}  // namespace

void register_bench_serve(CLI::App& bench) {
  auto args = std::make_shared<ServeBenchArgs>();
  auto* cmd = bench.add_subcommand(
      "serve", "Serving benchmark against a running server: bench throughput's workload as streamed requests");
  cmd->add_option("URL", args->url, "the server, e.g. http://127.0.0.1:23333")->required();
  cmd->add_option("--requests", args->requests, "number of requests")->capture_default_str()->check(int_at_least(1));
  cmd->add_option("--concurrency", args->concurrency,
                  "requests in flight at most, each on its own connection (default: all at once)")
      ->check(int_at_least(1));
  cmd->add_option("--rate", args->rate, "requests per second (Poisson arrivals); 0 = all at once")
      ->check(real_at_least(0));
  cmd->add_option("--input-len-range", args->input_range, "prompt length range MIN:MAX")->capture_default_str();
  cmd->add_option("--output-len-range", args->output_range, "output length range MIN:MAX")->capture_default_str();
  cmd->add_option("--seed", args->seed, "seed of the random workload (the same as bench throughput's)")
      ->check(seed_value());
  cmd->add_option("--endpoint", args->endpoint, "completions (token ids), chat (text; needs --tokenizer) or generate")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "one JSON object instead of the table");
  cmd->add_option("--api-key", args->api_key, "sent as 'Authorization: Bearer KEY'");
  cmd->add_option("--model", args->model, "the model field of each request (default: the server's first model)");
  cmd->add_option("--tokenizer", args->tokenizer, "model folder: its vocabulary size, and its tokenizer for chat");
  cmd->add_option("--vocab-size", args->vocab_size, "draw prompt ids below this (default: the server's vocab_size)")
      ->check(int_at_least(1));
  cmd->add_option("--timeout", args->timeout_s, "seconds to wait for anything (connecting, sending, the next piece)")
      ->capture_default_str()
      ->check(int_at_least(1));
  cmd->callback([args] { run(*args); });
}

}  // namespace turbine::cli
