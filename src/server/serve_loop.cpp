#include "server/serve_loop.h"

#include <signal.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "core/error.h"
#include "server/http_server.h"
#include "server/router.h"

namespace turbine::server {

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

namespace {

// Waits until in-flight requests are done or `seconds` passed; true when none is left.
bool wait_in_flight(const ServingContext& context, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (context.tracker.in_flight() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace

void serve(const ServerOptions& options, const std::function<const ServedModel*()>& load) {
  // The signals are taken by sigwait on this thread: block them before any io thread starts, so
  // the threads inherit the mask and none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  ServingContext context(options);
  Router router(context);
  HttpServer http(options, [&router](const HttpRequest& request, std::shared_ptr<ResponseSink> sink) {
    router.handle(request, std::move(sink));
  });
  http.start();
  std::fprintf(stderr, "turbine serve: listening on http://%s:%d\n", options.host.c_str(), http.port());
  const ServedModel* model = load();
  context.set_model(model);
  std::fprintf(stderr, "turbine serve: serving '%s'\n", model->name.c_str());
  std::fflush(stderr);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "turbine serve: %s received, draining (up to %g s)\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT", options.drain_timeout_seconds);
  context.set_draining();
  http.set_closing();
  http.stop_accepting();
  if (!wait_in_flight(context, options.drain_timeout_seconds)) {
    context.tracker.cancel_all();
    wait_in_flight(context, 10.0);
  }
  // The last events of finished requests are written by the io threads; give them a moment.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  http.stop();
  model->engine->wait_idle();
  std::fprintf(stderr, "turbine serve: stopped\n");
}

}  // namespace turbine::server
