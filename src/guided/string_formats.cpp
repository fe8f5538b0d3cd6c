#include "guided/string_formats.h"

#include <array>
#include <utility>

namespace turbine {
namespace {

// A date: each month's days, February's 29th in the Gregorian leap years (divisible by 4, the centuries
// by 400).
#define TURBINE_LEAP_YEAR R"((\d\d(0[48]|[2468][048]|[13579][26])|([02468][048]|[13579][26])00))"
#define TURBINE_DATE                                                                                        \
  "("                                                                                                       \
  R"(\d{4}-((0[13578]|1[02])-(0[1-9]|[12]\d|3[01])|(0[469]|11)-(0[1-9]|[12]\d|30)|02-(0[1-9]|1\d|2[0-8])))" \
  "|" TURBINE_LEAP_YEAR "-02-29)"
#define TURBINE_TIME R"(([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d))"
#define TURBINE_DURATION_TIME R"(T(\d+H(\d+M(\d+S)?)?|\d+M(\d+S)?|\d+S))"
#define TURBINE_LABEL R"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
#define TURBINE_BYTE R"((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))"
#define TURBINE_IPV4 TURBINE_BYTE R"((\.)" TURBINE_BYTE R"(){3})"
#define TURBINE_H16 R"([0-9A-Fa-f]{1,4})"
#define TURBINE_LS32 "(" TURBINE_H16 ":" TURBINE_H16 "|" TURBINE_IPV4 ")"

constexpr std::array<std::pair<std::string_view, std::string_view>, 10> kFormats = {{
    {"date-time", "^" TURBINE_DATE "[Tt]" TURBINE_TIME "$"},
    {"date", "^" TURBINE_DATE "$"},
    {"time", "^" TURBINE_TIME "$"},
    {"duration",
     R"(^P((\d+D|\d+M(\d+D)?|\d+Y(\d+M(\d+D)?)?)()" TURBINE_DURATION_TIME R"()?|)" TURBINE_DURATION_TIME R"(|\d+W)$)"},
    {"email", R"(^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@)"
              R"(([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$)"},
    {"hostname", "^" TURBINE_LABEL R"((\.)" TURBINE_LABEL ")*$"},
    {"ipv4", "^" TURBINE_IPV4 "$"},
    // RFC 3986's IPv6address, alternative by alternative.
    {"ipv6",
     "^("
     "(" TURBINE_H16 ":){6}" TURBINE_LS32 "|"
     "::(" TURBINE_H16 ":){5}" TURBINE_LS32 "|"
     "(" TURBINE_H16 ")?::(" TURBINE_H16 ":){4}" TURBINE_LS32 "|"
     "((" TURBINE_H16 ":){0,1}" TURBINE_H16 ")?::(" TURBINE_H16 ":){3}" TURBINE_LS32 "|"
     "((" TURBINE_H16 ":){0,2}" TURBINE_H16 ")?::(" TURBINE_H16 ":){2}" TURBINE_LS32 "|"
     "((" TURBINE_H16 ":){0,3}" TURBINE_H16 ")?::" TURBINE_H16 ":" TURBINE_LS32 "|"
     "((" TURBINE_H16 ":){0,4}" TURBINE_H16 ")?::" TURBINE_LS32 "|"
     "((" TURBINE_H16 ":){0,5}" TURBINE_H16 ")?::" TURBINE_H16 "|"
     "((" TURBINE_H16 ":){0,6}" TURBINE_H16 ")?::"
     ")$"},
    {"uuid", R"(^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$)"},
    {"uri", R"(^[A-Za-z][A-Za-z0-9+.-]*:([A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$)"},
}};

#undef TURBINE_DATE
#undef TURBINE_LEAP_YEAR
#undef TURBINE_TIME
#undef TURBINE_DURATION_TIME
#undef TURBINE_LABEL
#undef TURBINE_BYTE
#undef TURBINE_IPV4
#undef TURBINE_H16
#undef TURBINE_LS32

}  // namespace

std::string_view format_pattern(std::string_view format) {
  for (const auto& [name, pattern] : kFormats)
    if (name == format) return pattern;
  return {};
}

std::string_view supported_formats() {
  return "date-time, date, time, duration, email, hostname, ipv4, ipv6, uuid, uri";
}

}  // namespace turbine
