// turbine._turbine: the C++ side of the Python package. Thin: python/turbine/ holds the API that
// users see (pipeline, GenerationConfig, sessions, streaming, asyncio); this module exposes the
// engine to it. Every call that can wait releases the GIL, so Python threads submit and stream at
// once; turbine::Error becomes ValueError with the engine's message, wrong argument types are
// pybind11's TypeError.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>

#include "core/byte_size.h"
#include "core/error.h"
#include "engine/sampling_defaults.h"
#include "guided/json_schema.h"
#include "python/python_pipeline.h"

namespace py = pybind11;
using turbine::python::PipelineOptions;
using turbine::python::PythonPipeline;

namespace turbine::python {
namespace {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::Stop: return "stop";
    case FinishReason::Length: return "length";
    default: return nullptr;
  }
}

// One submitted request as Python holds it.
struct PyRequest {
  RequestHandle handle;
  int prompt_tokens = 0;

  // True when next() would not block; waits at most `timeout_s` (the caller loops, staying
  // interruptible by Ctrl-C between waits).
  bool wait_event(double timeout_s) {
    py::gil_scoped_release release;
    return handle.wait_event_for(std::chrono::milliseconds(int64_t(timeout_s * 1000)));
  }
  // The next event as a dict, or None after the last one. Blocks (GIL released).
  py::object next() {
    std::optional<RequestOutput> out;
    {
      py::gil_scoped_release release;
      out = handle.next();
    }
    if (!out) return py::none();
    py::dict d;
    d["token"] = out->token ? py::object(py::int_(*out->token)) : py::none();
    d["show"] = out->show_id;
    d["text"] = out->text;
    d["finished"] = out->finished;
    const char* reason = finish_reason_name(out->reason);
    d["reason"] = reason ? py::object(py::str(reason)) : py::none();
    d["error"] = out->error;
    if (out->logprobs) {
      py::dict top;  // LMDeploy's form: {id: logprob} of the top alternatives and the chosen token
      for (const TokenLogprob& t : out->logprobs->top) top[py::int_(t.id)] = t.logprob;
      top[py::int_(out->logprobs->chosen.id)] = out->logprobs->chosen.logprob;
      d["logprobs"] = top;
    } else {
      d["logprobs"] = py::none();
    }
    return d;
  }
  // The whole result (blocks, GIL released).
  py::dict result() {
    RequestResult r;
    {
      py::gil_scoped_release release;
      r = handle.wait();
    }
    py::dict d;
    d["ids"] = r.ids;
    d["text"] = r.text;
    const char* reason = finish_reason_name(r.reason);
    d["reason"] = reason ? py::object(py::str(reason)) : py::none();
    d["cancelled"] = r.cancelled;
    d["error"] = r.error;
    d["cached_tokens"] = r.cached_prefix_tokens;
    return d;
  }
};

SamplingParams sampling_from(const PythonPipeline& pipe, bool chat, std::optional<int> max_new_tokens,
                             std::optional<float> temperature, std::optional<int> top_k, std::optional<float> top_p,
                             std::optional<float> min_p, std::optional<float> repetition_penalty,
                             std::optional<uint64_t> seed, std::vector<std::string> stop,
                             std::vector<int32_t> stop_token_ids, bool ignore_eos, std::optional<int> logprobs,
                             float presence_penalty, float frequency_penalty, bool include_stop_str_in_output,
                             bool json_object, const std::optional<std::string>& json_schema) {
  SamplingOverrides o;
  o.max_new_tokens = max_new_tokens;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.min_p = min_p;
  o.repetition_penalty = repetition_penalty;
  o.presence_penalty = presence_penalty;
  o.frequency_penalty = frequency_penalty;
  o.seed = seed;
  SamplingParams p = apply_overrides(o, pipe.defaults(chat));
  p.stop = std::move(stop);
  for (int32_t id : stop_token_ids)
    if (std::find(p.stop_ids.begin(), p.stop_ids.end(), id) == p.stop_ids.end()) p.stop_ids.push_back(id);
  p.ignore_eos = ignore_eos;
  p.logprobs = logprobs.has_value();
  p.top_logprobs = logprobs.value_or(0);
  p.include_stop_str_in_output = include_stop_str_in_output;
  if (json_object) p.guided = json_object_grammar();
  if (json_schema) {
    try {
      p.guided = compile_json_schema(*json_schema);
    } catch (const JsonSchemaError& e) {
      fail("json_schema: {}", e.what());
    }
  }
  return p;
}

