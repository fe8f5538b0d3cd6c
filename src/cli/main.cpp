// `turbine`: the command-line entry point. Subcommands register themselves (commands.h);
// every user error ends as one `error: ...` line on stderr and a non-zero exit.
#include <cstdio>
#include <exception>
#include <new>

#include "cli/commands.h"
#include "cli/output.h"
#include "core/error.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"turbine: run large language models from Hugging Face folders"};
  app.require_subcommand(1);
  app.fallthrough();  // app-wide options such as --log-level may also follow the subcommand
  app.set_version_flag("--version", "turbine 0.1.0");
  // Set before the subcommand runs (CLI11 runs option callbacks during parsing, in order).
  app.add_option_function<std::string>(
         "--log-level",
         [](const std::string& name) {
           if (auto level = turbine::parse_log_level(name)) return turbine::set_log_level(*level);
           throw CLI::ValidationError("--log-level", "must be error, warning, info or debug, got '" + name + "'");
         },
         "messages on stderr: error, warning (default), info or debug")
      ->trigger_on_parse();
  turbine::cli::register_generate(app);
  turbine::cli::register_tokenize(app);
  turbine::cli::register_detokenize(app);
  turbine::cli::register_perplexity(app);
  turbine::cli::register_template(app);
  turbine::cli::register_chat(app);
  turbine::cli::register_serve(app);
  turbine::cli::register_client(app);
  turbine::cli::register_quantize(app);
  turbine::cli::register_convert(app);
  auto* bench = app.add_subcommand("bench", "Benchmarks: generation and throughput");
  bench->require_subcommand(1);
  turbine::cli::register_bench_generate(*bench);
  turbine::cli::register_bench_throughput(*bench);
  turbine::cli::register_bench_serve(*bench);
  try {
    app.parse(argc, argv);
    // Output printed with printf (bench tables) is checked here; the rest is checked as written.
    turbine::cli::finish_stdout();
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: out of memory (lower --cache-max-entry-count, --max-batch-size or --session-len)\n");
    return 1;
  } catch (const turbine::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
