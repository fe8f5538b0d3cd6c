// Checks of flag values (numbers, device names), attached with CLI11's ->check(). Each reads the text as given,
// before CLI11 converts it, so nan, inf, negative seeds and out-of-range integers are refused at
// parse time. CLI11 prefixes the flag, so a message reads "--top-p: must be in [0, 1], got '1.5'".
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>

namespace turbine::cli {

// A finite real number in [lo, hi] ("--top-p: must be in [0, 1], got '1.5'").
CLI::Validator real_in(double lo, double hi);
// A finite real number >= lo ("--temperature: must be a number >= 0, got 'nan'").
CLI::Validator real_at_least(double lo);
// A finite real number > 0.
CLI::Validator real_positive();
// A whole number in [lo, hi]; the message names the real limits (an int flag says 2147483647).
CLI::Validator int_in(int64_t lo, int64_t hi);
// A whole number from lo up to the largest int.
CLI::Validator int_at_least(int64_t lo);
// A seed: a whole number from 0 to 2^64-1 (no sign, no wrap-around).
CLI::Validator seed_value();
// A device name: cpu, cuda or cuda:N ("--device: must be cpu, cuda or cuda:N, got 'gpu'").
CLI::Validator device_name();

}  // namespace turbine::cli