py::dict counters_dict(const EngineCounters& c) {
  py::dict d;
  d["steps"] = c.steps;
  d["prefilled_tokens"] = c.prefilled_tokens;
  d["decoded_tokens"] = c.decoded_tokens;
  d["cached_prefix_tokens"] = c.cached_prefix_tokens;
  d["preemptions"] = c.preemptions;
  d["finished_requests"] = c.finished_requests;
  return d;
}

}  // namespace
}  // namespace turbine::python

PYBIND11_MODULE(_turbine, m) {
  using namespace turbine;
  using namespace turbine::python;
  m.doc() = "turbine's engine (use the turbine package, not this module)";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.def("parse_byte_size",
        [](const std::string& text, const std::string& what) { return parse_byte_size(text, what); });

  py::class_<PipelineOptions>(m, "PipelineOptions")
      .def(py::init<>())
      .def_readwrite("device", &PipelineOptions::device)
      .def_readwrite("threads", &PipelineOptions::threads)
      .def_readwrite("tp", &PipelineOptions::tp)
      .def_readwrite("dtype", &PipelineOptions::dtype)
      .def_readwrite("cpu_memory", &PipelineOptions::cpu_memory)
      .def_readwrite("chat_template_file", &PipelineOptions::chat_template_file)
      .def_property(
          "max_batch_size", [](const PipelineOptions& o) { return o.engine.max_batch_size; },
          [](PipelineOptions& o, int v) { o.engine.max_batch_size = v; })
      .def_property(
          "cache_fraction", [](const PipelineOptions& o) { return o.engine.cache_max_entry_count.fraction; },
          [](PipelineOptions& o, double v) { o.engine.cache_max_entry_count.fraction = v; })
      .def_property(
          "cache_bytes", [](const PipelineOptions& o) { return o.engine.cache_max_entry_count.bytes; },
          [](PipelineOptions& o, size_t v) { o.engine.cache_max_entry_count.bytes = v; })
      .def_property(
          "cache_block_seq_len", [](const PipelineOptions& o) { return o.engine.cache_block_seq_len; },
          [](PipelineOptions& o, int v) { o.engine.cache_block_seq_len = v; })
      .def_property(
          "kv_quant", [](const PipelineOptions& o) { return std::string(kv_format_name(o.engine.kv_format)); },
          [](PipelineOptions& o, const std::string& v) { o.engine.kv_format = parse_kv_format(v, "kv_quant"); })
      .def_property(
          "lm_head_quant", [](const PipelineOptions& o) { return std::string(o.lm_head_int4 ? "int4" : "none"); },
          [](PipelineOptions& o, const std::string& v) {
            if (v != "none" && v != "int4") fail("lm_head_quant must be 'none' or 'int4', got '{}'", v);
            o.lm_head_int4 = v == "int4";
          })
      .def_property(
          "session_len", [](const PipelineOptions& o) { return o.engine.session_len; },
          [](PipelineOptions& o, int v) { o.engine.session_len = v; })
      .def_property(
          "max_prefill_token_num", [](const PipelineOptions& o) { return o.engine.max_prefill_token_num; },
          [](PipelineOptions& o, int v) { o.engine.max_prefill_token_num = v; })
      .def_property(
          "sampling_threads", [](const PipelineOptions& o) { return o.engine.sampling_threads; },
          [](PipelineOptions& o, int v) { o.engine.sampling_threads = v; });

  py::class_<PyRequest>(m, "Request")
      .def("wait_event", &PyRequest::wait_event, py::arg("timeout_s"))
      .def("next", &PyRequest::next)
      .def("result", &PyRequest::result)
      .def("cancel", [](PyRequest& r) { r.handle.cancel(); })
      .def("finished", [](const PyRequest& r) { return r.handle.finished(); })
      .def_readonly("prompt_tokens", &PyRequest::prompt_tokens);

  py::class_<PythonPipeline>(m, "Engine")
      .def(py::init([](const std::string& model, const PipelineOptions& options) {
             py::gil_scoped_release release;  // loading takes seconds; other threads may run
             return std::make_unique<PythonPipeline>(model, options);
           }),
           py::arg("model"), py::arg("options"))
      .def("encode", &PythonPipeline::encode, py::arg("text"), py::arg("add_bos"))
      .def("decode", &PythonPipeline::decode, py::arg("ids"))
      .def("has_chat_template", &PythonPipeline::has_chat_template)
      .def("apply_chat_template", &PythonPipeline::apply_chat_template, py::arg("messages_json"),
           py::arg("add_generation_prompt"), py::arg("template_vars_json"))
      .def("chat_prompt", &PythonPipeline::chat_prompt, py::arg("messages_json"), py::arg("template_vars_json"),
           py::arg("history"))
      .def(
          "submit",
          [](PythonPipeline& pipe, std::vector<int32_t> ids, bool chat, std::optional<uint64_t> session,
             std::optional<int> max_new_tokens, std::optional<float> temperature, std::optional<int> top_k,
             std::optional<float> top_p, std::optional<float> min_p, std::optional<float> repetition_penalty,
             std::optional<uint64_t> seed, std::vector<std::string> stop, std::vector<int32_t> stop_token_ids,
             bool ignore_eos, std::optional<int> logprobs, float presence_penalty, float frequency_penalty,
             bool include_stop_str_in_output, bool json_object, std::optional<std::string> json_schema) {
            SamplingParams p =
                sampling_from(pipe, chat, max_new_tokens, temperature, top_k, top_p, min_p, repetition_penalty, seed,
                              std::move(stop), std::move(stop_token_ids), ignore_eos, logprobs, presence_penalty,
                              frequency_penalty, include_stop_str_in_output, json_object, json_schema);
            PyRequest r;
            r.prompt_tokens = int(ids.size());
            py::gil_scoped_release release;
            r.handle = pipe.submit(std::move(ids), std::move(p), session);
            return r;
          },
          py::arg("ids"), py::arg("chat"), py::arg("session"), py::arg("max_new_tokens"), py::arg("temperature"),
          py::arg("top_k"), py::arg("top_p"), py::arg("min_p"), py::arg("repetition_penalty"), py::arg("seed"),
          py::arg("stop"), py::arg("stop_token_ids"), py::arg("ignore_eos"), py::arg("logprobs"),
          py::arg("presence_penalty"), py::arg("frequency_penalty"), py::arg("include_stop_str_in_output"),
          py::arg("json_object"), py::arg("json_schema"))
      .def("new_session_id", &PythonPipeline::new_session_id)
      .def("end_session", &PythonPipeline::end_session, py::arg("session_id"))
      .def("counters", [](const PythonPipeline& p) { return counters_dict(p.counters()); })
      .def("block_usage",
           [](const PythonPipeline& p) {
             const BlockUsage u = p.block_usage();
             py::dict d;
             d["free"] = u.free;
             d["active"] = u.active;
             d["cached"] = u.cached;
             return d;
           })
      .def("wait_idle", &PythonPipeline::wait_idle, py::call_guard<py::gil_scoped_release>())
      .def("perplexity", &PythonPipeline::perplexity, py::arg("texts"), py::call_guard<py::gil_scoped_release>())
      .def("session_len", &PythonPipeline::session_len)
      .def("device_name", &PythonPipeline::device_name)
      .def_property_readonly("bos_token_id", [](const PythonPipeline& p) { return p.tokenizer().bos_id; })
      .def_property_readonly("eos_token_id", [](const PythonPipeline& p) { return p.tokenizer().eos_id; })
      .def_property_readonly("vocab_size", [](const PythonPipeline& p) { return p.tokenizer().vocab_size(); })
      .def("close",
           [](PythonPipeline& p) {
             py::gil_scoped_release release;
             p.close();
           })
      .def("closed", &PythonPipeline::closed);
}
